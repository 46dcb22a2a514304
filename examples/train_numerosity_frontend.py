"""Train a CordsNet-R2 front end to count dots (1–5), offline, on a CPU.

The network sees single numerosity displays drawn by ``cordsneuro.tasks.stimuli.numerosity``
(32 × 32, one grey channel), the five counts and the five control sets of Nieder, Freedman &
Miller (2002) in equal numbers (standard, equal total area, equal total circumference, linear,
regular polygon), and learns to report the count (5 classes). Every epoch draws new displays
(stimulus stream 0, one seed per epoch); the test set is another stream (1), so no test
display is ever trained on — and neither is any display of the image tasks, which draw their
own seeds.

Training is direct eq. 4 training of every weight (``train_digits_frontend.train_cordsnet``:
spontaneous 200 ms, display 200 ms, blank 200 ms; cross-entropy over the last 60 ms of the
display, spontaneous penalty at the end of the blank), AdamW, with a 5 ms Euler step
(α = 0.5: the same ODE, 2.5× fewer steps than the paper's 2 ms); the network is saved with
dt = 2 ms, at which it is tested. Pixels are normalised by the displays' mean and standard
deviation, stored in ``meta["preprocessing"]`` (``CordsNet.classify`` and ``MultiAreaModel``
apply it to raw images).

    python examples/train_numerosity_frontend.py --out results/numerosity_r2

writes ``OUT/cordsnet_r2/`` (``cordsneuro.load`` it) and ``OUT/accuracy.json`` (test accuracy
overall, per count and per control set; seconds). The front end of
``examples/image_tasks_table.py --front-end OUT/cordsnet_r2``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cordsneuro._atomic import atomic_path
from cordsneuro.tasks import stimuli

sys.path.insert(0, str(Path(__file__).parent))
from train_digits_frontend import train_cordsnet  # noqa: E402

IMAGE_SIZE = 32


def displays(
    n_images: int, seed: int, stream: int, image_size: int = IMAGE_SIZE
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """``n_images`` displays ``(n, 1, size, size)`` in [0, 1], their count − 1 ``(n,)`` and
    control set ``(n,)``: every (count, control) pair equally often, shuffled; drawn from the
    generator ``default_rng([seed, stream])``."""
    rng = np.random.default_rng([seed, stream])
    pairs = [(n, c) for n in stimuli.NUMEROSITIES for c in stimuli.CONTROL_SETS]
    order = rng.permutation(np.arange(n_images) % len(pairs))
    images, counts, controls = [], [], []
    for k in order:
        n, control = pairs[k]
        images.append(stimuli.numerosity(n, control, image_size=image_size, seed=rng).image)
        counts.append(n - 1)
        controls.append(control)
    x = torch.from_numpy(np.stack(images))
    return x, torch.tensor(counts), np.array(controls)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="results/numerosity_r2")
    p.add_argument("--epochs", type=int, default=5, help="epochs, each of new displays")
    p.add_argument("--train-images", type=int, default=2000, help="displays per epoch")
    p.add_argument("--test-images", type=int, default=1000, help="held-out displays")
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument(
        "--train-dt", type=float, default=5.0,
        help="Euler step (ms) while training (the saved model uses the paper's 2 ms)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    start = time.perf_counter()
    x, y, _ = displays(args.train_images, args.seed, 0)
    mean, std = float(x.mean()), float(x.std())
    meta = {
        "preprocessing": {"mean": [mean], "std": [std], "image_size": [IMAGE_SIZE] * 2},
        "classes": [str(n) for n in stimuli.NUMEROSITIES],
        "dataset": "numerosity-displays-32 (cordsneuro.tasks.stimuli, all control sets)",
        "stage": "direct eq. 4",
    }

    def norm(images: torch.Tensor) -> torch.Tensor:
        return (images - mean) / std

    def resample(epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        xe, ye, _ = displays(args.train_images, args.seed + 1000 * epoch, 0)
        return norm(xe), ye

    xt_raw, yt, ct = displays(args.test_images, args.seed, 1)
    model, acc = train_cordsnet(
        norm(x), y, norm(xt_raw), yt, args.epochs, args.lr, args.batch, args.seed,
        out / "cordsnet_r2", args.train_dt, meta=meta, augment=None, resample=resample,
        checkpoint_segment=None,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    with torch.no_grad():
        pred = model.classify(xt_raw).argmax(-1).numpy()  # raw images: meta's preprocessing
    right = pred == yt.numpy()
    record = {
        "test_accuracy": float(right.mean()),
        "by_count": {
            str(n): float(right[yt.numpy() == n - 1].mean()) for n in stimuli.NUMEROSITIES
        },
        "by_control": {c: float(right[ct == c].mean()) for c in stimuli.CONTROL_SETS},
        "test_images": args.test_images,
        "train_images_seen": args.epochs * args.train_images,
        "seconds": seconds,
        "args": vars(args),
    }
    with atomic_path(out / "accuracy.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
