"""Top-20 eigenvalues of a random convolution: the published recipe vs ARPACK vs ours.

The operator (the "Done when" of issue 4): a random 32-channel 3 × 3 convolution with zero
padding 1 on a 14 × 14 grid, n = 32·14·14 = 6,272 neurons. Ground truth: LAPACK ``eigvals`` of
its exact dense matrix (float64).

1. **published recipe** (the authors' ``analysis/compute_eigenvalues.py``, Fig. 4A, re-written
   here from its description, not copied): 300 Arnoldi steps in a Python loop with the float32
   ``nn.Conv2d`` as the operator (classical Gram-Schmidt against every previous vector), then
   5,000 unshifted QR iterations ``A ← R Q`` on the 300 × 300 Hessenberg matrix, then
   ``eigvals`` of the result.
2. **ARPACK through a LinearOperator**: ``scipy.sparse.linalg.eigs(LinearOperator(...), k=20)``
   with defaults and a float64 ``conv2d`` matvec, what a careful user writes by hand.
3. **ours**: :func:`cordsneuro.analyses.top_eigenvalues` on :func:`conv_operator`
   (implicitly restarted Arnoldi, ARPACK, float64, Krylov space ``max(3k, 40)``).

Error = the largest distance from a reported eigenvalue to the nearest dense eigenvalue,
relative to the spectral radius; also whether the 20 reported eigenvalues are the true top 20.

Run: ``python benchmarks/spectra_arnoldi.py [--threads 2] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from cordsneuro.analyses.spectra import conv_matrix, conv_operator, top_eigenvalues

K = 20


def published_recipe(
    conv: nn.Conv2d,
    shape: tuple[int, int, int],
    iterations: int = 300,
    qr_iterations: int = 5000,
    seed: int = 0,
) -> np.ndarray:
    """Arnoldi (Python loop, float32) + unshifted QR iterations, as described in the paper's
    toolkit."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.zeros(iterations + 1, 1, *shape)
    start = torch.rand(1, *shape, generator=g)
    basis[0] = start / start.norm()
    hess = torch.zeros(iterations + 1, iterations)
    with torch.no_grad():
        for j in range(iterations):
            w = conv(basis[j])
            for i in range(j + 1):
                hess[i, j] = (basis[i] * w).sum()
                w = w - hess[i, j] * basis[i]
            hess[j + 1, j] = w.norm()
            basis[j + 1] = w / hess[j + 1, j]
        a = hess[:iterations, :iterations].clone()
        for _ in range(qr_iterations):
            q, r = torch.linalg.qr(a)
            a = r @ q
        return torch.linalg.eigvals(a).numpy().astype(np.complex128)


def top_by_magnitude(values: np.ndarray, k: int = K) -> np.ndarray:
    return values[np.argsort(-np.abs(values))][:k]


def report(name: str, seconds: float, values: np.ndarray, truth: np.ndarray) -> None:
    values = top_by_magnitude(values)
    radius = np.abs(truth).max()
    error = max(np.min(np.abs(v - truth)) for v in values) / radius
    top = top_by_magnitude(truth)
    same_set = np.allclose(np.sort(np.abs(values)), np.sort(np.abs(top)), rtol=1e-6, atol=0)
    print(
        f"{name:<34} {seconds:>9.2f} s   max rel. error {error:9.2e}   "
        f"true top-{K}: {'yes' if same_set else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--size", type=int, default=14)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    c, s = args.channels, args.size
    torch.manual_seed(args.seed)
    conv = nn.Conv2d(c, c, 3, padding=1, bias=False)  # PyTorch's default initialisation
    n = c * s * s
    print(
        f"random {c}-channel 3x3 convolution on {s}x{s} (zero padding 1): n = {n}, "
        f"top-{K} eigenvalues by magnitude, {args.threads} thread(s)"
    )

    t = time.perf_counter()
    dense = conv_matrix(conv.weight.detach().double(), (s, s), padding=1).numpy()
    truth = np.linalg.eigvals(dense)
    print(f"{'dense LAPACK eigvals (truth)':<34} {time.perf_counter() - t:>9.2f} s")

    t = time.perf_counter()
    values = published_recipe(conv, (c, s, s), seed=args.seed)
    report("published: 300 Arnoldi + 5000 QR", time.perf_counter() - t, values, truth)

    from scipy.sparse.linalg import LinearOperator, eigs

    weight = conv.weight.detach().double()

    def matvec(x: np.ndarray) -> np.ndarray:
        grid = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).reshape(1, c, s, s)
        return torch.nn.functional.conv2d(grid, weight, padding=1).reshape(-1).numpy()

    t = time.perf_counter()
    values = eigs(
        LinearOperator((n, n), matvec=matvec, dtype=np.float64), k=K, return_eigenvectors=False
    )
    report("ARPACK via LinearOperator", time.perf_counter() - t, values, truth)

    op = conv_operator(conv.weight, (s, s), padding=1)
    t = time.perf_counter()
    spec = top_eigenvalues(op, K, method="arpack")
    report(
        f"ours (top_eigenvalues, {spec.n_matvec} products)",
        time.perf_counter() - t,
        spec.values,
        truth,
    )


if __name__ == "__main__":
    main()
