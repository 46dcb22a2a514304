"""Fig. 1B and Fig. S1B: dynamical regimes of random networks across gains.

Random ``FullRNN`` (N = 512, entries N(0, g²/N)) and ``ConvRNN`` (Table S1's 512-neuron
network: 8 channels on 8 × 8, kernel 6, zero padding, kernel N(0, g²/(C k²))) with tanh,
τ = 100 ms, dt = 20 ms, simulated without input from random states. For each gain the regime
is classified stable / oscillatory / chaotic from the activity's fluctuation and the largest
Lyapunov exponent (Appendix B.2); participation ratio, cumulative variance explained and
autocorrelation are plotted for an oscillatory and a chaotic network of each architecture.

Writes ``fig_1b_gain_sweep.png``, ``fig_s1b_<model>_<regime>.png`` and ``regimes.csv`` to
``--out`` (default ``results/regimes``). About a minute on 2 CPU cores.

Run: ``python examples/regimes_gain_sweep.py [--gains 0.5 1 1.5 2 3 4] [--seed 0]``
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch

from cordsneuro._atomic import atomic_path
from cordsneuro.analyses.regimes import gain_sweep
from cordsneuro.models.recurrent import FullRNN, table_s1
from cordsneuro.plotting import plot_gain_sweep, plot_regime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gains", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/regimes"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    factories = {
        "FullRNN": lambda g: FullRNN(512, 1, 1, gain=g, seed=args.seed),
        "ConvRNN": lambda g: table_s1(512, "conv", gain=g, seed=args.seed),
    }
    sweeps = {name: gain_sweep(f, args.gains, seed=args.seed) for name, f in factories.items()}

    rows = []
    print(f"{'model':<8} {'gain':>5} {'regime':<12} {'λ·τ':>8} {'PR':>6} {'fluct.':>8}")
    for name, reports in sweeps.items():
        for g, r in zip(args.gains, reports):
            print(
                f"{name:<8} {g:>5.2f} {r.label:<12} {r.lyapunov_tau:>+8.3f} "
                f"{r.participation_ratio:>6.2f} {r.fluctuation:>8.3f}"
            )
            rows.append(
                {
                    "model": name,
                    "gain": g,
                    "regime": r.label,
                    "lyapunov_tau": r.lyapunov_tau,
                    "participation_ratio": r.participation_ratio,
                    "fluctuation": r.fluctuation,
                }
            )
    with atomic_path(args.out / "regimes.csv") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    plot_gain_sweep(sweeps, args.gains).savefig(args.out / "fig_1b_gain_sweep.png", dpi=120)
    for name, reports in sweeps.items():
        for regime in ("oscillatory", "chaotic"):
            found = [(g, r) for g, r in zip(args.gains, reports) if r.label == regime]
            if found:
                g, r = found[0]
                fig = plot_regime(
                    r, title=f"{name}, g = {g:g}: {regime} (λ·τ = {r.lyapunov_tau:+.3f})"
                )
                fig.savefig(args.out / f"fig_s1b_{name}_{regime}.png", dpi=120)
    print(f"figures and table written to {args.out}/")


if __name__ == "__main__":
    main()
