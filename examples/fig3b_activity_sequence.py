"""Fig. 3B at a CPU size: activity and softmax output over time of CordsNet, its feedforward CNN
and a discrete-time recurrent CNN trained to answer at one step (CORnet-RT style), for an image
shown for 400 ms then removed for 400 ms, and for two images in sequence (400 ms each, then
400 ms without input).

The three trained digit networks come from ``examples/train_digits_frontend.py`` (directory
``--models``); the images are two test digits of different classes. The script prints, for
each model, the class it reports at the end of each image window, and how far CordsNet's
activity is from its spontaneous baseline at the end (fraction of the peak excursion).

    python examples/fig3b_activity_sequence.py --out results/fig3b
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from cordsneuro.analyses.robustness import sequence_response
from cordsneuro.plotting import plot_sequence_response

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
    p.add_argument("--first", type=int, default=0, help="index of the first test digit")
    p.add_argument("--out", default="results/fig3b")
    args = p.parse_args()
    torch.set_num_threads(1)
    cordsnet_dir, cnn_dir, rcnn_dir = network_paths(args)
    cordsnet, cnn, rcnn, mean, std, size = load_digit_networks(cordsnet_dir, cnn_dir, rcnn_dir)
    print(f"CordsNet {cordsnet_dir}, CNN {cnn_dir}, RCNN {rcnn_dir}")
    x, y = digits("test", size)
    x = (x - mean) / std
    a = args.first
    b = next(i for i in range(a + 1, len(y)) if y[i] != y[a])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for scenario, images, labels in (
        ("on_off", x[a], [int(y[a])]),
        ("sequence", torch.stack([x[a], x[b]]), [int(y[a]), int(y[b])]),
    ):
        res = sequence_response(
            cordsnet, images, cnn=cnn, rcnn=rcnn, scenario=scenario, labels=labels
        )
        plot_sequence_response(res).savefig(out / f"fig3b_{scenario}.png", dpi=150)
        summary[scenario] = {
            "labels": labels,
            "reported": {
                m: [res.window_choice(m, k) for k in range(len(labels))] for m in res.times
            },
            "cordsnet_recovery": res.recovery("CordsNet"),
        }
    print(json.dumps(summary, indent=1))
    print(f"wrote {out}/fig3b_on_off.png and {out}/fig3b_sequence.png")


if __name__ == "__main__":
    main()
