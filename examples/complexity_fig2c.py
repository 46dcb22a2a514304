"""Fig. 2C: multiply-accumulates (MACs) against parameters of every classification model in
torchvision.models and of CordsNet-R2…R8 simulated for 300 Euler steps (Section 3).

    python examples/complexity_fig2c.py [--steps 300] [--image-size 224] [--out figures/]

Counts run on the meta device (no weights, no arithmetic): about a minute on 2 CPU cores.
Writes ``complexity_fig2c.png`` and ``complexity_fig2c.csv`` into ``--out`` and prints the
table, the agreement with torchvision's recorded operation counts, the paper's statements and
the per-layer breakdown of one CordsNet.
"""

import argparse
from pathlib import Path

import torch

from cordsneuro.analyses.complexity import (
    complexity_table,
    cordsnet_layers,
    format_table,
    summarize,
    write_csv,
)
from cordsneuro.plotting import plot_complexity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="CordsNet Euler steps (eq. 4)")
    parser.add_argument("--image-size", type=int, default=224, help="CordsNet input size")
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument(
        "--breakdown", type=int, default=2, choices=(2, 4, 6, 8), help="CordsNet depth to detail"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # meta tensors: nothing to parallelise

    rows = complexity_table(args.steps, args.image_size, progress=True)
    print(format_table(rows))
    print()
    print(summarize(rows))

    layers = cordsnet_layers(args.breakdown, args.steps, args.image_size)
    print(f"\nCordsNet-R{args.breakdown}, {args.steps} steps at {args.image_size}²: per layer")
    print(f"{'layer':<24} {'MMACs/eval':>11} {'params':>9} {'fast evals':>10} {'published':>10}")
    for layer in layers:
        print(
            f"{layer.name:<24} {layer.macs / 1e6:>11.2f} {layer.params:>9} "
            f"{layer.fast:>10} {layer.published:>10}"
        )

    csv_path = write_csv(rows, args.out / "complexity_fig2c.csv")
    fig = plot_complexity(rows)
    png = args.out / "complexity_fig2c.png"
    fig.savefig(png, dpi=150)
    print(f"\nwrote {png} and {csv_path}")


if __name__ == "__main__":
    main()
