"""Table S1 (parameter-matched architectures) and the normalised singular-value distributions of
the untrained recurrent weights (the layout of Fig. S2B).

    python examples/table_s1.py [--out figures/]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from cordsneuro.models.recurrent import TABLE_S1, recurrent_parameter_count, table_s1  # noqa: E402

NAMES = {"conv": "ConvRNN", "lowrank": "LowRankRNN", "sparse": "SparseRNN", "full": "FullRNN"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    print(f"{'N':>4} | {'ConvRNN':>8} {'LowRank':>8} {'Sparse':>8} | published")
    fig, axes = plt.subplots(1, len(TABLE_S1), figsize=(12, 3.2), sharey=True)
    for ax, n in zip(axes, sorted(TABLE_S1)):
        counts = []
        for arch in ("conv", "lowrank", "sparse", "full"):
            model = table_s1(n, arch, seed=args.seed, gain=1.0)
            if arch != "full":
                counts.append(recurrent_parameter_count(model))
            s = torch.linalg.svdvals(model.recurrent_matrix().detach().double())
            ax.plot(torch.arange(1, n + 1) / n, (s / s[0]).numpy(), label=NAMES[arch])
        published = tuple(TABLE_S1[n][a]["count"] for a in ("conv", "lowrank", "sparse"))
        print(f"{n:>4} | {counts[0]:>8} {counts[1]:>8} {counts[2]:>8} | {published}")
        ax.set_title(f"N = {n}")
        ax.set_xlabel("rank / N")
    axes[0].set_ylabel("normalised singular value")
    axes[-1].legend()
    fig.tight_layout()
    path = args.out / "table_s1_singular_values.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
