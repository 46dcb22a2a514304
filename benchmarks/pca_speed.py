"""PCA at scale: wall time of ``cordsneuro.analyses.PCA(k).fit`` on the two shapes that bound
what the library records, one JSON line per measurement.

* ``tall``: 10⁶ samples × 125 neurons (a 125-neuron RNN over thousands of trials), float32 in
  memory. ``solver="auto"`` takes the neuron covariance: one pass, exact. For reference the
  same data through scikit-learn's ``PCA(svd_solver="full")`` (``--sklearn``).
* ``cdm``: the case that motivated the solvers: 256 CDM trials of a 125-neuron ``FullRNN``
  (``Trajectory.rates`` of shape (256, 88, 125), 22,528 samples).
* ``wide``: 10⁴ samples × 10⁶ neurons (a CordsNet area of 10⁶ units over 10⁴ time points),
  40 GB in float32, so it is never held in memory: ``fit`` gets a function that returns the
  sample blocks one at a time (``--block`` samples each, 800 MB at 200, one buffer reused), generated on the fly
  and identical at every pass, as trials re-simulated with fixed seeds would be. A block is
  a planted rank-5 signal (latents × fixed loadings, variances 100 … 1) plus noise: a slice
  of a bank of 128 fixed Gaussian rows (variance 0.01 along each of those directions), so a
  block costs one rank-5 product to make. ``solver="auto"`` takes the randomized SVD, ``2 q + 2`` passes; the
  line reports the time spent generating the blocks (measured by one pass without PCA) and
  how well the fit recovers the planted subspace (smallest cosine of the principal angles).

    python benchmarks/pca_speed.py [--cases tall cdm wide] [--threads 2] [--power-iter 0 1 2]

Timings depend on the machine's load; on a shared machine take them as indicative.
"""

from __future__ import annotations

import argparse
import json
import time


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def planted(n_samples: int, n_neurons: int, rank: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    loading = torch.linalg.qr(torch.randn(n_neurons, rank, generator=g))[0].T.contiguous()
    scales = torch.logspace(1, 0, rank)
    return g, loading, scales


def tall(args) -> None:
    import torch

    from cordsneuro.analyses import PCA

    n, m, k = args.tall_samples, 125, args.k
    g, loading, scales = planted(n, m, 5)
    data = torch.randn(n, 5, generator=g) * scales @ loading + 0.1 * torch.randn(n, m, generator=g)
    pca, seconds = timed(lambda: PCA(k).fit(data))
    line = {"case": "tall", "samples": n, "neurons": m, "k": k, "solver": pca.solver_,
            "seconds": round(seconds, 2), "threads": args.threads}  # fmt: skip
    if args.sklearn:
        from sklearn.decomposition import PCA as SklearnPCA

        ref, ref_seconds = timed(lambda: SklearnPCA(k, svd_solver="full").fit(data.numpy()))
        line["sklearn_full_seconds"] = round(ref_seconds, 2)
        line["max_difference_planted_components"] = float(  # the noise ones are degenerate
            abs(pca.components_[:5].numpy() - ref.components_[:5]).max()
        )
    print(json.dumps(line), flush=True)


def cdm(args) -> None:
    import torch

    from cordsneuro import FullRNN, tasks
    from cordsneuro.analyses import PCA

    model = FullRNN(125, 4, 2, seed=0, gain=1.5)
    batch = tasks.make_batch("CDM", 256, seed=0)
    with torch.no_grad():
        rates = model(batch.inputs).rates
    runs = [timed(lambda: PCA(10).fit(rates)) for _ in range(3)]
    pca, seconds = runs[0][0], min(s for _, s in runs)
    print(json.dumps({"case": "cdm", "rates_shape": list(rates.shape), "k": 10,
                      "solver": pca.solver_, "best_of_3_seconds": round(seconds, 3),
                      "threads": args.threads}), flush=True)  # fmt: skip


def wide(args) -> None:
    import torch

    from cordsneuro.analyses import PCA

    n, m, k, block, rank = args.wide_samples, args.wide_neurons, args.k, args.block, 5
    g, loading, scales = planted(n, m, rank, seed=1)
    bank_rows = 128 if block <= 128 else block
    bank = torch.randn(bank_rows, m, generator=g) * (0.1 * (bank_rows / m) ** 0.5)
    latents = torch.randn(n, rank, generator=g) * scales  # signal ≫ noise

    buffer = torch.empty(block, m)  # reused: fit consumes a block before asking for the next

    def blocks():
        for start in range(0, n, block):
            stop = min(start + block, n)
            offset = start % (bank_rows - block + 1)
            out = buffer[: stop - start]
            yield torch.addmm(bank[offset : offset + stop - start], latents[start:stop], loading,
                              out=out)  # fmt: skip

    _, generation = timed(lambda: sum(x.shape[0] for x in blocks()))
    for q in args.power_iter:
        pca, seconds = timed(lambda q=q: PCA(k, n_power_iter=q).fit(blocks))
        angles = torch.linalg.svdvals(pca.components_[:rank].float() @ loading.T)
        passes = 2 * q + 2
        print(json.dumps({"case": "wide", "samples": n, "neurons": m, "k": k,
                          "solver": pca.solver_, "n_power_iter": q, "passes": passes,
                          "block_samples": block, "seconds": round(seconds, 1),
                          "of_which_generating_blocks": round(passes * generation, 1),
                          "planted_subspace_min_cosine": round(float(angles.min()), 6),
                          "threads": args.threads}), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="+", default=["tall", "cdm", "wide"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=10, help="components")
    parser.add_argument("--tall-samples", type=int, default=10**6)
    parser.add_argument("--wide-samples", type=int, default=10**4)
    parser.add_argument("--wide-neurons", type=int, default=10**6)
    parser.add_argument("--block", type=int, default=200, help="samples per block (wide)")
    parser.add_argument("--power-iter", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sklearn", action="store_true", help="also time scikit-learn (tall)")
    args = parser.parse_args()

    import torch

    from cordsneuro.analyses import PCA

    torch.set_num_threads(args.threads)
    PCA(2).fit(torch.randn(100, 20))  # load the linear-algebra libraries before timing
    for case in args.cases:
        {"tall": tall, "cdm": cdm, "wide": wide}[case](args)


if __name__ == "__main__":
    main()
