"""Task-comparison sweeps (paper Section 2.1, Appendix B.3): a grid of networks trained on the
cognitive tasks, every run an idempotent directory, on a local process pool or on SLURM.

A sweep is a grid over architecture × task × activation × learning rate × size × seed (the
paper's grid is the preset ``"paper"``); each network is trained with :func:`cordsneuro.train`
(the settings of :data:`cordsneuro.training.RECIPES` as defaults) and each has an *untrained
twin*: the same network at its initialisation (eq. 4 of Appendix B.3: 2 trained/untrained × 4
architectures × 10 initialisations per task and setting).

Layout of a sweep directory::

    sweep.json                        the definition and its digest (a directory belongs to one
                                      sweep definition)
    runs/<task>/<run name>/           one finished run (renamed into place only when complete)
        config.json                   the run: grid values, resolved settings, sweep digest
        metrics.json                  held-out metrics, steps, seconds, learning curve
        model/                        the network (``DynamicalRNN.save``; ``cordsneuro.load``)
        trajectories.safetensors      rates (trials, time, N), outputs, inputs, trial lengths
                                      and conditions on the task's fixed evaluation batch
    partial/<task>/<run name>/        training checkpoints of an unfinished run (resumed)
    results.csv (results.parquet)     one row per run (:func:`collect`)
    slurm/                            submitit's scripts and logs (SLURM executor)

A run directory is written under a temporary name and renamed when complete, so a sweep killed
at any moment (SIGKILL included) leaves only finished runs and debris that is never read;
started again, it runs only what is missing (a killed training resumes from its last
checkpoint).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cordsneuro._atomic import atomic_path

__all__ = [
    "Sweep",
    "RunSpec",
    "PRESETS",
    "load_sweep",
    "run_one",
    "run_sweep",
    "pending_runs",
    "collect",
]

#: The architectures of Appendix B.3 (Table S1 networks).
ARCHITECTURES = ("full", "lowrank", "sparse", "conv")
#: The activation functions swept in Appendix B.3.
ACTIVATIONS = ("relu", "tanh", "softplus")
#: The five comparison tasks of Section 2.1 / Appendix B.3.
COMPARISON_TASKS = ("PDM", "PWM", "MDM", "CDM", "DMS")
#: Grid axes, in the order of a run's name.
AXES = ("architecture", "task", "activation", "lr", "size", "seed")
#: ``"recipe"`` for activation or learning rate: the value of RECIPES for the task/architecture.
RECIPE = "recipe"

_KEYS = {
    "name",
    "grid",
    "untrained",
    "max_steps",
    "eval_trials",
    "trajectory_trials",
    "trajectory_seed",
}


# ----------------------------------------------------------------------------- definition


@dataclass(frozen=True)
class RunSpec:
    """One network of a sweep (all values resolved: no ``"recipe"`` left).

    Attributes
    ----------
    task, architecture, activation : str
    lr : float
        AdamW learning rate (unused by an untrained twin, kept to pair it with its network).
    size : int
        Number of neurons N (Table S1: 125, 216 or 512).
    seed : int
        Seeds the weights, the training trials and the model's noise.
    trained : bool
        False for the untrained twin (the same network at its initialisation).
    max_steps : int
        Step budget; training stops earlier at the task's criterion.
    eval_trials : int
        Held-out trials of the training criterion and of the final metrics.
    setting : str
        The grid's hyper-parameter setting (activation, learning rate, size as written in the
        grid, ``"recipe"`` included): networks are compared within a setting.
    trajectory_trials, trajectory_seed : int
        The fixed evaluation batch whose trajectories are stored (the same for every network
        of a task).
    sweep : str
        Digest of the sweep definition the run belongs to.
    """

    task: str
    architecture: str
    activation: str
    lr: float
    size: int
    seed: int
    trained: bool
    max_steps: int
    trajectory_trials: int
    trajectory_seed: int
    eval_trials: int = 512
    setting: str = ""
    sweep: str = ""

    @property
    def name(self) -> str:
        """Directory name: ``conv_n125_tanh_lr0.003_s0_trained``."""
        state = "trained" if self.trained else "untrained"
        return (
            f"{self.architecture}_n{self.size}_{self.activation}_lr{self.lr:g}_s{self.seed}_{state}"
        )

    @property
    def run_id(self) -> str:
        """``<task>/<name>``: the run's path below ``runs/``."""
        return f"{self.task}/{self.name}"


@dataclass(frozen=True)
class Sweep:
    """A grid of runs (paper Appendix B.3).

    Parameters
    ----------
    name : str
    grid : dict
        ``{"architecture": [...], "task": [...], "activation": [...], "lr": [...],
        "size": [...], "seed": [...]}``; every axis a non-empty list. ``activation`` and
        ``lr`` may hold ``"recipe"`` (the value of :data:`~cordsneuro.training.RECIPES` for the
        task and architecture; the default when the axis is left out). Sizes are Table S1's
        (125, 216, 512).
    untrained : bool
        Add the untrained twin of every network (default True, as in the paper).
    max_steps : int, optional
        Training step budget (default: the recipe's); training stops at the task's criterion.
    eval_trials : int
        Held-out trials scored for the stopping criterion and the final metrics (default 512).
    trajectory_trials, trajectory_seed : int
        Size and seed of each task's fixed evaluation batch whose trajectories are stored.
    """

    name: str
    grid: dict[str, tuple]
    untrained: bool = True
    max_steps: int | None = None
    eval_trials: int = 512
    trajectory_trials: int = 32
    trajectory_seed: int = 2024
    _runs: tuple = field(default=(), repr=False, compare=False)

    @classmethod
    def from_dict(cls, definition: Mapping[str, Any]) -> Sweep:
        """Build and validate a sweep from a dict (the YAML file's content)."""
        if not isinstance(definition, Mapping):
            raise TypeError(f"a sweep definition is a mapping, got {type(definition).__name__}")
        unknown = set(definition) - _KEYS
        if unknown:
            raise ValueError(
                f"unknown key(s) {sorted(unknown)} in the sweep definition; allowed keys are "
                f"{sorted(_KEYS)}"
            )
        if "grid" not in definition:
            raise ValueError("the sweep definition needs a 'grid' (a mapping axis → list)")
        grid = definition["grid"]
        if not isinstance(grid, Mapping):
            raise ValueError(f"'grid' must be a mapping axis → list, got {type(grid).__name__}")
        unknown = set(grid) - set(AXES)
        if unknown:
            raise ValueError(f"unknown grid axis {sorted(unknown)}; the axes are {list(AXES)}")
        for axis in ("architecture", "task", "size", "seed"):
            if axis not in grid:
                raise ValueError(f"the grid needs the axis {axis!r} (a non-empty list)")
        values = {axis: _axis(axis, grid.get(axis, [RECIPE])) for axis in AXES}
        sweep = cls(
            name=str(definition.get("name", "sweep")),
            grid=values,
            untrained=_bool("untrained", definition.get("untrained", True)),
            max_steps=_optional_int("max_steps", definition.get("max_steps"), 1),
            eval_trials=_int("eval_trials", definition.get("eval_trials", 512), 1),
            trajectory_trials=_int("trajectory_trials", definition.get("trajectory_trials", 32), 1),
            trajectory_seed=_int("trajectory_seed", definition.get("trajectory_seed", 2024), 0),
        )
        return sweep

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain data (what ``sweep.json`` and a YAML file hold)."""
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        out["grid"] = {axis: list(self.grid[axis]) for axis in AXES}
        return out

    @property
    def digest(self) -> str:
        """SHA-256 (first 16 hex digits) of the definition, its name excluded."""
        data = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def runs(self) -> list[RunSpec]:
        """Every run of the grid (trained networks, then their untrained twins), values
        resolved from the recipes."""
        from cordsneuro.training.recipes import recipe

        specs = []
        digest = self.digest
        # seeds outermost: a sweep stopped early holds whole seeds of every architecture
        order = ("seed", "size", "lr", "activation", "task", "architecture")
        for values in itertools.product(*(self.grid[a] for a in order)):
            v = dict(zip(order, values))
            settings = recipe(v["task"], v["architecture"])
            act = settings["model"]["activation"] if v["activation"] == RECIPE else v["activation"]
            for trained in (True, False) if self.untrained else (True,):
                specs.append(
                    RunSpec(
                        task=v["task"],
                        architecture=v["architecture"],
                        activation=act,
                        lr=float(settings["lr"] if v["lr"] == RECIPE else v["lr"]),
                        size=int(v["size"]),
                        seed=int(v["seed"]),
                        trained=trained,
                        max_steps=int(self.max_steps or settings["steps"]),
                        trajectory_trials=self.trajectory_trials,
                        trajectory_seed=self.trajectory_seed,
                        eval_trials=self.eval_trials,
                        setting=_setting(v["activation"], v["lr"], v["size"]),
                        sweep=digest,
                    )
                )
        names = [s.run_id for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(
                "the grid holds the same run twice (e.g. 'recipe' and the recipe's own value "
                "on one axis); remove the duplicate value"
            )
        return specs


def _setting(activation: str, lr: str | float, size: int) -> str:
    """``recipe_n125``, ``relu_lr0.01_n216``, ``tanh_lrrecipe_n125``..."""
    if activation == RECIPE and lr == RECIPE:
        return f"{RECIPE}_n{size}"
    return f"{activation}_lr{lr if lr == RECIPE else format(lr, 'g')}_n{size}"


def _axis(axis: str, values: Any) -> tuple:
    from cordsneuro.models.recurrent import TABLE_S1
    from cordsneuro.training.recipes import RECIPES

    if isinstance(values, (str, int, float)):
        values = [values]
    if not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"grid axis {axis!r} must be a non-empty list (got {values!r})")
    if len(set(map(str, values))) != len(values):
        raise ValueError(f"grid axis {axis!r} repeats a value: {list(values)}")
    out = []
    for v in values:
        if axis == "architecture" and v not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {v!r}; use one of {list(ARCHITECTURES)}")
        elif axis == "task" and v not in RECIPES:
            raise ValueError(f"unknown task {v!r}; sweeps train the tasks of {sorted(RECIPES)}")
        elif axis == "activation" and v not in (*ACTIVATIONS, RECIPE):
            raise ValueError(
                f"unknown activation {v!r}; use one of {[*ACTIVATIONS, RECIPE]} (Appendix B.3)"
            )
        elif axis == "lr" and v != RECIPE:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
                raise ValueError(f"learning rate {v!r} must be a number in (0, 1) or 'recipe'")
            v = float(v)
        elif axis == "size" and v not in TABLE_S1:
            raise ValueError(f"size {v!r} is not one of Table S1's sizes {sorted(TABLE_S1)}")
        elif axis == "seed":
            v = _int("seed", v, 0)
        if axis == "size":
            v = int(v)
        out.append(v)
    return tuple(out)


def _int(name: str, value: Any, minimum: int) -> int:
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} (got {value!r})")
    return int(value)


def _optional_int(name: str, value: Any, minimum: int) -> int | None:
    return None if value is None else _int(name, value, minimum)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false (got {value!r})")
    return value


#: Named sweeps. ``paper``: Appendix B.3's grid (4 architectures × 5 tasks × 3 activations ×
#: 3 learning rates × 3 sizes × 10 initialisations, trained and untrained); ``laptop``: 4
#: architectures × 5 tasks × 3 seeds at N = 125 with the recipes' activation and learning rate;
#: ``tiny``: two architectures on PDM, a few steps (a smoke test).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "name": "paper",
        "grid": {
            "architecture": list(ARCHITECTURES),
            "task": list(COMPARISON_TASKS),
            "activation": list(ACTIVATIONS),
            "lr": [1e-2, 1e-3, 1e-4],  # Appendix B.3
            "size": [125, 216, 512],  # Table S1
            "seed": list(range(10)),  # eq. 4: 10 random initialisations
        },
    },
    "laptop": {
        "name": "laptop",
        "grid": {
            "architecture": list(ARCHITECTURES),
            "task": list(COMPARISON_TASKS),
            "size": [125],
            "seed": [0, 1, 2],
        },
    },
    "tiny": {
        "name": "tiny",
        "grid": {"architecture": ["full", "conv"], "task": ["PDM"], "size": [125], "seed": [0]},
        "max_steps": 20,
        "trajectory_trials": 8,
    },
}


def load_sweep(sweep: str | os.PathLike | Mapping[str, Any] | Sweep) -> Sweep:
    """A :class:`Sweep` from a preset name (:data:`PRESETS`), a YAML file or a dict."""
    if isinstance(sweep, Sweep):
        return sweep
    if isinstance(sweep, Mapping):
        return Sweep.from_dict(sweep)
    if isinstance(sweep, str) and sweep in PRESETS:
        return Sweep.from_dict(PRESETS[sweep])
    path = Path(sweep)
    if not path.is_file():
        raise ValueError(
            f"sweep {str(sweep)!r} is neither a preset ({sorted(PRESETS)}) nor a YAML file"
        )
    import yaml

    return Sweep.from_dict(yaml.safe_load(path.read_text()))


# ----------------------------------------------------------------------------- one run


class _AlreadyDone(Exception):
    """Another process finished this run first; ours is discarded."""


def run_dir(out: str | os.PathLike, spec: RunSpec) -> Path:
    """The finished run's directory."""
    return Path(out) / "runs" / spec.task / spec.name


def is_done(out: str | os.PathLike, spec: RunSpec) -> bool:
    """Whether the run is finished (its directory exists: it is only renamed into place once
    complete)."""
    return (run_dir(out, spec) / "config.json").is_file()


def run_one(spec: RunSpec, out: str | os.PathLike, threads: int = 1) -> dict[str, Any]:
    """Train (or, for an untrained twin, only build) one network, record its trajectories on
    the task's fixed evaluation batch, and write its directory atomically.

    A finished run is not redone: its stored row is returned; a run killed while training
    resumes from its checkpoint. Returns the run's row (grid values, metrics, steps, seconds
    and ``"status"``: ``"ran"`` or ``"skipped"``).
    """
    if is_done(out, spec):
        return {**_row(run_dir(out, spec)), "status": "skipped"}
    import torch

    from cordsneuro.training.trainer import train

    torch.set_num_threads(int(threads))
    start = time.perf_counter()
    model, settings = _build(spec)
    record: dict[str, Any] = {"steps": 0, "reached": False, "stopped": "untrained", "history": {}}
    if spec.trained:
        result = train(
            model, spec.task, steps=spec.max_steps, until="criterion", lr=spec.lr,
            seed=spec.seed, eval_trials=spec.eval_trials, checkpoint_dir=_partial(out, spec),
            resume=True, progress=False, **_train_settings(settings),
        )  # fmt: skip
        record = _record(result)
    return _finish(spec, out, model, settings, record, time.perf_counter() - start)


def run_group(specs: Sequence[RunSpec], out: str | os.PathLike, threads: int = 1) -> list[dict]:
    """Train runs that share task, architecture, activation and size as one batched model
    (:func:`~cordsneuro.training.train_many`: each network as :func:`run_one` would train it
    alone, to floating-point rounding), then write each run's directory as :func:`run_one`.

    Finished runs are skipped; untrained twins, runs with a checkpoint left by a killed run
    (which resume alone) and a group of one go through :func:`run_one`. Returns the rows.
    """
    import torch

    from cordsneuro.training.many import train_many

    todo = [s for s in specs if not is_done(out, s)]
    alone = [s for s in todo if not s.trained or (_partial(out, s) / "checkpoint").is_dir()]
    together = [s for s in todo if s not in alone]
    if len({_shape_key(s) for s in together}) > 1:
        raise ValueError("run_group takes runs of one task, architecture, activation and size")
    rows = [{**_row(run_dir(out, s)), "status": "skipped"} for s in specs if is_done(out, s)]
    rows += [run_one(s, out, threads) for s in alone]
    if len(together) == 1:
        rows.append(run_one(together[0], out, threads))
    elif together:
        torch.set_num_threads(int(threads))
        start = time.perf_counter()
        built = [_build(s) for s in together]
        settings = built[0][1]
        results = train_many(
            [model for model, _ in built], together[0].task, steps=together[0].max_steps,
            until="criterion", lr=[s.lr for s in together], seed=[s.seed for s in together],
            eval_trials=together[0].eval_trials,
            checkpoint_dirs=[_partial(out, s) for s in together], progress=False,
            **_train_settings(settings),
        )  # fmt: skip
        seconds = (time.perf_counter() - start) / len(together)  # the group's time, shared
        for spec, (model, settings), result in zip(together, built, results):
            rows.append(_finish(spec, out, model, settings, _record(result), seconds))
    return rows


def _shape_key(spec: RunSpec) -> tuple:
    """Runs with the same key can train as one batched model."""
    return (spec.task, spec.architecture, spec.activation, spec.size, spec.max_steps)


def _partial(out: str | os.PathLike, spec: RunSpec) -> Path:
    return Path(out) / "partial" / spec.task / spec.name


def _build(spec: RunSpec):
    """The run's network (Table S1, recipe settings) and its recipe."""
    from cordsneuro.training.recipes import paper_model, recipe

    model = paper_model(
        spec.task, spec.architecture, spec.size, seed=spec.seed, activation=spec.activation
    )
    return model, recipe(spec.task, spec.architecture)


def _train_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe's training arguments besides those the grid sets."""
    skip = ("model", "lowrank_init", "curriculum", "lr", "steps")
    return {k: v for k, v in settings.items() if k not in skip}


def _record(result) -> dict[str, Any]:
    return {
        "steps": result.steps,
        "reached": result.reached,
        "stopped": result.stopped,
        "history": {"evaluations": result.history["evaluations"]},
    }


def _finish(spec, out, model, settings, record, seconds) -> dict[str, Any]:
    """Evaluate the network, record its trajectories and write the run directory atomically
    (the partial checkpoint goes once the run is in place)."""
    import torch
    from safetensors.torch import save_file

    from cordsneuro import __version__
    from cordsneuro.tasks import evaluate, make_batch

    start = time.perf_counter()
    final = run_dir(out, spec)
    model.eval()
    evaluation = evaluate(model, spec.task, n_trials=spec.eval_trials)
    batch = make_batch(spec.task, spec.trajectory_trials, seed=spec.trajectory_seed)
    with torch.no_grad():
        traj = model(batch.inputs)
    rates = model.flatten_state(traj.rates.flatten(0, 1)).reshape(len(batch), -1, model.n_neurons)
    tensors = {
        "rates": rates.float().contiguous(),
        "outputs": traj.outputs.float().contiguous(),
        "inputs": batch.inputs.float().contiguous(),
        "length": torch.tensor(batch.trial_info["length"], dtype=torch.int64),
    }
    for key, value in batch.trial_info.items():
        value = torch.as_tensor(value) if getattr(value, "dtype", None) is not None else None
        if value is not None and value.dtype != torch.bool and key != "length":
            tensors[f"info.{key}"] = value.clone()  # epochs share arrays: store copies
    seconds += time.perf_counter() - start
    metrics = {k: float(v) for k, v in evaluation.metrics.items()}
    try:
        with atomic_path(final) as tmp:
            tmp.mkdir()
            model.save(tmp / "model")
            save_file(tensors, str(tmp / "trajectories.safetensors"))
            config = {
                **asdict(spec),
                "run_id": spec.run_id,
                "run_uuid": uuid.uuid4().hex,
                "dt_ms": float(model.dt),
                "train_settings": {k: v for k, v in settings.items() if k != "model"},
                "model_settings": settings["model"],
                "library_version": __version__,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (tmp / "metrics.json").write_text(
                json.dumps({"metrics": metrics, "seconds": seconds, **record})
            )
            (tmp / "config.json").write_text(json.dumps(config, indent=1))  # written last
            if is_done(out, spec):  # another process finished it meanwhile: keep theirs
                raise _AlreadyDone
    except _AlreadyDone:
        return {**_row(final), "status": "skipped"}
    shutil.rmtree(_partial(out, spec), ignore_errors=True)
    return {**_row(final), "status": "ran"}


def _row(directory: Path) -> dict[str, Any]:
    config = json.loads((directory / "config.json").read_text())
    metrics = json.loads((directory / "metrics.json").read_text())
    row = {k: config[k] for k in ("task", "architecture", "activation", "lr", "size", "seed")}
    row.update(
        trained=config["trained"],
        run_id=config["run_id"],
        run_uuid=config["run_uuid"],
        steps=metrics["steps"],
        reached=metrics["reached"],
        seconds=metrics["seconds"],
        **{f"metric_{k}": v for k, v in metrics["metrics"].items()},
    )
    return row


# ----------------------------------------------------------------------------- sweeps


def _claim(out: Path, sweep: Sweep) -> None:
    """Write ``sweep.json`` on first use; refuse a directory made by another definition."""
    path = out / "sweep.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("digest") != sweep.digest:
            raise ValueError(
                f"{out} holds the results of another sweep definition (digest "
                f"{stored.get('digest')}, name {stored.get('definition', {}).get('name')!r}); "
                f"this one has digest {sweep.digest}. Use another output directory (nothing in "
                f"{out} was changed)"
            )
        return
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps({"digest": sweep.digest, "definition": sweep.to_dict()}, indent=1)
        )


def _remove_debris(out: Path) -> None:
    """Delete temporary directories left by killed runs (never read as runs)."""
    for parent in (out / "runs").glob("*"):
        for tmp in parent.glob(".*.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)


def pending_runs(sweep: Sweep | str | Mapping, out: str | os.PathLike) -> list[RunSpec]:
    """The runs of ``sweep`` not yet finished in ``out``."""
    sweep = load_sweep(sweep)
    return [s for s in sweep.runs() if not is_done(out, s)]


def run_sweep(
    sweep: Sweep | str | os.PathLike | Mapping[str, Any],
    out: str | os.PathLike,
    *,
    executor: str = "local",
    workers: int | None = None,
    threads: int = 1,
    slurm: Mapping[str, Any] | None = None,
    cluster: str | None = None,
    max_array: int = 1000,
    wait: bool = True,
    progress: bool = True,
    batch: int = 1,
):
    """Run every missing run of ``sweep`` into ``out`` and return the results table.

    Parameters
    ----------
    sweep : Sweep, preset name, YAML path or dict
    out : path
        The sweep directory (created; a directory of another definition is refused).
    executor : {"local", "slurm"}
        ``"local"``: a process pool of ``workers`` processes (default: every core; 1 runs in
        this process). ``"slurm"``: one submitit job array, one run per array task, scripts and
        logs under ``out/slurm``.
    threads : int
        torch threads per run (1 is fastest for the paper's 125–512-neuron networks).
    slurm : dict, optional
        ``executor.update_parameters`` arguments for submitit (``slurm_partition``,
        ``timeout_min``, ``cpus_per_task``, ``slurm_array_parallelism``, ``gpus_per_node``...).
    cluster : str, optional
        submitit's ``cluster``: None picks SLURM when it is there, ``"local"`` runs the jobs as
        local processes (for testing), ``"debug"`` in this process.
    max_array : int
        SLURM: at most this many runs per job array (clusters cap array sizes; default 1000).
    wait : bool
        SLURM: wait for the array and collect (default); False returns the submitit jobs.
    progress : bool
        Show a tqdm bar over runs.
    batch : int
        Train up to this many runs that share task, architecture, activation and size (they
        differ in seed or learning rate) as one batched model (:func:`run_group`, through
        :func:`~cordsneuro.training.train_many`); each run ends as it would alone, up to
        floating-point rounding. 1 (default) trains every run alone.

    Returns
    -------
    pandas.DataFrame
        :func:`collect` of ``out`` (one row per finished run), or the list of submitit jobs when
        ``executor="slurm"`` and ``wait=False``.
    """
    from tqdm.auto import tqdm

    sweep = load_sweep(sweep)
    if executor not in ("local", "slurm"):
        raise ValueError(f"executor must be 'local' or 'slurm' (got {executor!r})")
    threads = _int("threads", threads, 1)
    max_array = _int("max_array", max_array, 1)
    batch = _int("batch", batch, 1)
    out = Path(out)
    runs = sweep.runs()
    out.mkdir(parents=True, exist_ok=True)
    _claim(out, sweep)
    _remove_debris(out)
    todo = [s for s in runs if not is_done(out, s)]
    if progress:
        print(f"sweep {sweep.name!r}: {len(runs)} runs, {len(runs) - len(todo)} already done")
    groups = _groups(todo, batch)
    bar = tqdm(total=len(todo), desc=f"sweep {sweep.name}", disable=not progress)
    if executor == "local":
        workers = (os.cpu_count() or 1) if workers is None else _int("workers", workers, 1)
        if workers == 1 or len(groups) <= 1:
            for group in groups:
                run_group(group, out, threads)
                bar.update(len(group))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = {pool.submit(run_group, g, out, threads): len(g) for g in groups}
                for future in as_completed(futures):
                    future.result()
                    bar.update(futures[future])
    else:
        import submitit

        ex = submitit.AutoExecutor(folder=out / "slurm" / "%j", cluster=cluster)
        params = {"timeout_min": 60, "cpus_per_task": threads, "name": f"sweep-{sweep.name}"}
        params.update(slurm or {})
        ex.update_parameters(**params)
        jobs = []
        for first in range(0, len(groups), max_array):  # clusters cap array sizes (MaxArraySize)
            part = groups[first : first + max_array]
            jobs += ex.map_array(run_group, part, [str(out)] * len(part), [threads] * len(part))
            if progress:
                print(f"submitted {len(part)} jobs as job array {jobs[-1].job_id.split('_')[0]}")
        if not wait:
            bar.close()
            return jobs
        for job in submitit.helpers.as_completed(jobs):
            bar.update(len(job.result()))
    bar.close()
    return collect(out)


def _groups(specs: list[RunSpec], batch: int) -> list[list[RunSpec]]:
    """Runs in groups of at most ``batch`` that can train as one (:func:`_shape_key`);
    untrained twins each alone."""
    by_key: dict[tuple, list[RunSpec]] = {}
    groups = []
    for spec in specs:
        if spec.trained and batch > 1:
            by_key.setdefault(_shape_key(spec), []).append(spec)
        else:
            groups.append([spec])
    for members in by_key.values():
        groups += [members[i : i + batch] for i in range(0, len(members), batch)]
    return groups


def collect(out: str | os.PathLike, write: bool = True):
    """One pandas table of the finished runs in ``out`` (a row per run: grid values, trained,
    steps, seconds, held-out metrics as ``metric_<name>``), written atomically to
    ``out/results.csv`` (and ``results.parquet`` when pyarrow is installed)."""
    import pandas as pd

    out = Path(out)
    rows = [
        _row(d)
        for d in sorted((out / "runs").glob("*/*"))
        if not d.name.startswith(".") and (d / "config.json").is_file()
    ]
    table = pd.DataFrame(rows)
    if write:
        with atomic_path(out / "results.csv") as tmp:
            table.to_csv(tmp, index=False)
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            pass
        else:
            with atomic_path(out / "results.parquet") as tmp:
                table.to_parquet(tmp, index=False)
    return table
