"""Fig. S2A: psychometric curves of ConvRNNs (CordsNet, 125 neurons) trained on the five
cognitive tasks of Appendix B.3.

Trains one ConvRNN per task with ``cordsneuro.training.train_paper_task`` (the recipes of
``RECIPES``), evaluates it on held-out trials — PDM / CDM / MDM on a finer grid of coherences
than the training set, so the curves are graded — and draws the panels: P(positive choice) vs
signed coherence with a fitted logistic (PDM, CDM, MDM), output vs f1 − f2 (PWM) and accuracy
vs delay (DMS). Models are saved next to the figure.

    python examples/psychometric_curves.py --out results/fig_s2a  [--tasks PDM CDM]

A few minutes per task on 2 CPU cores (DMS is the longest).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FINE = np.array(
    [-0.4, -0.2, -0.1, -0.05, -0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.4]
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("results/fig_s2a"))
    parser.add_argument("--tasks", nargs="+", default=["PDM", "PWM", "MDM", "CDM", "DMS"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=100, help="held-out trials per condition")
    args = parser.parse_args()

    import torch

    from cordsneuro import tasks
    from cordsneuro.plotting import _pyplot, plot_psychometric
    from cordsneuro.training import train_paper_task

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(args.tasks), figsize=(3.6 * len(args.tasks), 3.3), constrained_layout=True
    )
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, args.tasks):
        result = train_paper_task(name, "conv", seed=args.seed)
        print(
            f"{name}: reached={result.reached} after {result.steps} steps, {result.seconds:.0f} s, {result.metrics}"
        )
        result.model.save(args.out / f"{name.lower()}_convrnn")
        if name in ("PDM", "CDM", "MDM"):
            grid = np.repeat(FINE, args.trials)
            key = "coherence" if name == "PDM" else "coherence_1"
            fixed = {key: grid}
            if name == "MDM":  # both signals at the same signed coherence
                fixed["coherence_2"] = grid
            if name == "CDM":  # both contexts; the cued signal on the grid, the other shuffled
                rng = np.random.default_rng(args.seed)
                context = np.arange(len(grid)) % 2
                other = rng.permutation(grid)
                fixed = {
                    "context": context,
                    "coherence_1": np.where(context == 0, grid, other),
                    "coherence_2": np.where(context == 1, grid, other),
                }
            ev = tasks.evaluate(result.model, name, n_trials=len(grid), **fixed)
        else:
            ev = tasks.evaluate(result.model, name, n_trials=25 * args.trials)
        plot_psychometric(ev, ax=ax)
    path = args.out / "fig_s2a_psychometric.png"
    fig.savefig(path, dpi=150)
    print(f"written {path}")


if __name__ == "__main__":
    main()
