"""Fig. 3C–D at a CPU size: white noise on every pixel of the input at every time step;
mean-squared deviation of the output layer from the noiseless run, and accuracy over 5 noise
levels, CordsNet against its feedforward CNN.

The trained digit networks are the vision pipeline's (``examples/vision_training_digits.py``)
or those of ``examples/train_digits_frontend.py``; the images are the 360 held-out digits of
the pipeline's split (never trained on). CordsNet sees each image for 200 ms from its
spontaneous state (noise redrawn at each 2 ms step); the CNN sees one independent noisy copy
per step. The deviation is measured per step over the last ``--window-ms`` of the
presentation and averaged over ``--repeats`` noise realisations
(``cordsneuro.analyses.noise_robustness``). Noise std is in units of the normalised input.

Besides the total deviation (Fig. 3C), the script prints its two parts: the squared mean
shift of the output (the rectifiers of eq. 9 turn part of the noise into a constant offset,
which no temporal averaging removes) and the fluctuation about it (what the continuous-time
dynamics filter).

    python examples/fig3c_noise_robustness.py --out results/fig3c
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from cordsneuro._atomic import atomic_path
from cordsneuro.analyses.robustness import NOISE_LEVELS, noise_robustness
from cordsneuro.plotting import plot_noise_accuracy

sys.path.insert(0, str(Path(__file__).parent))
from train_digits_frontend import (  # noqa: E402
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
    p.add_argument("--images", type=int, default=360, help="held-out digits used")
    p.add_argument("--window-ms", type=float, default=100.0, help="final window measured (ms)")
    p.add_argument("--repeats", type=int, default=2, help="noise realisations per image")
    p.add_argument("--levels", type=float, nargs="+", default=list(NOISE_LEVELS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/fig3c")
    args = p.parse_args()
    torch.set_num_threads(1)
    cordsnet_dir, cnn_dir, _ = network_paths(args)
    cordsnet, cnn, _, mean, std, size = load_digit_networks(cordsnet_dir, cnn_dir, None)
    print(f"CordsNet {cordsnet_dir}, CNN {cnn_dir}")
    x, y = digits("test", size)
    x, y = (x[: args.images] - mean) / std, y[: args.images]
    res = noise_robustness(
        cordsnet, cnn, x, y, levels=args.levels, seed=args.seed, window_ms=args.window_ms,
        repeats=args.repeats,
    )  # fmt: skip
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
    print("split: squared mean shift (MS) and fluctuation (FL) of the output, CNN/CordsNet ratios")
    print(f"{'noise std':>10s}{'MS CordsNet':>13s}{'MS CNN':>11s}{'MS ratio':>10s}"
          f"{'FL CordsNet':>13s}{'FL CNN':>11s}{'FL ratio':>10s}")  # fmt: skip
    ms, fl = res.ratio("mean_shift"), res.ratio("fluctuation")
    for i, s in enumerate(res.levels):
        print(
            f"{s:10.2f}{res.mean_shift['CordsNet'][i]:13.3e}{res.mean_shift['CNN'][i]:11.3e}"
            f"{ms[i]:10.1f}{res.fluctuation('CordsNet')[i]:13.3e}"
            f"{res.fluctuation('CNN')[i]:11.3e}{fl[i]:10.1f}"
        )
    rel = {k: v.tolist() for k, v in res.relative_deviation.items()}
    print("relative MSD (÷ mean square of the noiseless logits):", json.dumps(rel))
    summary = {"levels": res.levels.tolist(), "ratio": res.ratio().tolist(),
               "ratio_mean_shift": ms.tolist(), "ratio_fluctuation": fl.tolist()}  # fmt: skip
    print(json.dumps(summary))
    with atomic_path(out / "fig3c_noise.json") as tmp:
        tmp.write_text(json.dumps({**summary, "args": vars(args)}, indent=2))
    print(f"wrote {out / 'fig3cd_noise.png'}")


if __name__ == "__main__":
    main()
