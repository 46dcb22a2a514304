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
