"""Dale's law (as in PsychRNN): train an excitatory / inhibitory FullRNN and a masked SparseRNN
on PDM and CDM, check that every sign and every removed connection survived training, and draw
the trained recurrent matrices.

    python examples/dale_law.py [--out figures/] [--n-neurons 100] [--steps 3000]

Prints one line per network (task, steps to the criterion, accuracy, seconds, whether the sign
constraints and the mask hold element-wise) and writes ``dale_law.png``.
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import cordsneuro  # noqa: E402
from cordsneuro import FullRNN, SparseRNN  # noqa: E402

INPUTS = {"PDM": 1, "CDM": 4}


def signs_hold(model) -> bool:
    """Element-wise: excitatory columns ≥ 0, inhibitory columns ≤ 0."""
    w = model.recurrent_matrix().detach()
    n_exc = model.n_excitatory
    return bool((w[:, :n_exc] >= 0).all() and (w[:, n_exc:] <= 0).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"))
    parser.add_argument("--n-neurons", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3000, help="at most, per network")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    n = args.n_neurons
    # a ring of neighbours: each unit connects to the 5 nearest on each side
    offset = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).remainder(n)
    ring = (offset <= 5) | (offset >= n - 5)

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    runs = [
        ("PDM", "Dale FullRNN"), ("CDM", "Dale FullRNN"), ("PDM", "Dale SparseRNN, ring mask"),
    ]  # fmt: skip
    for ax, (task, name) in zip(axes, runs):
        common = {"activation": "relu", "dale_ratio": 0.8, "gain": 0.8, "seed": args.seed}
        if "Sparse" in name:
            model = SparseRNN(n, INPUTS[task], 2, rec_connectivity=ring, **common)
        else:
            model = FullRNN(n, INPUTS[task], 2, **common)
        start = time.perf_counter()
        result = cordsneuro.train(model, task, until="criterion", steps=args.steps, lr=3e-3,
                                  batch_size=64, eval_every=100, eval_trials=256,
                                  seed=args.seed, progress=False)  # fmt: skip
        seconds = time.perf_counter() - start
        w = model.recurrent_matrix().detach()
        mask_ok = "Sparse" not in name or bool((w[~ring] == 0).all())
        accuracy = result.history["evaluations"][-1]["accuracy"]
        print(f"{task}  {name:<26} steps {result.steps:>5}  accuracy {accuracy:.3f}  "
              f"{seconds:6.1f} s  signs intact {signs_hold(model)}  mask intact {mask_ok}")  # fmt: skip
        limit = float(w.abs().max())
        image = ax.imshow(w.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.axvline(model.n_excitatory - 0.5, color="k", lw=0.8)
        ax.set(title=f"{name} on {task}\nacc {accuracy:.2f}, {result.steps} steps",
               xlabel="presynaptic unit (E | I)", ylabel="postsynaptic unit")  # fmt: skip
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(args.out / "dale_law.png", dpi=120)
    print(f"wrote {args.out / 'dale_law.png'}")


if __name__ == "__main__":
    main()
