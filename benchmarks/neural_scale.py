"""Time-resolved neural predictivity at the paper's scale (Appendix E): wall time and peak memory.

The paper's V4/IT comparison has N_t = 20 time bins, N_i = 640 images and N_2 = 168 neuroids;
CordsNet-R8's second-to-last area holds N_1 = 25,088 units at 224². The score runs 10 splits ×
20 trials × 2 conditions (unshuffled, shuffled) plus the time-averaged score. The model activity
here is synthetic (:func:`cordsneuro.analyses.neural.synthetic_model_activity`: a few temporal
modes mixed per image, rectified, plus noise; simulating R8 on 640 images takes hours on a CPU) and the neural data are a noisy linear map of it
(:func:`cordsneuro.analyses.neural.planted_neural_data`), so the run also shows the expected
answer: unshuffled ≫ shuffled.

Prints one JSON line per measurement. Run:
``python benchmarks/neural_scale.py [--threads 2] [--images 640] [--bins 20] [--units 25088]
[--neuroids 168] [--splits 10] [--trials 20] [--n-pca 100]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    """User + system CPU seconds of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=640)
    parser.add_argument("--bins", type=int, default=20)
    parser.add_argument("--units", type=int, default=25088)
    parser.add_argument("--neuroids", type=int, default=168)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--n-pca", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import xarray as xr

    from cordsneuro.analyses.neural import (
        neural_assembly,
        planted_neural_data,
        synthetic_model_activity,
        temporal_predictivity,
    )

    start = time.perf_counter()
    x = synthetic_model_activity(args.images, args.bins, args.units, seed=args.seed)
    y = planted_neural_data(x, args.neuroids, noise=1.0, seed=args.seed + 1)
    edges = 70.0 + 10.0 * np.arange(args.bins + 1)  # 10 ms bins from 70 ms (as MajajHong2015)
    ids = [f"image{i:04d}" for i in range(args.images)]
    model = xr.DataArray(
        x,
        dims=("presentation", "time_bin", "neuroid"),
        coords={
            "image_id": ("presentation", ids),
            "time_bin_start": ("time_bin", edges[:-1]),
            "time_bin_end": ("time_bin", edges[1:]),
        },
    )
    neural = neural_assembly(y.transpose(0, 2, 1), ids, "IT", edges[:-1], edges[1:])
    made = time.perf_counter() - start
    print(
        json.dumps(
            {
                "measure": "data",
                "model_shape": list(x.shape),
                "model_gib": round(x.nbytes / 1024**3, 3),
                "neural_shape": list(y.shape),
                "seconds": round(made, 1),
            }
        ),
        flush=True,
    )
    load_before = os.getloadavg()
    cpu_before = cpu_s()
    start = time.perf_counter()
    result = temporal_predictivity(
        model,
        neural,
        n_splits=args.splits,
        n_trials=args.trials,
        n_pca=args.n_pca,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    row = result.table()[0]
    print(result.format_table(), flush=True)
    print(
        json.dumps(
            {
                "measure": "temporal_predictivity",
                "N_t": args.bins,
                "N_i": args.images,
                "N_1": args.units,
                "N_2": args.neuroids,
                "splits": args.splits,
                "trials": args.trials,
                "n_pca": args.n_pca,
                "threads": args.threads,
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu_s() - cpu_before, 1),
                "peak_rss_gib": round(peak_gib(), 2),
                "loadavg_1min_before_after": [
                    round(load_before[0], 2),
                    round(os.getloadavg()[0], 2),
                ],
                "unshuffled": round(row["unshuffled_mean"], 4),
                "shuffled": round(row["shuffled_mean"], 4),
                "t": round(row["t"], 1),
                "p_paired": row["p_paired"],
                "p_exchangeable": row["p_exchangeable"],
                "time_averaged": round(row["time_averaged_mean"], 4),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
