"""Figures: one function per figure kind, each returning a :class:`matplotlib.figure.Figure`.

matplotlib is imported inside the functions (with the non-interactive Agg backend when no
backend was chosen), so ``import cordsneuro.plotting`` stays light.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _pyplot() -> Any:
    """``matplotlib.pyplot``, selecting the Agg backend unless pyplot was already imported."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_complexity(
    rows: Sequence[Any],
    annotate: Sequence[str] = ("resnet18", "vit_h_14"),
    ax: Any = None,
) -> Figure:
    """Fig. 2C: multiply-accumulates against parameters, log–log.

    Parameters
    ----------
    rows : sequence of :class:`cordsneuro.analyses.complexity.ModelComplexity`
        E.g. :func:`cordsneuro.analyses.complexity.complexity_table`. torchvision models are
        drawn in grey (one point per row), CordsNet in purple: filled for our fast simulation
        path, open for the published code's computation of the same simulation.
    annotate : sequence of str
        torchvision model names to label. A dotted line marks ViT-H/14 at 224² when present
        (the paper compares CordsNet-R2 with it).
    ax : matplotlib Axes, optional
        Draw into it; default a new figure.
    """
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.6), constrained_layout=True)
    else:
        fig = ax.figure
    tv = [r for r in rows if r.family == "torchvision"]
    cn = sorted((r for r in rows if r.family == "cordsnet"), key=lambda r: r.params)
    if not tv and not cn:
        raise ValueError("rows must contain at least one ModelComplexity")
    if tv:
        ax.scatter(
            [r.params for r in tv],
            [r.macs for r in tv],
            s=14,
            color="0.55",
            label=f"torchvision.models ({len({r.name for r in tv})})",
            zorder=2,
        )
        for r in tv:
            if r.name in annotate:
                ax.annotate(
                    f"{r.name} ({r.image_size}²)",
                    (r.params, r.macs),
                    textcoords="offset points",
                    xytext=(-4, 5),
                    ha="right",
                    fontsize=7,
                    color="0.3",
                )
    if cn:
        purple = "#7b3294"
        steps = cn[0].steps
        ax.plot(
            [r.params for r in cn],
            [r.macs for r in cn],
            "o-",
            color=purple,
            ms=6,
            label=f"CordsNet, {steps} steps (fast path)",
            zorder=3,
        )
        if all(r.published_macs for r in cn):
            ax.plot(
                [r.params for r in cn],
                [r.published_macs for r in cn],
                "o--",
                mfc="white",
                color=purple,
                ms=6,
                label=f"CordsNet, {steps} steps (published code)",
                zorder=3,
            )
        for r in cn:
            ax.annotate(
                r.name.replace("CordsNet-", ""),
                (r.params, r.published_macs or r.macs),
                textcoords="offset points",
                xytext=(-6, 6),
                fontsize=8,
                color=purple,
            )
    vit = [r for r in tv if r.name == "vit_h_14" and r.image_size == 224]
    if vit:
        # the paper's comparison: CordsNet-R2 over a simulation vs ViT-H/14 for one image
        ax.axhline(vit[0].macs, ls=":", lw=1, color="0.4", zorder=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("multiply-accumulates (MACs) per image")
    ax.set_title("Complexity (Fig. 2C)")
    ax.grid(True, which="major", alpha=0.3)
    ax.margins(x=0.08, y=0.12)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_activity_sequence(traj: Any, protocol: Any = None, top_k: int = 3) -> Figure:
    """Fig. 3B: mean rate of every recorded CordsNet area and the softmax output over a
    stimulus sequence.

    Parameters
    ----------
    traj : VisionTrajectory
        From :meth:`cordsneuro.models.CordsNet.simulate` with ``record_areas`` set and outputs
        recorded at the same steps.
    protocol : Protocol, optional
        Shades the image epochs.
    top_k : int
        Number of classes drawn (those with the largest peak probability).
    """
    plt = _pyplot()
    fig, (ax_r, ax_p) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    t = traj.times.detach().cpu().numpy()
    if traj.rates is not None:
        for area, r in zip(traj.areas, traj.rates):
            m = r.detach().float().mean(dim=(0, 2, 3, 4)).cpu().numpy()
            ax_r.plot(t, m, label=f"area {area}")
        ax_r.legend(fontsize=7, ncol=4)
    ax_r.set_ylabel("mean rate")
    if traj.outputs is not None:
        p = traj.outputs.detach().float().softmax(-1)[0].cpu()
        classes = p.max(dim=0).values.topk(min(top_k, p.shape[1])).indices.tolist()
        t_out = (
            traj.dt_ms * (traj.output_steps.cpu().numpy() + 1)
            if traj.output_steps is not None
            else t
        )
        for c in classes:
            ax_p.plot(t_out, p[:, c].numpy(), label=f"class {c}")
        ax_p.legend(fontsize=7)
    ax_p.set_ylabel("softmax output")
    ax_p.set_xlabel("time (ms)")
    if protocol is not None:
        start = 0.0
        for e in protocol.epochs:
            if e.stimulus is not None:
                for ax in (ax_r, ax_p):
                    ax.axvspan(start, start + e.duration, color="0.9", zorder=0)
                ax_r.text(start + 2, ax_r.get_ylim()[1], e.name, va="top", fontsize=7)
            start += e.duration
    fig.tight_layout()
    return fig


def plot_noise_robustness(
    noise_levels: Sequence[float], deviations: dict, ax: Any = None
) -> Figure:
    """Fig. 3C: mean-squared deviation of the output layer from its noiseless activity
    against the input noise level, one line per model (``{label: values}``)."""
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
    else:
        fig = ax.figure
    for label, values in deviations.items():
        ax.plot(list(noise_levels), list(values), "o-", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("input noise std")
    ax.set_ylabel("mean-squared deviation\n(output layer, relative)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
