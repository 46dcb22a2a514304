"""Time of a pairwise shape-distance matrix (Appendix B.3's Procrustes distance matrices).

K networks of N neurons recorded on m samples (trials × time steps): our
``pairwise_distances`` (each network whitened once, pairs in row blocks on every core) against
the plain loop of ``LinearMetric(alpha).fit_score`` over pairs (timed on ``--loop-pairs`` pairs
and scaled to all K(K − 1)/2). Prints one JSON line per measurement and checks that the two
agree on the pairs both computed.

    python benchmarks/similarity_pairwise.py [--networks 100] [--neurons 125] [--samples 1000]

Timings depend on the machine's load; on a shared machine take them as indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--neurons", type=int, default=125)
    parser.add_argument("--samples", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--alpha", type=float, nargs="+", default=[1.0, 0.0])
    parser.add_argument("--loop-pairs", type=int, default=100)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, -1])
    args = parser.parse_args()

    from cordsneuro.analyses.similarity import LinearMetric, pairwise_distances

    rng = np.random.default_rng(0)
    K, N = args.networks, args.neurons
    pairs = [(i, j) for i in range(K) for j in range(i + 1, K)]
    for m in args.samples:
        latent = rng.standard_normal((m, 10))
        nets = [np.tanh(latent @ rng.standard_normal((10, N)) + 0.1 * rng.standard_normal((m, N)))
                for _ in range(K)]  # fmt: skip
        for alpha in args.alpha:
            for jobs in args.jobs:
                start = time.perf_counter()
                D = pairwise_distances(nets, alpha, n_jobs=jobs, progress=False)
                seconds = time.perf_counter() - start
                print(json.dumps({
                    "method": "pairwise_distances", "networks": K, "neurons": N, "samples": m,
                    "alpha": alpha, "n_jobs": jobs, "cores": os.cpu_count(),
                    "seconds": round(seconds, 3),
                }), flush=True)  # fmt: skip
            sample = [pairs[k] for k in rng.choice(len(pairs), args.loop_pairs, replace=False)]
            metric = LinearMetric(alpha)
            start = time.perf_counter()
            loop = [metric.fit_score(nets[i], nets[j]) for i, j in sample]
            seconds = time.perf_counter() - start
            error = max(abs(D[i, j] - d) for (i, j), d in zip(sample, loop))
            print(json.dumps({
                "method": "LinearMetric.fit_score loop", "networks": K, "neurons": N,
                "samples": m, "alpha": alpha, "pairs_timed": len(sample),
                "seconds_all_pairs": round(seconds * len(pairs) / len(sample), 3),
                "max_abs_difference": float(error),
            }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
