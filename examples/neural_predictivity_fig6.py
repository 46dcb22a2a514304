"""Fig. 6B–C at a small size: time-resolved neural predictivity with the temporal-shuffle
control (Section 5, Appendix E), on recordings with a known answer.

A CordsNet (R4 on 32 × 32 images by default; random weights unless --weights) sees each of
N_i images (scikit-learn's handwritten digits, upsampled) for 100 ms from its spontaneous
state, then a blank screen, 250 ms in all; its last two areas are recorded at every 2 ms step. Without the V4/IT recordings of
the paper at hand, three synthetic "regions" of 40 neuroids each are made in 20 bins of 10 ms
from 50 ms after onset (:func:`~cordsneuro.analyses.neural.planted_neural_data`):

* ``V4``: a noisy linear map of the second-to-last area, delayed by 20 ms;
* ``IT``: a noisy linear map of the last area, delayed by 30 ms;
* ``control``: IT's time-averaged responses with time courses unrelated to the model.

The lag search should find 20 and 30 ms, V4 and IT should score far above their shuffles, and
the control should not. Give --neural (a NetCDF assembly) and --stimuli (an .npz with
``images`` (N, C, H, W) as the model expects them and ``image_ids``) to score real data instead.

    python examples/neural_predictivity_fig6.py --out results/fig6
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch.nn import functional as F

from cordsneuro.analyses.neural import (
    bin_model_activity,
    load_assembly,
    neural_assembly,
    planted_neural_data,
    stimulus_protocol,
    temporal_predictivity,
)
from cordsneuro.models.cordsnet import cordsnet_r2, cordsnet_r4, cordsnet_r6, cordsnet_r8
from cordsneuro.plotting import plot_neural_predictivity, plot_neural_timecourses

BUILDERS = {2: cordsnet_r2, 4: cordsnet_r4, 6: cordsnet_r6, 8: cordsnet_r8}


def digit_images(n: int, size: int) -> torch.Tensor:
    """``n`` handwritten digits (scikit-learn), upsampled to ``size``², 3 channels, zero mean
    and unit variance."""
    from sklearn.datasets import load_digits

    digits = torch.tensor(load_digits().images[:n], dtype=torch.float32)[:, None]
    x = F.interpolate(digits, size=(size, size), mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    return (x - x.mean()) / x.std()


def record(model, images: torch.Tensor, areas: list[int], duration_ms: float, image_ms: float,
           batch: int):  # fmt: skip
    """Full-resolution activity of ``areas`` (the image for ``image_ms``, then blank):
    ``{area: DataArray}`` (dims time_bin, presentation, neuroid)."""
    parts = {a: [] for a in areas}
    protocol = stimulus_protocol(duration_ms, image_ms, model.dt)
    for first in range(0, len(images), batch):
        with torch.no_grad():
            traj = model.simulate(
                images[first : first + batch], protocol, record_areas=areas, record_outputs=False
            )
        for a in areas:
            parts[a].append(traj.to_xarray([a]))
    return {f"area {a}": xr.concat(p, dim="presentation") for a, p in parts.items()}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--depth", type=int, default=4, choices=sorted(BUILDERS))
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--weights", default=None, help="None (random), 'imagenet' or a saved model")
    p.add_argument("--images", type=int, default=200, help="N_i (synthetic data)")
    p.add_argument("--image-ms", type=float, default=100.0, help="stimulus, then blank (ms)")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--splits", type=int, default=10)
    p.add_argument("--neural", type=Path, help="NetCDF assembly to score instead")
    p.add_argument("--stimuli", type=Path, help=".npz with images and image_ids (with --neural)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("results/fig6"))
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    kwargs = {} if args.weights == "imagenet" else {"image_size": args.image_size}
    model = BUILDERS[args.depth](weights=args.weights, **kwargs).eval()
    areas = [args.depth - 2, args.depth - 1]
    if args.neural is not None:
        neural = load_assembly(args.neural)
        stimuli = np.load(args.stimuli)
        images = torch.as_tensor(stimuli["images"], dtype=torch.float32)
        ids = [str(i) for i in stimuli["image_ids"]]
    else:
        images = digit_images(args.images, args.image_size)
        ids = [f"digit{i}" for i in range(args.images)]
        neural = None
    starts = 50.0 + 10.0 * np.arange(20)  # N_t = 20 bins of 10 ms
    ends = starts + 10.0
    if neural is not None:
        starts, ends = neural["time_bin_start"].values, neural["time_bin_end"].values
    activity = record(model, images, areas, float(ends.max()), args.image_ms, batch=50)
    for da in activity.values():
        da.coords["image_id"] = ("presentation", ids)
    if neural is None:
        v4, it = (activity[f"area {a}"] for a in areas)
        binned = {
            "V4": bin_model_activity(v4, starts, ends, lag_ms=20.0).values,
            "IT": bin_model_activity(it, starts, ends, lag_ms=30.0).values,
        }
        regions = {
            "V4": planted_neural_data(binned["V4"].transpose(0, 2, 1), 40, seed=1),
            "IT": planted_neural_data(binned["IT"].transpose(0, 2, 1), 40, seed=2),
            "control": planted_neural_data(
                binned["IT"].transpose(0, 2, 1), 40, related=False, seed=3
            ),
        }
        y = np.concatenate([r for r in regions.values()], axis=2)
        labels = np.repeat(list(regions), 40)
        neural = neural_assembly(y.transpose(0, 2, 1), ids, labels, starts, ends)
    result = temporal_predictivity(
        activity,
        neural,
        lag_ms="search",
        lag_search_ms=np.arange(0.0, 51.0, 10.0),
        n_trials=args.trials,
        n_splits=args.splits,
        seed=args.seed,
    )
    print(result.format_table())
    print("lags (ms):", result.lags_ms)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"table: {result.to_csv(args.out / 'fig6_scores.csv')}")
    plot_neural_timecourses(result.timecourses, result.bin_centres_ms).savefig(
        args.out / "fig6b_timecourses.png", dpi=150
    )
    plot_neural_predictivity(result).savefig(args.out / "fig6c_scores.png", dpi=150)
    print(f"figures: {args.out / 'fig6b_timecourses.png'}, {args.out / 'fig6c_scores.png'}")


if __name__ == "__main__":
    main()
