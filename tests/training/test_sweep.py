"""Sweeps: grid validation, idempotent run directories, SIGKILL and restart, the submitit
executor (local cluster), the results table and the report."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cordsneuro.training.sweep import (
    PRESETS,
    Sweep,
    collect,
    load_sweep,
    pending_runs,
    run_one,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[2]


def small(**changes):
    definition = {
        "name": "small",
        "grid": {"architecture": ["full", "conv"], "task": ["PDM"], "size": [125], "seed": [0, 1]},
        "max_steps": 4,
        "eval_trials": 64,
        "trajectory_trials": 6,
    }
    definition.update(changes)
    return definition


def one_network(architecture, **changes):
    """One network on PDM and its untrained twin, a few steps."""
    grid = {"architecture": [architecture], "task": ["PDM"], "size": [125], "seed": [0]}
    return small(grid=grid, max_steps=5, trajectory_trials=4, **changes)


def finished(out: Path) -> dict[str, str]:
    """run id → run_uuid of every finished run directory."""
    runs = {}
    for config in (out / "runs").glob("*/*/config.json"):
        assert not config.parent.name.startswith(".")
        cfg = json.loads(config.read_text())
        runs[cfg["run_id"]] = cfg["run_uuid"]
    return runs


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    previous = torch.get_num_threads()
    out = tmp_path_factory.mktemp("sweep")
    table = run_sweep(small(), out, workers=1, progress=False)
    torch.set_num_threads(previous)
    return out, table


# ----------------------------------------------------------------------------- definition


def test_grid_expands_with_untrained_twins_and_recipes():
    sweep = load_sweep(small())
    runs = sweep.runs()
    assert len(runs) == 2 * 2 * 2  # architectures × seeds × (trained, untrained)
    assert {r.trained for r in runs} == {True, False}
    assert {(r.activation, r.lr) for r in runs} == {("tanh", 3e-3)}  # RECIPES["PDM"]
    dms = load_sweep(small(grid={**small()["grid"], "task": ["DMS"], "architecture": ["lowrank"]}))
    assert {r.lr for r in dms.runs()} == {1e-3}  # the recipe's low-rank override
    laptop = load_sweep("laptop").runs()
    assert len(laptop) == 4 * 5 * 3 * 2 and {r.size for r in laptop} == {125}
    assert len(load_sweep("paper").runs()) == 4 * 5 * 3 * 3 * 3 * 10 * 2  # Appendix B.3, eq. 4


def test_yaml_file_and_digest(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small()))
    assert load_sweep(path).digest == Sweep.from_dict(small()).digest
    assert load_sweep(small(name="other")).digest == load_sweep(small()).digest  # name only
    assert load_sweep(small(max_steps=11)).digest != load_sweep(small()).digest


@pytest.mark.parametrize(
    "change, message",
    [
        ({"epochs": 3}, "unknown key"),
        ({"grid": {**small()["grid"], "architecture": ["full", "gru"]}}, "unknown architecture"),
        ({"grid": {**small()["grid"], "task": ["PDMX"]}}, "unknown task"),
        ({"grid": {**small()["grid"], "activation": ["gelu"]}}, "unknown activation"),
        ({"grid": {**small()["grid"], "seed": []}}, "non-empty"),
        ({"grid": {**small()["grid"], "size": [100]}}, "Table S1"),
        ({"grid": {**small()["grid"], "lr": [0.0]}}, "learning rate"),
        ({"grid": {**small()["grid"], "depth": [2]}}, "unknown grid axis"),
        ({"grid": {"task": ["PDM"], "size": [125], "seed": [0]}}, "architecture"),
        ({"grid": {}}, "architecture"),
        ({"max_steps": 0}, "max_steps"),
    ],
)
def test_bad_definitions_are_refused_before_any_run(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        run_sweep(small(**change), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_unknown_preset_or_missing_file():
    with pytest.raises(ValueError, match="neither a preset"):
        load_sweep("laptopp")


def test_directory_of_another_definition_is_refused(swept):
    out, _ = swept
    before = finished(out)
    with pytest.raises(ValueError, match="another sweep definition"):
        run_sweep(small(max_steps=5), out, workers=1, progress=False)
    assert finished(out) == before


# ----------------------------------------------------------------------------- runs


def test_runs_are_complete_and_recorded(swept):
    out, table = swept
    assert len(table) == 8 and table["run_id"].is_unique
    assert set(table["trained"]) == {True, False}
    assert (table[~table.trained]["steps"] == 0).all()
    assert (table[table.trained]["steps"] > 0).all()
    assert (out / "results.csv").is_file() and not pending_runs(small(), out)
    assert not list(out.glob("runs/*/.*"))  # no temporary debris


def test_stored_trajectories_are_the_models_own(swept):
    """The stored rates are those of the saved model re-simulated on the task's fixed batch,
    the same trials for every network; an untrained twin has its initial weights."""
    from cordsneuro import load
    from cordsneuro.tasks import make_batch
    from cordsneuro.training import paper_model
    from cordsneuro.training.sweep_report import load_trajectories

    out, _ = swept
    run = out / "runs/PDM/conv_n125_tanh_lr0.003_s1_trained"
    data = load_trajectories(run)
    batch = make_batch("PDM", 6, seed=2024)
    model = load(run / "model")
    with torch.no_grad():
        rates = model(batch.inputs).rates.reshape(6, -1, 125)
    np.testing.assert_allclose(data["rates"], rates.numpy(), atol=1e-6)
    np.testing.assert_array_equal(data["inputs"], batch.inputs.numpy())
    twin = load(out / "runs/PDM/conv_n125_tanh_lr0.003_s1_untrained/model")
    fresh = paper_model("PDM", "conv", 125, seed=1, activation="tanh")
    for name, value in fresh.state_dict().items():
        assert torch.equal(twin.state_dict()[name], value), name
        if name == "kernel":
            assert not torch.equal(model.state_dict()[name], value)  # training moved it


def test_finished_run_is_not_redone(swept):
    out, _ = swept
    spec = load_sweep(small()).runs()[0]
    before = finished(out)[spec.run_id]
    row = run_one(spec, out)
    assert row["status"] == "skipped" and row["run_uuid"] == before


def test_batched_runs_end_as_the_same_runs_trained_alone(swept, tmp_path):
    """``batch=2``: the two seeds of each architecture train as one model (train_many); every
    run ends with the steps, metrics and weights of the sweep that trained each alone. Weights
    to 5e-3 of each tensor's largest entry: batched products round differently, and AdamW
    turns a rounding difference in a near-zero gradient into a step of up to ``lr``
    (measured: at most 1.05e-3, one bias entry, 1.0e-5 absolute, after 4 steps)."""
    from cordsneuro import load

    alone_out, alone = swept
    table = run_sweep(small(), tmp_path / "out", workers=1, progress=False, batch=2)
    assert sorted(table["run_id"]) == sorted(alone["run_id"])
    for run_id in table["run_id"]:
        ours = table.set_index("run_id").loc[run_id]
        theirs = alone.set_index("run_id").loc[run_id]
        assert ours["steps"] == theirs["steps"], run_id
        assert ours["metric_accuracy"] == pytest.approx(theirs["metric_accuracy"], abs=1e-9)
        a = load(tmp_path / "out" / "runs" / run_id / "model").state_dict()
        b = load(alone_out / "runs" / run_id / "model").state_dict()
        for name in a:
            assert (a[name] - b[name]).abs().max() <= 5e-3 * b[name].abs().max(), (run_id, name)


def test_a_group_of_runs_of_different_shapes_is_refused(tmp_path):
    from cordsneuro.training.sweep import run_group

    trained = [s for s in load_sweep(small()).runs() if s.trained]
    assert {s.architecture for s in trained} == {"full", "conv"}
    with pytest.raises(ValueError, match="one task, architecture"):
        run_group(trained, tmp_path)


# ----------------------------------------------------------------------------- SIGKILL


@pytest.mark.slow  # starts fresh Python processes (torch import each)
def test_sigkill_midway_then_restart_runs_each_missing_run_once(tmp_path):
    definition = small(
        grid={"architecture": ["full", "lowrank", "sparse", "conv"], "task": ["PDM"],
              "size": [125], "seed": [0, 1]},
        max_steps=5, trajectory_trials=4,
    )  # fmt: skip
    out = tmp_path / "out"
    script = textwrap.dedent(
        f"""
        import torch
        torch.set_num_threads(1)
        from cordsneuro.training.sweep import run_sweep
        run_sweep({definition!r}, {str(out)!r}, workers=1, progress=False)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 120
    while len(finished(out)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02) if (out / "runs").exists() else time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = finished(out)
    total = len(load_sweep(definition).runs())
    assert 2 <= len(before) < total, "the kill did not land mid-way"
    table = run_sweep(definition, out, workers=1, progress=False)
    after = finished(out)
    assert len(after) == total and len(table) == total and table["run_id"].is_unique
    assert {k: after[k] for k in before} == before  # none of the finished runs was redone
    assert not list(out.glob("runs/*/.*"))
    assert not pending_runs(definition, out)


# ----------------------------------------------------------------------------- executors


@pytest.mark.slow  # starts fresh Python processes (torch import each)
def test_slurm_executor_with_submitit_local_cluster(tmp_path):
    definition = one_network("sparse")
    out = tmp_path / "out"
    table = run_sweep(
        definition, out, executor="slurm", cluster="local", progress=False,
        slurm={"timeout_min": 5},
    )  # fmt: skip
    assert len(table) == 2 and set(table["trained"]) == {True, False}
    logs = list((out / "slurm").rglob("*_log.out"))
    assert len(logs) == 2  # one array task per run, logs kept
    assert collect(out, write=False)["run_uuid"].tolist() == table["run_uuid"].tolist()


@pytest.mark.slow  # starts fresh Python processes (torch import each)
def test_local_pool_of_two_workers(tmp_path):
    table = run_sweep(one_network("lowrank"), tmp_path / "out", workers=2, progress=False)
    assert len(table) == 2


# ----------------------------------------------------------------------------- report


def test_report_table_matches_independent_distances(swept, tmp_path):
    from cordsneuro.analyses.similarity import LinearMetric
    from cordsneuro.training.sweep_report import load_trajectories, report_sweep

    out, _ = swept
    report = report_sweep(
        out, directory=tmp_path, psychometric_trials=100, only_solved=False, progress=False
    )

    def activity(name):
        data = load_trajectories(out / "runs/PDM" / name)
        return np.concatenate([r[:n] for r, n in zip(data["rates"], data["length"])])

    conv = [activity(f"conv_n125_tanh_lr0.003_s{s}_trained") for s in (0, 1)]
    full = [activity(f"full_n125_tanh_lr0.003_s{s}_trained") for s in (0, 1)]
    metric = LinearMetric(alpha=1.0)
    per_network = [np.mean([metric.fit_score(c, f) for f in full]) for c in conv]
    row = report.table[report.table.architecture == "conv"].iloc[0]
    assert row["mean"] == pytest.approx(np.mean(per_network), abs=1e-9)
    assert row["std"] == pytest.approx(np.std(per_network, ddof=1), abs=1e-9)
    full_row = report.table[report.table.architecture == "full"].iloc[0]
    assert full_row["mean"] == pytest.approx(metric.fit_score(*full), abs=1e-9)
    names = {p.name for p in report.figures}
    assert {"fig_s2a_psychometric.png", "fig_s2b_singular_values.png"} <= names
    assert "fig_s2c_mds_PDM_recipe_n125.png" in names
    assert (tmp_path / "table_s2.md").read_text().startswith("Table S2")
    D = np.loadtxt(tmp_path / "distances_PDM_recipe_n125.csv", delimiter=",",
                   skiprows=1, usecols=range(1, 9))  # fmt: skip
    assert D.shape == (8, 8) and np.allclose(D, D.T) and np.all(np.diag(D) == 0)


def test_report_refuses_runs_on_different_trials(tmp_path):
    out = tmp_path / "out"
    definition = small(
        grid={"architecture": ["full", "conv"], "task": ["PDM"], "size": [125], "seed": [0]},
        max_steps=3, trajectory_trials=4, untrained=False,
    )  # fmt: skip
    run_sweep(definition, out, workers=1, progress=False)
    from dataclasses import replace

    spec = replace(load_sweep(definition).runs()[0], seed=5, trajectory_seed=7)
    run_one(spec, out)
    from cordsneuro.training.sweep_report import report_sweep

    with pytest.raises(ValueError, match="different trials"):
        report_sweep(out, progress=False)


def test_presets_are_valid():
    for name in PRESETS:
        assert load_sweep(name).name == name


def test_cli_reports_bad_input_clearly(tmp_path, capsys):
    from cordsneuro.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngrid: {architecture: [gru], task: [PDM], size: [125], seed: [0]}\n")
    assert main(["sweep", "run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unknown architecture 'gru'" in capsys.readouterr().err
    assert main(["sweep", "report", str(tmp_path)]) == 2
    assert "no finished runs" in capsys.readouterr().err
