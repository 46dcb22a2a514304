"""Fig. 3C at a small size: deviation of the output layer from its noiseless activity when
white noise is added to the input image at every time step, CordsNet vs its feedforward CNN.

CordsNet-R4 on 32 × 32 images (random weights by default; --weights takes any checkpoint in
the authors' format, 'imagenet' the published R8 at 224) sees each image for 200 ms from its
spontaneous state, with independent Gaussian noise on every pixel at every 2 ms step. The
feedforward counterpart (CordsNetCNN, eval mode) sees one independent noisy copy per step.
For each noise level the script reports the mean-squared deviation of the last area over the
last 100 ms, relative to the mean square of the noiseless activity, and plots it (Fig. 3C).

    python examples/fig3c_noise_robustness.py --out results/fig3c
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F

from cordsneuro import models
from cordsneuro.models import CordsNet, CordsNetCNN, Protocol, cordsnet_r8
from cordsneuro.plotting import plot_noise_robustness


def smooth_images(n: int, channels: int, size: int, seed: int) -> torch.Tensor:
    """Random smooth images, normalised to zero mean and unit variance."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, size // 4, size // 4, generator=g)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x - x.mean()) / x.std()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--weights", default=None)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--levels", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/fig3c")
    args = p.parse_args()

    if args.weights == "imagenet":
        model = cordsnet_r8(weights="imagenet")
    elif args.weights:
        model = getattr(models, f"cordsnet_r{args.depth}")(weights=args.weights)
    else:
        model = CordsNet(args.depth, num_classes=10, image_size=args.image_size, seed=args.seed)
    model.eval()
    cnn = CordsNetCNN(
        model.depth,
        model.in_channels,
        model.num_classes,
        image_size=model.image_size,
        seed=args.seed,
    ).eval()
    images = smooth_images(args.images, model.in_channels, model.image_size[0], args.seed)
    n_steps = Protocol.classification().steps(model.dt)[0]
    window = list(range(n_steps // 2, n_steps))  # the last 100 ms of the presentation
    last = model.depth - 1
    g = torch.Generator().manual_seed(args.seed + 1)

    with torch.no_grad():
        clean = model.simulate(images, record_areas=[last], record_steps=window).rates[0]
        clean_cnn = cnn.features(images)[-1]
        rows = {"CordsNet": [], "feedforward CNN": []}
        for sigma in args.levels:
            noisy = model.simulate(
                images,
                Protocol.classification(noise_std=sigma),
                record_areas=[last],
                record_steps=window,
                generator=g,
            ).rates[0]
            rows["CordsNet"].append(float(((noisy - clean) ** 2).mean() / (clean**2).mean()))
            dev = []
            for _ in window:  # one independent noisy image per time step
                x = images + sigma * torch.randn(images.shape, generator=g)
                dev.append(((cnn.features(x)[-1] - clean_cnn) ** 2).mean())
            rows["feedforward CNN"].append(float(torch.stack(dev).mean() / (clean_cnn**2).mean()))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_noise_robustness(args.levels, rows).savefig(out / "fig3c_noise_robustness.png", dpi=150)
    print(
        f"CordsNet-R{model.depth} at {model.image_size[0]}², {args.images} images; relative MSD of area {last}"
    )
    print(f"{'noise std':>10s}{'CordsNet':>14s}{'CNN':>14s}{'ratio':>10s}")
    for s, a, b in zip(args.levels, rows["CordsNet"], rows["feedforward CNN"]):
        print(f"{s:10.2f}{a:14.3e}{b:14.3e}{b / a:10.1f}")
    print(f"wrote {out / 'fig3c_noise_robustness.png'}")


if __name__ == "__main__":
    main()
