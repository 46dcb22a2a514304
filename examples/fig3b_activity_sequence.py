"""Fig. 3B at a small size: CordsNet activity over an image / blank / image sequence.

CordsNet-R4 on 32 × 32 inputs (random weights, or any checkpoint in the authors' format with
--weights; CordsNet-R8 at 224 with --weights imagenet) sees two images separated by blanks,
starting from its spontaneous steady state. The figure shows the mean rate of every area and
the softmax output over time; the script also saves the recording as a NetCDF DataArray
(time_bin × presentation × neuroid).

    python examples/fig3b_activity_sequence.py --out results/fig3b
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from cordsneuro import models
from cordsneuro.models import CordsNet, Protocol, cordsnet_r8
from cordsneuro.plotting import plot_activity_sequence


def grating(size: int, channels: int, angle: float, freq: float) -> torch.Tensor:
    """A normalised sinusoidal grating ``(channels, size, size)``."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    phase = 2 * math.pi * freq * (x * math.cos(angle) + y * math.sin(angle)) / size
    return torch.sin(phase).expand(channels, size, size).clone()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--weights", default=None, help="'imagenet' (R8, 224) or a checkpoint path")
    p.add_argument("--image-ms", type=float, default=200.0)
    p.add_argument("--blank-ms", type=float, default=200.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/fig3b")
    args = p.parse_args()
    torch.manual_seed(args.seed)

    if args.weights == "imagenet":
        model = cordsnet_r8(weights="imagenet")
    elif args.weights:
        model = getattr(models, f"cordsnet_r{args.depth}")(weights=args.weights)
    else:
        model = CordsNet(args.depth, num_classes=10, image_size=args.image_size, seed=args.seed)
        with torch.no_grad():  # random weights: give the areas some spontaneous drive
            for b in model.area_bias:
                b.normal_(0.05, 0.05)
    model.eval()
    size = model.image_size[0]
    images = torch.stack(
        [
            grating(size, model.in_channels, 0.0, 4.0),
            grating(size, model.in_channels, math.pi / 3, 7.0),
        ]
    )[None]  # (1 presentation, 2 images, C, H, W)
    protocol = Protocol.sequence(2, image_ms=args.image_ms, blank_ms=args.blank_ms, lead_ms=100.0)
    with torch.no_grad():
        traj = model.simulate(images, protocol, record_areas="all")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = plot_activity_sequence(traj, protocol)
    fig.savefig(out / "fig3b_activity_sequence.png", dpi=150)
    da = traj.to_xarray(areas=[model.depth - 2, model.depth - 1])
    da.to_netcdf(out / "fig3b_last_two_areas.nc")
    mean = [float(r.mean()) for r in traj.rates]
    print(f"CordsNet-R{model.depth}, {size}², {len(traj.times)} steps of {model.dt} ms")
    print("mean rate per area:", " ".join(f"{m:.4f}" for m in mean))
    final = traj.outputs[0].softmax(-1).argmax(-1)
    print(
        "top class at the end of each epoch:",
        [int(final[t - 1]) for t in torch.tensor(protocol.steps(model.dt)).cumsum(0)],
    )
    print(f"wrote {out / 'fig3b_activity_sequence.png'} and {out / 'fig3b_last_two_areas.nc'}")


if __name__ == "__main__":
    main()
