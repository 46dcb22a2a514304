"""Spectra at CordsNet scale on CPU: time and peak memory.

Parts (each run in its own process so that its peak resident memory is its own):

* ``conv``: top-10 eigenvalues (largest magnitude) of a random 64-channel 3 × 3 recurrent
  convolution on 56 × 56 (CordsNet-R8's largest area: n = 200,704 neurons), matrix-free
  (ARPACK on ``conv2d`` products, float64), with zero padding (checked by the residuals
  ``‖K v − λ v‖``) and with circular padding (checked against the exact block-circulant FFT
  spectrum of all 200,704 eigenvalues).
* ``cordsnet``: the 10 eigenvalues of largest real part of the Jacobian of the full vector field
  (eq. 3, all areas) of a deep CordsNet with random weights at its spontaneous state, by
  Jacobian-vector products. The published initialisation has zero biases, so its spontaneous
  state is r = 0 where ReLU'(0) = 0 makes the Jacobian −I/τ; the area biases are therefore drawn
  ``U(0, 0.5)`` (``--bias``) so that the spontaneous state is active.

Run: ``python benchmarks/spectra_large.py [--threads 2] [--parts conv cordsnet]
[--depth 8] [--image-size 224]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
import torch


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_conv(args: argparse.Namespace) -> None:
    from cordsneuro.analyses.spectra import (
        circular_conv_eigenvalues,
        conv_operator,
        top_eigenvalues,
    )

    c, s = 64, 56
    g = torch.Generator().manual_seed(args.seed)
    kernel = torch.randn(c, c, 3, 3, generator=g, dtype=torch.float64) / (3 * c**0.5)
    print(f"random 64-channel 3x3 convolution on 56x56: n = {c * s * s:,}")
    for mode in ("zeros", "circular"):
        op = conv_operator(kernel, (s, s), padding=1, padding_mode=mode)
        t = time.perf_counter()
        spec = top_eigenvalues(op, 10, return_eigenvectors=True, seed=args.seed, progress=True)
        seconds = time.perf_counter() - t
        line = (
            f"  {mode:<8} padding: top-10 |λ| {np.abs(spec.values).min():.6f} … "
            f"{np.abs(spec.values).max():.6f}   {seconds:7.1f} s, {spec.n_matvec} products, "
            f"max residual {spec.residuals.max():.1e}"
        )
        if mode == "circular":
            t = time.perf_counter()
            exact = circular_conv_eigenvalues(kernel, (s, s), padding=1).numpy()
            fft_s = time.perf_counter() - t
            err = max(np.min(np.abs(v - exact)) for v in spec.values) / np.abs(exact).max()
            top_ok = np.allclose(
                np.sort(np.abs(spec.values)), np.sort(np.abs(exact[:10])), rtol=1e-9
            )
            line += (
                f"\n  circular: exact FFT spectrum (all {exact.size:,}) in {fft_s:.1f} s; "
                f"ARPACK vs FFT max rel. error {err:.1e}, true top-10: {'yes' if top_ok else 'NO'}"
            )
        print(line)
    print(f"  peak resident memory of this part: {peak_mb():,.0f} MB")


def part_cordsnet(args: argparse.Namespace) -> None:
    from cordsneuro.analyses.spectra import jacobian_eigenvalues
    from cordsneuro.models.cordsnet import CordsNet

    model = CordsNet(args.depth, 3, 10, image_size=args.image_size, seed=args.seed)
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for b in model.area_bias:
            b.copy_(args.bias * torch.rand(b.shape, generator=g))
    t = time.perf_counter()
    state = model.spontaneous_state(1)
    print(
        f"CordsNet-R{args.depth} (random weights, biases U(0, {args.bias})) on "
        f"{args.image_size}x{args.image_size}: n = {model.n_neurons:,} neurons in "
        f"{model.depth} areas; spontaneous state in {time.perf_counter() - t:.1f} s, "
        f"mean rate {float(model.flatten_state(state).mean()):.3f}"
    )
    t = time.perf_counter()
    spec = jacobian_eigenvalues(
        model,
        state,
        None,
        k=args.k,
        which="LR",
        return_eigenvectors=True,
        tol=args.tol,
        progress=True,
        seed=args.seed,
    )
    seconds = time.perf_counter() - t
    print(
        f"  top-{args.k} Jacobian eigenvalues (largest real part, 1/ms) in {seconds:.1f} s, "
        f"{spec.n_matvec} Jacobian-vector products, max residual {spec.residuals.max():.1e}:"
    )
    for v in spec.values:
        print(f"    {v.real:+.6f} {v.imag:+.6f}i   (τ·λ = {10 * v.real:+.4f} {10 * v.imag:+.4f}i)")
    print(f"  stable spontaneous state: {bool(spec.values.real.max() < 0)}")
    print(f"  peak resident memory of this part: {peak_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--parts", nargs="+", default=["conv", "cordsnet"], choices=["conv", "cordsnet"]
    )
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--bias", type=float, default=0.5)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--tol", type=float, default=0.0)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        {"conv": part_conv, "cordsnet": part_cordsnet}[args.child](args)
        return
    for part in args.parts:
        argv = [a for a in sys.argv[1:]]
        subprocess.run([sys.executable, __file__, *argv, "--child", part], check=True)


if __name__ == "__main__":
    main()
