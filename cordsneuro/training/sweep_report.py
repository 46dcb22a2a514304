"""The report of a task-comparison sweep (paper Section 2.1, Appendix B.3): Procrustes distance
matrices, Table S2, Fig. S2A–C and Fig. 1C from the run directories of
:mod:`cordsneuro.training.sweep`.

For every task and hyper-parameter setting (activation × learning rate × size) the trajectories
of all its networks, trained and untrained, on the task's fixed evaluation batch are compared
pairwise with the angular Procrustes shape distance (``LinearMetric(alpha=1)``; rows = every
(trial, time step) inside the trials). Table S2 gives, for each architecture, the mean over its
trained networks of each network's mean distance to the trained fully connected networks
(other than itself), with the standard deviation over networks as the spread (the paper does not
say which spread it reports).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cordsneuro._atomic import atomic_path
from cordsneuro.training.sweep import COMPARISON_TASKS

__all__ = ["SweepReport", "report_sweep", "load_trajectories", "TABLE_S2_COLUMNS"]

#: Table S2's columns, in the paper's order, and the fully connected baseline we add.
TABLE_S2_COLUMNS = {"sparse": "Sparse RNN", "conv": "ConvRNN", "lowrank": "Low-Rank RNN"}
BASELINE = "full"


@dataclass
class SweepReport:
    """What :func:`report_sweep` made.

    Attributes
    ----------
    table : pandas.DataFrame
        Long format: task, architecture, mean, std, n (networks).
    markdown : str
        Table S2's layout (a row per task, a column per architecture, the closest in bold).
    figures : list of Path
        PNG files written.
    finding : bool
        Whether, averaged over tasks, the ConvRNN is closer to the fully connected networks than
        the low-rank and the sparse networks are (the paper's conclusion).
    """

    table: Any
    markdown: str
    figures: list[Path] = field(default_factory=list)
    finding: bool = False


def _runs(out: Path) -> list[tuple[dict, Path]]:
    runs = []
    for d in sorted((out / "runs").glob("*/*")):
        if not d.name.startswith(".") and (d / "config.json").is_file():
            runs.append((json.loads((d / "config.json").read_text()), d))
    return runs


def load_trajectories(run: str | os.PathLike) -> dict[str, np.ndarray]:
    """A run's stored trajectories: ``rates (trials, time, N)``, ``outputs``, ``inputs``,
    ``length (trials,)`` and the trial conditions ``info.<name>``, as NumPy arrays."""
    from safetensors.numpy import load_file

    return load_file(str(Path(run) / "trajectories.safetensors"))


def _activity(data: dict[str, np.ndarray]) -> np.ndarray:
    """Rows of every (trial, step) inside the trials: ``(Σ lengths, N)`` float64."""
    rates, length = data["rates"], data["length"]
    inside = np.arange(rates.shape[1])[None, :] < length[:, None]
    return rates[inside].astype(np.float64)


def _check_same_trials(group: list[tuple[dict, Path, dict]], what: str) -> None:
    first_cfg, first_dir, first = group[0]
    for cfg, d, data in group[1:]:
        same = (
            cfg["trajectory_seed"] == first_cfg["trajectory_seed"]
            and data["inputs"].shape == first["inputs"].shape
            and np.array_equal(data["length"], first["length"])
            and np.array_equal(data["inputs"], first["inputs"])
        )
        if not same:
            raise ValueError(
                f"{what}: runs {first_dir.name} and {d.name} were recorded on different trials "
                "(trajectory batch); their activity cannot be compared row by row"
            )


def _save(fig: Any, path: Path, figures: list[Path]) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=140)
    plt.close(fig)
    figures.append(path)


def _reached(run: Path) -> bool:
    return bool(json.loads((run / "metrics.json").read_text())["reached"])


def _label(cfg: dict) -> str:
    return f"{cfg['architecture']}_s{cfg['seed']}_{'trained' if cfg['trained'] else 'untrained'}"


def report_sweep(
    out: str | os.PathLike,
    *,
    directory: str | os.PathLike | None = None,
    n_jobs: int = -1,
    psychometric_trials: int = 1000,
    only_solved: bool = True,
    progress: bool = True,
) -> SweepReport:
    """Write the comparison report of the sweep in ``out`` to ``directory`` (default
    ``out/report``) and return it; prints Table S2.

    Files: ``distances_<task>_<setting>.csv`` (Procrustes distance matrices, labelled),
    ``fig_s2c_mds_<task>_<setting>.png``, ``fig_s2b_singular_values.png``,
    ``fig_s2a_psychometric.png``, ``fig_1c_cca_<task>.png``, ``table_s2.md``, ``table_s2.csv``.

    With ``only_solved`` (default) Table S2 uses only the trained networks that met their task's
    criterion (the paper reports that all of its networks did); every network stays in the
    distance matrices and MDS plots.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from cordsneuro.analyses.similarity import mds_embedding, pairwise_distances
    from cordsneuro.plotting import _pyplot, plot_mds

    out = Path(out)
    runs = _runs(out)
    if not runs:
        raise ValueError(f"{out} holds no finished runs (expected {out}/runs/<task>/<run>/)")
    target = Path(directory) if directory is not None else out / "report"
    target.mkdir(parents=True, exist_ok=True)
    figures: list[Path] = []
    order = {t: i for i, t in enumerate(COMPARISON_TASKS)}  # the paper's order, then others
    tasks = sorted({cfg["task"] for cfg, _ in runs}, key=lambda t: (order.get(t, 99), t))
    per_network: list[dict] = []
    excluded: list[str] = []
    plt = _pyplot()
    for task in tqdm(tasks, desc="report", disable=not progress):
        settings: dict[tuple, list] = {}
        for cfg, d in runs:
            if cfg["task"] == task:
                key = cfg.get("setting") or f"{cfg['activation']}_lr{cfg['lr']:g}_n{cfg['size']}"
                settings.setdefault(key, []).append((cfg, d, load_trajectories(d)))
        for setting, group in settings.items():
            _check_same_trials(group, f"task {task}, setting {setting}")
            group.sort(key=lambda g: (not g[0]["trained"], g[0]["architecture"], g[0]["seed"]))
            labels = [_label(cfg) for cfg, _, _ in group]
            D = pairwise_distances(
                [_activity(data) for _, _, data in group], 1.0, n_jobs=n_jobs, progress=progress
            )
            with atomic_path(target / f"distances_{task}_{setting}.csv") as tmp:
                pd.DataFrame(D, index=labels, columns=labels).to_csv(tmp)
            archs = [cfg["architecture"] for cfg, _, _ in group]
            trained = [cfg["trained"] for cfg, _, _ in group]
            if len(group) >= 3:
                fig = plot_mds(
                    mds_embedding(D), archs, trained,
                    title=f"{task} ({setting})",
                )  # fmt: skip
                _save(fig, target / f"fig_s2c_mds_{task}_{setting}.png", figures)
            # Table S2 compares solutions: trained networks that met the task's criterion
            solved = [
                t and (not only_solved or _reached(d)) for (_, d, _), t in zip(group, trained)
            ]
            excluded += [
                f"{task}/{labels[i]}" for i, t in enumerate(trained) if t and not solved[i]
            ]
            reference = [i for i, a in enumerate(archs) if solved[i] and a == BASELINE]
            for i, a in enumerate(archs):
                others = [j for j in reference if j != i]
                if solved[i] and others:
                    per_network.append(
                        {"task": task, "architecture": a, "setting": setting,
                         "network": labels[i], "distance": float(D[i, others].mean())}
                    )  # fmt: skip
    table, markdown, finding = _table_s2(per_network, tasks)
    if excluded:
        markdown += f"\nLeft out of the table (trained, criterion not met): {', '.join(excluded)}\n"
    with atomic_path(target / "table_s2.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(target / "table_s2.md") as tmp:
        tmp.write_text(markdown)
    figures += _figures_per_task(runs, tasks, target, psychometric_trials, plt)
    if progress:
        print(markdown)
        print(f"\nfigures and tables written to {target}")
    return SweepReport(table=table, markdown=markdown, figures=figures, finding=finding)


def _table_s2(per_network: list[dict], tasks: list[str]) -> tuple[Any, str, bool]:
    import pandas as pd

    frame = pd.DataFrame(per_network, columns=["task", "architecture", "setting", "network",
                                               "distance"])  # fmt: skip
    stats = (
        frame.groupby(["task", "architecture"])["distance"]
        .agg(mean="mean", std=lambda x: float(np.std(x, ddof=1)) if len(x) > 1 else 0.0, n="size")
        .reset_index()
    )
    columns = [*TABLE_S2_COLUMNS, BASELINE]
    names = [*TABLE_S2_COLUMNS.values(), "Fully connected (other seeds)"]
    lines = [
        "Table S2: mean angular Procrustes distance to the trained fully connected RNNs "
        "(± s.d. over networks)",
        "",
        "| Task | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    means: dict[str, list[float]] = {a: [] for a in columns}
    for task in tasks:
        cells, values = [], {}
        for arch in columns:
            row = stats[(stats.task == task) & (stats.architecture == arch)]
            if len(row):
                values[arch] = float(row["mean"].iloc[0])
                means[arch].append(values[arch])
        best = min((values[a] for a in TABLE_S2_COLUMNS if a in values), default=None)
        for arch in columns:
            row = stats[(stats.task == task) & (stats.architecture == arch)]
            if not len(row):
                cells.append("–")
                continue
            text = f"{row['mean'].iloc[0]:.2f} (± {row['std'].iloc[0]:.2f})"
            bold = arch in TABLE_S2_COLUMNS and values[arch] == best
            cells.append(f"**{text}**" if bold else text)
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    overall = {a: float(np.mean(v)) for a, v in means.items() if v}
    lines.append(
        "| mean over tasks | "
        + " | ".join(f"{overall[a]:.2f}" if a in overall else "–" for a in columns)
        + " |"
    )
    finding = all(a in overall for a in TABLE_S2_COLUMNS) and overall["conv"] < min(
        overall["sparse"], overall["lowrank"]
    )
    lines += [
        "",
        "ConvRNN closer to the fully connected RNNs than the low-rank and sparse RNNs on "
        f"average over tasks (the paper's finding): {'yes' if finding else 'no'}",
    ]
    return stats, "\n".join(lines) + "\n", finding


def _first(runs: list, task: str, arch: str) -> tuple[dict, Path] | None:
    chosen = [
        (cfg, d)
        for cfg, d in runs
        if cfg["task"] == task and cfg["architecture"] == arch and cfg["trained"]
    ]
    return min(chosen, key=lambda r: (r[0]["size"], r[0]["seed"]), default=None)


def _figures_per_task(runs: list, tasks: list[str], target: Path, trials: int, plt) -> list:
    """Fig. S2A (psychometric curves of a trained ConvRNN per task), Fig. S2B (normalised
    singular values of every trained network) and Fig. 1C (CCA-aligned trajectories of a
    ConvRNN with a low-rank and with a sparse RNN)."""
    from cordsneuro import load
    from cordsneuro.analyses.similarity import cca_align, normalised_singular_values
    from cordsneuro.plotting import (
        plot_aligned_trajectories,
        plot_normalised_singular_values,
        plot_psychometric,
    )
    from cordsneuro.tasks import evaluate

    figures: list[Path] = []
    n = len(tasks)
    fig_a, axes_a = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False)
    fig_b, axes_b = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False)
    for k, task in enumerate(tasks):
        conv = _first(runs, task, "conv")
        if conv is not None:
            model = load(conv[1] / "model")
            plot_psychometric(evaluate(model, task, n_trials=trials), ax=axes_a[0, k])
            axes_a[0, k].set_title(f"{task}: ConvRNN (seed {conv[0]['seed']})", fontsize=8)
        else:
            axes_a[0, k].set_axis_off()
        values: dict[str, list] = {}
        for cfg, d in runs:
            if cfg["task"] == task and cfg["trained"]:
                values.setdefault(cfg["architecture"], []).append(
                    normalised_singular_values(load(d / "model"))
                )
        plot_normalised_singular_values(values, title=task, ax=axes_b[0, k])
        partners = [p for p in ("lowrank", "sparse") if _first(runs, task, p) and conv]
        if partners:
            fig, axes = plt.subplots(1, len(partners), figsize=(4.2 * len(partners), 3.8),
                                     squeeze=False)  # fmt: skip
            for ax, partner in zip(axes[0], partners):
                other = _first(runs, task, partner)
                a, b = load_trajectories(conv[1]), load_trajectories(other[1])
                alignment = cca_align(a["rates"], b["rates"], n_components=2)
                plot_aligned_trajectories(
                    alignment, ("ConvRNN", partner), lengths=a["length"],
                    conditions=a.get("info.target"), ax=ax,
                )  # fmt: skip
                ax.set_title(f"{task}: ConvRNN vs {partner} RNN (CCA)", fontsize=8)
            fig.tight_layout()
            _save(fig, target / f"fig_1c_cca_{task}.png", figures)
    fig_a.tight_layout()
    fig_b.tight_layout()
    _save(fig_a, target / "fig_s2a_psychometric.png", figures)
    _save(fig_b, target / "fig_s2b_singular_values.png", figures)
    return figures
