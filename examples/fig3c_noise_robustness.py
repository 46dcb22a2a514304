"""Fig. 3C–D at a CPU size: white noise on every pixel of the input at every time step;
mean-squared deviation of the output layer from the noiseless run, and accuracy over 5 noise
levels, CordsNet against its feedforward CNN.

The trained digit networks come from ``examples/train_digits_frontend.py`` (``--models``);
the images are the held-out digits. CordsNet sees each image for 200 ms from its spontaneous
state (noise redrawn at each 2 ms step); the CNN sees one independent noisy copy per step.

    python examples/fig3c_noise_robustness.py --out results/fig3c
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from cordsneuro.analyses.robustness import NOISE_LEVELS, noise_robustness
from cordsneuro.plotting import plot_noise_accuracy

sys.path.insert(0, str(Path(__file__).parent))
from train_digits_frontend import (  # noqa: E402
    N_TRAIN,
    add_network_arguments,
    digits,
    load_digit_networks,
    network_paths,
)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_network_arguments(p)
    p.add_argument("--images", type=int, default=200, help="held-out digits used")
    p.add_argument("--levels", type=float, nargs="+", default=list(NOISE_LEVELS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/fig3c")
    args = p.parse_args()
    torch.set_num_threads(1)
    cordsnet_dir, cnn_dir, _ = network_paths(args)
    cordsnet, cnn, _, mean, std, size = load_digit_networks(cordsnet_dir, cnn_dir, None)
    print(f"CordsNet {cordsnet_dir}, CNN {cnn_dir}")
    x, y = digits(size)
    x, y = (x[N_TRAIN:][: args.images] - mean) / std, y[N_TRAIN:][: args.images]
    res = noise_robustness(cordsnet, cnn, x, y, levels=args.levels, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_noise_accuracy(res).savefig(out / "fig3cd_noise.png", dpi=150)
    print(f"{res.n_images} held-out digits; output-layer MSD and accuracy")
    print(
        f"{'noise std':>10s}{'MSD CordsNet':>14s}{'MSD CNN':>12s}{'CNN/CordsNet':>14s}{'acc CordsNet':>14s}{'acc CNN':>10s}"
    )
    for i, s in enumerate(res.levels):
        print(
            f"{s:10.2f}{res.deviation['CordsNet'][i]:14.3e}{res.deviation['CNN'][i]:12.3e}"
            f"{res.ratio()[i]:14.1f}{res.accuracy['CordsNet'][i]:14.3f}{res.accuracy['CNN'][i]:10.3f}"
        )
    rel = {k: v.tolist() for k, v in res.relative_deviation.items()}
    print("relative MSD (÷ mean square of the noiseless logits):", json.dumps(rel))
    print(json.dumps({"levels": res.levels.tolist(), "ratio": res.ratio().tolist()}))
    print(f"wrote {out / 'fig3cd_noise.png'}")


if __name__ == "__main__":
    main()
