"""Checks of the time-resolved neural predictivity (Appendix E) against known answers.

1. ``related``: recordings that are a noisy linear map of the model's time-resolved activity
   (:func:`~cordsneuro.analyses.neural.planted_neural_data`) must score far above their
   temporal shuffles.
2. ``null``: recordings with the same time-averaged responses but time courses unrelated to
   the model's must not be called different from their shuffles; repeated ``--repeats`` times
   with fresh data, the fraction of repeats with p > 0.05 is printed for Appendix E's paired
   t-test and for the exchangeable test.
3. ``lag``: recordings made from the model's activity delayed by a planted lag (ms) must give
   that lag back from :func:`~cordsneuro.analyses.neural.search_lag`.

The model activity is :func:`~cordsneuro.analyses.neural.synthetic_model_activity`. One JSON
line per check.

    python examples/neural_ground_truth.py [--repeats 30] [--checks related null lag]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import xarray as xr

from cordsneuro.analyses.neural import (
    bin_model_activity,
    neural_assembly,
    planted_neural_data,
    search_lag,
    synthetic_model_activity,
    temporal_predictivity,
)


def arrays(x: np.ndarray, y: np.ndarray, bin_ms: float = 10.0):
    """Model DataArray and neural assembly for ``(images, bins, ·)`` arrays."""
    ids = [f"im{i}" for i in range(x.shape[0])]
    starts = bin_ms * np.arange(x.shape[1])
    model = xr.DataArray(
        x,
        dims=("presentation", "time_bin", "neuroid"),
        coords={
            "image_id": ("presentation", ids),
            "time_bin_start": ("time_bin", starts),
            "time_bin_end": ("time_bin", starts + bin_ms),
        },
    )
    return model, neural_assembly(y.transpose(0, 2, 1), ids, "IT", starts, starts + bin_ms)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--bins", type=int, default=20)
    p.add_argument("--units", type=int, default=1000)
    p.add_argument("--neuroids", type=int, default=40)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--null-images", type=int, default=160)
    p.add_argument("--null-bins", type=int, default=10)
    p.add_argument("--checks", nargs="+", default=["related", "null", "lag"])
    args = p.parse_args()
    if "related" in args.checks:
        related(args)
    if "null" in args.checks:
        null(args)
    if "lag" in args.checks:
        lag()


def related(args: argparse.Namespace) -> None:

    x = synthetic_model_activity(args.images, args.bins, args.units, seed=0)
    model, neural = arrays(x, planted_neural_data(x, args.neuroids, noise=1.0, seed=1))
    row = temporal_predictivity(model, neural, n_pca=100, progress=False).table()[0]
    print(json.dumps({"check": "related", **row}), flush=True)


def null(args: argparse.Namespace) -> None:
    paired, exchangeable = [], []
    for repeat in range(args.repeats):
        x = synthetic_model_activity(args.null_images, args.null_bins, 200, seed=100 + repeat)
        y = planted_neural_data(x, 20, related=False, seed=200 + repeat)
        model, neural = arrays(x, y)
        pair = temporal_predictivity(model, neural, n_pca=40, seed=repeat, progress=False).pairs[0]
        paired.append(pair.p_paired)
        exchangeable.append(pair.p_exchangeable)
    print(
        json.dumps(
            {
                "check": "null",
                "repeats": args.repeats,
                "fraction_p_above_0.05_paired": float(np.mean(np.array(paired) > 0.05)),
                "fraction_p_above_0.05_exchangeable": float(np.mean(np.array(exchangeable) > 0.05)),
            }
        ),
        flush=True,
    )


def lag() -> None:
    # 2-ms model steps over 300 ms; 10-ms neural bins from 100 to 300 ms
    steps = synthetic_model_activity(60, 150, 100, seed=3)
    t = 2.0 * np.arange(1, 151)
    model = xr.DataArray(
        steps,
        dims=("presentation", "time_bin", "neuroid"),
        coords={"time_bin_start": ("time_bin", t - 2), "time_bin_end": ("time_bin", t)},
    )
    starts = np.arange(100.0, 300.0, 10.0)
    ids = [f"im{i}" for i in range(60)]
    for planted in (0.0, 10.0, 30.0, 50.0):
        truth = bin_model_activity(model, starts, starts + 10, lag_ms=planted, image_ids=ids)
        y = planted_neural_data(truth.values.transpose(0, 2, 1), 20, noise=0.5, seed=4)
        neural = neural_assembly(y.transpose(0, 2, 1), ids, "IT", starts, starts + 10)
        found = search_lag(model, neural, np.arange(0.0, 81.0, 10.0))
        print(json.dumps({"check": "lag", "planted_ms": planted, "found_ms": found.lag_ms}))


if __name__ == "__main__":
    main()
