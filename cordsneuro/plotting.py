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


# ----------------------------------------------------------------------------- cognitive tasks


def _logistic(x: Any, bias: float, scale: float) -> Any:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-(np.asarray(x) - bias) / scale))


def fit_psychometric(x: Sequence[float], p: Sequence[float], n: Sequence[int] | None = None):
    """Fit ``P(positive) = 1 / (1 + exp(-(x - bias) / scale))`` by weighted least squares.

    Returns ``(bias, scale)``; ``scale`` is bounded below by 1e-4 so that a perfect observer
    (a step) gives a very steep curve rather than a failed fit."""
    import numpy as np
    from scipy.optimize import curve_fit

    x, p = np.asarray(x, dtype=float), np.asarray(p, dtype=float)
    sigma = None if n is None else 1.0 / np.sqrt(np.maximum(np.asarray(n, dtype=float), 1))
    span = max(float(np.ptp(x)), 1e-3)
    (bias, scale), _ = curve_fit(
        _logistic, x, p, p0=(0.0, span / 10), sigma=sigma,
        bounds=((x.min() - span, 1e-4), (x.max() + span, 10 * span)), maxfev=10_000,
    )  # fmt: skip
    return float(bias), float(scale)


def plot_psychometric(evaluation: Any, ax: Any = None) -> Figure:
    """Fig. S2A: the psychometric curve of a trained network on one cognitive task.

    Parameters
    ----------
    evaluation : :class:`cordsneuro.tasks.Evaluation`
        From :func:`cordsneuro.tasks.evaluate`. Two-choice tasks (PDM, CDM, MDM): P(positive
        choice) against signed coherence with a fitted logistic (CDM, MDM: one curve per
        context, points and fit in the same colour); PWM: the output against
        f1 − f2 with the target line; DMS: accuracy against delay; MemoryPro: reported against
        true stimulus (ring: angles in degrees, line: values, points: accuracy per state).
    ax : matplotlib Axes, optional
    """
    import numpy as np

    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.4), constrained_layout=True)
    else:
        fig = ax.figure
    ev = evaluation
    table = ev.by_condition
    info = ev.trial_info
    title = f"{ev.task}: " + ", ".join(
        f"{k} {v:.3g}" for k, v in ev.metrics.items() if k in ev.criterion or k == "accuracy"
    )
    if table and "p_positive" in table and ev.task in ("PDM", "CDM", "MDM"):
        if "by_context" in table:  # one curve per context (Mante et al. 2013)
            curves = [
                (f"context {c + 1}", sub, colour)
                for (c, sub), colour in zip(table["by_context"].items(), ("#7b3294", "#008837"))
            ]
        else:
            curves = [("network", table, "#7b3294")]
        for label, sub, colour in curves:
            x, p, n = np.array(sub["value"]), np.array(sub["p_positive"]), np.array(sub["n"])
            ax.plot(x, p, "o", color=colour if len(curves) > 1 else "k", ms=5, label=label)
            bias, scale = fit_psychometric(x, p, n)
            grid = np.linspace(x.min(), x.max(), 300)
            fit = "logistic fit" if len(curves) == 1 else None
            ax.plot(grid, _logistic(grid, bias, scale), "-", color=colour, label=fit)
        ax.set_xlabel("signed coherence" + (" (cued signal)" if ev.task == "CDM" else ""))
        ax.set_ylabel("P(positive choice)")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=7, loc="upper left")
    elif ev.task == "PWM":
        diff = np.asarray(info["difference"])
        ax.scatter(diff, ev.per_trial["estimate"], s=6, alpha=0.4, color="k", label="network")
        grid = np.array([diff.min(), diff.max()])
        slope = np.nanmedian(np.asarray(info["target"])[diff != 0] / diff[diff != 0])
        ax.plot(grid, slope * grid, "-", color="#7b3294", label="target")
        ax.set_xlabel("f1 − f2")
        ax.set_ylabel("output (decision epoch)")
        ax.legend(fontsize=7, loc="upper left")
    elif ev.task.startswith("MemoryPro") and "theta" in info:
        ax.scatter(
            np.degrees(info["theta"]),
            np.degrees(ev.per_trial["estimate"]),
            s=6,
            alpha=0.5,
            color="k",
        )
        ax.plot([0, 360], [0, 360], "-", color="#7b3294", lw=1)
        ax.set_xlabel("true angle (deg)")
        ax.set_ylabel("reported angle (deg)")
    elif ev.task.startswith("MemoryPro") and "value" in info:
        ax.scatter(info["value"], ev.per_trial["estimate"], s=6, alpha=0.5, color="k")
        ax.plot([-1, 1], [-1, 1], "-", color="#7b3294", lw=1)
        ax.set_xlabel("true value")
        ax.set_ylabel("reported value")
    elif table:
        ax.plot(table["value"], table["accuracy"], "o-", color="k")
        ax.set_xlabel({"delay_ms": "delay (ms)", "point": "state"}.get(table["key"], table["key"]))
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.05, 1.05)
    else:
        raise ValueError(
            f"no psychometric plot for task {ev.task!r} (no condition to plot against)"
        )
    ax.set_title(title, fontsize=8)
    return fig


def plot_trajectories(
    rates: Any,
    conditions: Sequence[float] | None = None,
    times: Sequence[float] | None = None,
    label: str = "condition",
    ax: Any = None,
) -> Figure:
    """Neural trajectories projected on their first two principal components (Fig. 1C).

    Parameters
    ----------
    rates : array or Tensor
        ``(trials, time, N)`` (or ``(trials, time, *state_shape)``, flattened), e.g.
        ``model(inputs).rates``.
    conditions : sequence of float, optional
        One value per trial; trajectories are coloured by it.
    times : sequence of float, optional
        ``(time,)`` in ms, to mark the start (circle) and end (square) of each trajectory.
    """
    import numpy as np

    plt = _pyplot()
    x = rates.detach().cpu().numpy() if hasattr(rates, "detach") else np.asarray(rates)
    if x.ndim < 3:
        raise ValueError(f"rates must have shape (trials, time, N...), got {x.shape}")
    x = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
    flat = x.reshape(-1, x.shape[-1])
    centred = flat - flat.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = (x - flat.mean(0)) @ vt[:2].T
    explained = (s[:2] ** 2 / max((s**2).sum(), 1e-30)) * 100
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.4, 3.8), constrained_layout=True)
    else:
        fig = ax.figure
    cmap = plt.get_cmap("coolwarm")
    if conditions is not None:
        c = np.asarray(conditions, dtype=float)
        if c.shape != (x.shape[0],):
            raise ValueError(
                f"conditions must have one value per trial ({x.shape[0]}), got {c.shape}"
            )
        span = np.ptp(c) or 1.0
        colours = [cmap((v - c.min()) / span) for v in c]
    else:
        colours = ["k"] * x.shape[0]
    for trial, colour in zip(pcs, colours):
        ax.plot(trial[:, 0], trial[:, 1], "-", color=colour, lw=1, alpha=0.8)
        ax.plot(trial[0, 0], trial[0, 1], "o", color=colour, ms=3)
        ax.plot(trial[-1, 0], trial[-1, 1], "s", color=colour, ms=3)
    if conditions is not None:
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(c.min(), c.max()))
        fig.colorbar(sm, ax=ax, label=label)
    ax.set_xlabel(f"PC 1 ({explained[0]:.0f} %)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0f} %)")
    if times is not None:
        ax.set_title(f"trajectories, 0–{float(times[-1]):.0f} ms (○ start, □ end)", fontsize=8)
    return fig


def plot_learning_curve(history: dict, ax: Any = None) -> Figure:
    """Loss per step and held-out metrics per evaluation of a :func:`cordsneuro.train` run
    (``result.history``)."""
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.2), constrained_layout=True)
    else:
        fig = ax.figure
    ax.plot(history["step"], history["loss"], lw=0.8, color="0.4", label="training loss")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    evals = history.get("evaluations", [])
    if evals:
        twin = ax.twinx()
        for key in evals[-1]:
            if key == "step":
                continue
            twin.plot([e["step"] for e in evals], [e[key] for e in evals], "o-", ms=3, label=key)
        twin.set_ylabel("held-out metric")
        twin.legend(fontsize=7, loc="center right")
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


# ----------------------------------------------------------------------------- analyses (issue 4)


def plot_regime(report: Any, title: str | None = None) -> Figure:
    """Fig. S1B: one network's autonomous activity in its first two principal components (left),
    cumulative variance explained with the participation ratio (middle) and the population
    autocorrelation against lag in ms (right).

    Parameters
    ----------
    report : :class:`cordsneuro.analyses.regimes.RegimeReport`
    """
    import numpy as np

    from cordsneuro.analyses.dimensionality import PCA

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    activity = report.activity
    n_pc = min(2, activity.shape[-1], activity.shape[0] * activity.shape[1])
    scores = PCA(n_pc).fit_transform(activity).numpy()
    for trial in scores:
        axes[0].plot(trial[:, 0], trial[:, 1] if n_pc > 1 else np.zeros(len(trial)), lw=0.8)
    axes[0].set(xlabel="PC 1", ylabel="PC 2", title="population trajectory")
    cve = report.cumulative_variance.numpy()[:20]
    axes[1].plot(np.arange(1, len(cve) + 1), cve, "o-", ms=3, color="tab:purple")
    axes[1].set(xlabel="principal components", ylabel="cumulative variance explained",
                ylim=(0, 1.02), title=f"PR = {report.participation_ratio:.2f}")  # fmt: skip
    lags = np.arange(len(report.autocorrelation)) * report.dt
    axes[2].plot(lags, report.autocorrelation.numpy(), color="k")
    axes[2].axhline(0, color="0.7", lw=0.8)
    axes[2].set(xlabel="lag (ms)", ylabel="autocorrelation", title="activity autocorrelation")
    fig.suptitle(title or f"{report.label} (λ·τ = {report.lyapunov_tau:+.3f})")
    fig.tight_layout()
    return fig


def plot_gain_sweep(
    sweeps: dict[str, Sequence[Any]], gains: Sequence[float], n_neurons: int = 6
) -> Figure:
    """Fig. 1B: autonomous activity of random networks across gains (columns) for several
    architectures (rows), each panel titled with the regime label and ``λ·τ``, plus a last
    column with the largest Lyapunov exponent against gain.

    Parameters
    ----------
    sweeps : dict
        Architecture name → list of :class:`~cordsneuro.analyses.regimes.RegimeReport`, one per
        gain (e.g. from :func:`~cordsneuro.analyses.regimes.gain_sweep`).
    gains : sequence of float
    n_neurons : int
        Example neurons drawn per panel.
    """
    import numpy as np

    plt = _pyplot()
    names = list(sweeps)
    fig, axes = plt.subplots(len(names), len(gains) + 1, figsize=(2.4 * (len(gains) + 1), 2.1 * len(names)),
                             squeeze=False)  # fmt: skip
    colours = {"stable": "tab:blue", "oscillatory": "tab:green", "chaotic": "tab:red"}
    for row, name in enumerate(names):
        reports = list(sweeps[name])
        for col, (g, rep) in enumerate(zip(gains, reports)):
            ax = axes[row, col]
            act = rep.activity[0].numpy()
            t = np.arange(act.shape[0]) * rep.dt
            ax.plot(t, act[:, :n_neurons], lw=0.8)
            ax.set_ylim(-1.05, 1.05)
            ax.set_title(f"g = {g:g}: {rep.label}", color=colours.get(rep.label, "k"), fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{name}\nrate")
            if row == len(names) - 1:
                ax.set_xlabel("time (ms)")
        ax = axes[row, -1]
        ax.plot(gains, [r.lyapunov_tau for r in reports], "o-", color="k", ms=3)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set(xlabel="gain g", ylabel="λ·τ", title="largest Lyapunov exp.")
    fig.tight_layout()
    return fig


def plot_singular_values(
    kernels: Sequence[Any],
    matrices: Sequence[Any],
    singular_values: Sequence[Any],
    labels: Sequence[str] | None = None,
) -> Figure:
    """Fig. S1A: each convolution kernel (one input/output channel), its flattened weight matrix
    (Appendix B.1) and the distribution of its singular values (one row per kernel)."""
    import numpy as np

    plt = _pyplot()
    fig, axes = plt.subplots(len(kernels), 3, figsize=(10, 3 * len(kernels)), squeeze=False)
    for i, (k, m, sv) in enumerate(zip(kernels, matrices, singular_values)):
        k = np.asarray(k.detach().cpu() if hasattr(k, "detach") else k)
        k = k[0, 0] if k.ndim == 4 else k
        m = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m)
        sv = np.asarray(sv.detach().cpu() if hasattr(sv, "detach") else sv)
        lim = np.abs(k).max()
        axes[i, 0].imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[i, 0].set_title(
            f"kernel {k.shape[0]}×{k.shape[1]}" + (f" ({labels[i]})" if labels else "")
        )
        lim = np.abs(m).max()
        axes[i, 1].imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        axes[i, 1].set_title(f"flattened matrix {m.shape[0]}×{m.shape[1]}")
        axes[i, 2].plot(np.arange(1, len(sv) + 1), sv, ".", ms=3, color="tab:purple")
        axes[i, 2].set(xlabel="index", ylabel="singular value", title="singular values")
        for ax in axes[i, :2]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_spectrum(
    spectra: dict[str, Any], exact: Any = None, shift: float = 0.0, ax: Any = None
) -> Figure:
    """Fig. 4A–B: eigenvalues in the complex plane.

    Parameters
    ----------
    spectra : dict
        Label → complex array of eigenvalues (e.g. ``Spectrum.values``); drawn as markers.
    exact : array, optional
        The full spectrum (dense or FFT), drawn as small grey dots behind.
    shift : float
        Reference vertical line at ``Re = shift`` (1 for ``W``: the stability edge of ``W − I``
        is ``Re = 0``).
    """
    import numpy as np

    plt = _pyplot()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5, 4.5))
    ax = ax if ax is not None else fig.add_subplot(1, 1, 1)
    if exact is not None:
        exact = np.asarray(exact)
        ax.plot(
            exact.real, exact.imag, ".", ms=1.5, color="0.75", label="all eigenvalues", zorder=1
        )
    markers = ["o", "s", "^", "D", "v"]
    for i, (label, values) in enumerate(spectra.items()):
        values = np.asarray(values)
        ax.plot(
            values.real,
            values.imag,
            markers[i % len(markers)],
            mfc="none",
            ms=6,
            label=label,
            zorder=2 + i,
        )
    ax.axvline(shift, color="k", lw=0.8, ls="--")
    ax.set(xlabel="Re λ", ylabel="Im λ")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_attractor(
    scores: Any,
    colors: Any,
    fixed_points: Any = None,
    stable: Any = None,
    title: str = "",
    cmap: str = "hsv",
) -> Figure:
    """Fig. S3: trial trajectories in the top principal components, coloured by the stored
    stimulus, with the fixed / slow points (filled: stable, open: unstable) on top.

    Parameters
    ----------
    scores : array
        ``(trials, time, ≥2)`` trajectories projected on principal components (e.g. by
        :class:`cordsneuro.analyses.PCA`).
    colors : array
        ``(trials,)`` stimulus value per trial (angle, value or class).
    fixed_points : array, optional
        ``(m, ≥2)`` slow points projected on the same components.
    stable : array of bool, optional
        ``(m,)`` stability of each point.
    """
    import numpy as np

    plt = _pyplot()
    scores = np.asarray(scores)
    colors = np.asarray(colors, dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    cm = plt.get_cmap(cmap)
    span = np.ptp(colors) if np.ptp(colors) > 0 else 1.0
    for pair, ax in zip(((0, 1), (0, 2) if scores.shape[-1] > 2 else (0, 1)), axes):
        for trial, c in zip(scores, colors):
            ax.plot(
                trial[:, pair[0]],
                trial[:, pair[1]],
                lw=0.6,
                alpha=0.7,
                color=cm((c - colors.min()) / span),
            )
            ax.plot(
                trial[-1, pair[0]],
                trial[-1, pair[1]],
                "o",
                ms=3,
                color=cm((c - colors.min()) / span),
            )
        if fixed_points is not None:
            fp = np.asarray(fixed_points)
            st = np.ones(len(fp), dtype=bool) if stable is None else np.asarray(stable, dtype=bool)
            ax.plot(fp[st, pair[0]], fp[st, pair[1]], "kx", ms=5, label="stable slow points")
            ax.plot(
                fp[~st, pair[0]], fp[~st, pair[1]], "o", mfc="none", mec="k", ms=5, label="unstable"
            )
            ax.legend(fontsize=7, loc="best")
        ax.set(xlabel=f"PC {pair[0] + 1}", ylabel=f"PC {pair[1] + 1}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_trial(
    batch: Any,
    dt: float,
    trial: int = 0,
    input_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """The anatomy of one trial: its inputs, its target and the scored steps, with its epochs
    shaded and named.

    Parameters
    ----------
    batch : :class:`cordsneuro.tasks.Batch`
        From :func:`cordsneuro.tasks.make_batch`: inputs ``(batch, time, n_inputs)``, targets
        ``(batch, time)`` or ``(batch, time, n_outputs)``, mask ``(batch, time)`` and
        ``trial_info`` with ``<epoch>_start`` / ``<epoch>_end`` in steps.
    dt : float
        The task's time step in ms (``task.dt``).
    trial : int
        Which trial of the batch to draw.
    input_names : sequence of str, optional
        One label per input channel (e.g. ``task.input_names``).
    title : str, optional
        Drawn above the inputs.
    """
    import numpy as np

    inputs, targets, mask, info = batch
    if not 0 <= trial < inputs.shape[0]:
        raise ValueError(f"trial must lie in [0, {inputs.shape[0]}) (got {trial})")
    plt = _pyplot()
    length = int(info["length"][trial]) if "length" in info else inputs.shape[1]
    t = dt * np.arange(1, length + 1)  # ms at the end of each step
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 4.5), sharex=True, height_ratios=[2, 1, 1])
    x = inputs[trial, :length].detach().cpu().numpy()
    for i in range(x.shape[1]):
        axes[0].plot(t, x[:, i], lw=1, label=input_names[i] if input_names else f"input {i}")
    axes[0].legend(fontsize=7, loc="best")
    axes[0].set_ylabel("inputs")
    if title:
        axes[0].set_title(title, fontsize=9)
    y = targets[trial, :length].detach().cpu().numpy()
    axes[1].plot(t, y.reshape(length, -1), color="k" if y.ndim == 1 else None)
    axes[1].set_ylabel("target")
    m = mask[trial, :length].detach().cpu().numpy().astype(float)
    axes[2].fill_between(t, m, step="pre", color="tab:green", alpha=0.5)
    axes[2].set(ylabel="scored", xlabel="time (ms)", yticks=[0, 1])
    epochs = [k[: -len("_start")] for k in info if k.endswith("_start")]
    labels = axes[0].get_xaxis_transform()  # x in ms, y in axes fraction
    for i, epoch in enumerate(epochs):
        start, end = dt * info[f"{epoch}_start"][trial], dt * info[f"{epoch}_end"][trial]
        if end <= start:
            continue
        for ax in axes:
            ax.axvspan(start, end, color=f"C{i % 10}", alpha=0.08, lw=0)
        # alternate heights so that the names of short neighbouring epochs do not overlap
        axes[0].text(start, 0.98 - 0.09 * (i % 2), epoch, transform=labels, va="top", fontsize=7)
    fig.tight_layout()


# ----------------------------------------------------------------------------- comparisons

#: Colours of the four architectures in the comparison figures (Fig. 1C, S2).
ARCHITECTURE_COLOURS = {
    "full": "#444444",
    "lowrank": "#1b9e77",
    "sparse": "#d95f02",
    "conv": "#7570b3",
}
ARCHITECTURE_NAMES = {
    "full": "fully connected",
    "lowrank": "low-rank",
    "sparse": "sparse",
    "conv": "ConvRNN",
}


def plot_mds(
    coordinates: Any,
    architectures: Sequence[str],
    trained: Sequence[bool],
    title: str = "",
    ax: Any = None,
) -> Figure:
    """Fig. S2C: networks placed by multidimensional scaling of their shape distances
    (:func:`cordsneuro.analyses.similarity.mds_embedding`), coloured by architecture; trained
    networks filled, untrained hollow.

    Parameters
    ----------
    coordinates : array ``(K, 2)``
    architectures : sequence of K names (``"full"``, ``"lowrank"``, ``"sparse"``, ``"conv"``)
    trained : sequence of K bools
    """
    import numpy as np

    plt = _pyplot()
    xy = np.asarray(coordinates, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(architectures) != len(xy) != len(trained):
        raise ValueError(
            f"coordinates must be (K, 2) with K architectures and K trained flags; got "
            f"{xy.shape}, {len(architectures)}, {len(trained)}"
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 4.0), constrained_layout=True)
    else:
        fig = ax.figure
    for arch in dict.fromkeys(architectures):
        colour = ARCHITECTURE_COLOURS.get(arch, "k")
        for state in (True, False):
            sel = np.array([a == arch and t == state for a, t in zip(architectures, trained)])
            if not sel.any():
                continue
            ax.scatter(
                xy[sel, 0], xy[sel, 1], s=28, edgecolors=colour, linewidths=1.2,
                facecolors=colour if state else "none",
                label=f"{ARCHITECTURE_NAMES.get(arch, arch)} ({'trained' if state else 'untrained'})",
            )  # fmt: skip
    ax.set(xlabel="MDS 1", ylabel="MDS 2")
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


def plot_normalised_singular_values(
    values: dict[str, Sequence[Any]], title: str = "", ax: Any = None
) -> Figure:
    """Fig. S2B: normalised singular values (σ_i / σ_1) of recurrent weights against the
    normalised index i / N, one curve per network, coloured by architecture.

    Parameters
    ----------
    values : dict
        Architecture name → list of 1-D arrays (one per network, decreasing, from
        :func:`cordsneuro.analyses.similarity.normalised_singular_values`).
    """
    import numpy as np

    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.4), constrained_layout=True)
    else:
        fig = ax.figure
    for arch, curves in values.items():
        colour = ARCHITECTURE_COLOURS.get(arch, "k")
        for k, sv in enumerate(curves):
            sv = np.asarray(sv, dtype=float)
            ax.plot(
                np.arange(1, len(sv) + 1) / len(sv), sv, color=colour, lw=1, alpha=0.7,
                label=ARCHITECTURE_NAMES.get(arch, arch) if k == 0 else None,
            )  # fmt: skip
    ax.set(xlabel="normalised index i / N", ylabel="σ_i / σ_1", title=title)
    ax.legend(fontsize=7)
    return fig


def plot_aligned_trajectories(
    alignment: Any,
    labels: tuple[str, str],
    lengths: Sequence[int] | None = None,
    conditions: Sequence[float] | None = None,
    ax: Any = None,
) -> Figure:
    """Fig. 1C: two networks' trajectories in their shared CCA space
    (:func:`cordsneuro.analyses.similarity.cca_align`): the first network solid, the second
    dashed, each trial coloured by its condition.

    Parameters
    ----------
    alignment : Alignment
        ``x`` and ``y`` of shape ``(trials, time, ≥ 2)``, ``correlations``.
    labels : (str, str)
        Names of the two networks.
    lengths : sequence of int, optional
        Steps of each trial (padding after it is not drawn).
    conditions : sequence of float, optional
        One value per trial for the colour.
    """
    import numpy as np

    plt = _pyplot()
    x, y = np.asarray(alignment.x), np.asarray(alignment.y)
    trials, steps = x.shape[:2]
    lengths = np.full(trials, steps) if lengths is None else np.asarray(lengths)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.4, 4.0), constrained_layout=True)
    else:
        fig = ax.figure
    cmap = plt.get_cmap("coolwarm")
    c = np.zeros(trials) if conditions is None else np.asarray(conditions, dtype=float)
    span = float(np.ptp(c)) or 1.0
    for i in range(trials):
        colour = cmap((c[i] - c.min()) / span) if conditions is not None else "k"
        n = int(lengths[i])
        ax.plot(x[i, :n, 0], x[i, :n, 1], "-", color=colour, lw=1, alpha=0.8)
        ax.plot(y[i, :n, 0], y[i, :n, 1], "--", color=colour, lw=1, alpha=0.8)
    ax.plot([], [], "-", color="k", label=labels[0])
    ax.plot([], [], "--", color="k", label=labels[1])
    r = alignment.correlations
    ax.set(xlabel=f"CC 1 (r = {r[0]:.2f})", ylabel=f"CC 2 (r = {r[1]:.2f})")
    ax.legend(fontsize=7)
    return fig
