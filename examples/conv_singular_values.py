"""Fig. S1A: convolution kernels, their flattened weight matrices and singular values.

Appendix B.1: a single-channel convolution with an H_K × W_K kernel on an H_X × W_X input (no
padding, stride 1) is the (H_X − H_K + 1)(W_X − W_K + 1) × H_X W_X matrix ``K_flat`` of eq. 2.
The matrices are built exactly by :func:`cordsneuro.analyses.conv_matrix` (scattering the
kernel taps); for sufficiently large kernels the singular values decay smoothly, as for
full-rank matrices.

Writes ``fig_s1a_singular_values.png`` to ``--out`` (default ``results/spectra``). Seconds.

Run: ``python examples/conv_singular_values.py [--size 16] [--kernels 2 3 5 7]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cordsneuro.analyses.spectra import conv_matrix, singular_values
from cordsneuro.plotting import plot_singular_values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=16, help="input side H_X = W_X")
    parser.add_argument("--kernels", type=int, nargs="+", default=[2, 3, 5, 7])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/spectra"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(args.seed)
    kernels, matrices, svs = [], [], []
    for k in args.kernels:
        kernel = torch.randn(1, 1, k, k, generator=g, dtype=torch.float64)
        matrix = conv_matrix(kernel, (args.size, args.size))  # eq. 1–2: no padding, stride 1
        sv = singular_values(matrix)
        kernels.append(kernel)
        matrices.append(matrix)
        svs.append(sv)
        print(
            f"kernel {k}x{k}: K_flat {tuple(matrix.shape)}, singular values "
            f"{sv[0]:.3f} … {sv[-1]:.3g} (condition number {sv[0] / sv[-1]:.3g})"
        )
    fig = plot_singular_values(kernels, matrices, svs)
    fig.savefig(args.out / "fig_s1a_singular_values.png", dpi=120)
    print(f"figure written to {args.out}/fig_s1a_singular_values.png")


if __name__ == "__main__":
    main()
