"""Fig. 1D / Fig. S3: attractors of networks trained on the memory-pro task (Appendix B.4).

A ConvRNN is trained on MemoryPro with a circular (ring), linear (line) or 8-state (points)
stimulus. After training, trials with stimuli spread over their range are run; slow points are
found from the end-of-delay states under the delay-epoch input (fixation only) by minimising
q = ½‖dr/dt‖² (Sussillo & Barak; a few L-BFGS iterations keep slow points slow so that they
sample a continuous attractor), and the set is described as a ring, a line or discrete points.
The figure shows delay-epoch trajectories in the top principal components, coloured by the
stimulus, with the slow points.

The epochs are shortened (``--short``, the default) so that training takes about half a minute
per variant on 2 CPU cores; ``--paper-timing`` uses the paper's epochs (slower).

Writes ``fig_s3_<variant>.png`` to ``--out`` (default ``results/attractors``).

Run: ``python examples/memorypro_attractors.py [--variants ring line points] [--steps 600]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from cordsneuro.analyses.dimensionality import PCA
from cordsneuro.analyses.fixed_points import describe_attractor, find_fixed_points
from cordsneuro.models.recurrent import ConvRNN
from cordsneuro.plotting import plot_attractor
from cordsneuro.tasks import make_batch, resolve
from cordsneuro.training import train

SHORT_TIMING = {
    "fixation": ("uniform", (100, 200)),
    "stimulus": ("uniform", (100, 300)),
    "delay": ("uniform", (200, 800)),
    "response": ("uniform", (100, 200)),
}


def run_variant(variant: str, args: argparse.Namespace) -> None:
    name = f"MemoryPro{variant.capitalize()}"
    timing = None if args.paper_timing else SHORT_TIMING
    kwargs = {} if timing is None else {"timing": timing}
    task = info = resolve(name, kwargs)
    model = ConvRNN(args.channels, args.side, args.side, info.n_inputs, info.n_outputs,
                    gain=0.9, seed=args.seed)  # fmt: skip
    result = train(model, task, steps=args.steps, lr=3e-3, batch_size=32, seed=args.seed,
                   eval_every=100, eval_trials=128, progress=False)  # fmt: skip
    evaluation = result.history["evaluations"][-1] if result.history["evaluations"] else {}
    print(f"{name}: {model.n_neurons}-neuron ConvRNN trained {args.steps} steps: {evaluation}")

    n = 64
    if variant == "ring":
        conditions = {"theta": np.linspace(0, 2 * np.pi, n, endpoint=False)}
    elif variant == "line":
        conditions = {"value": np.linspace(-1, 1, n)}
    else:
        conditions = {"point": np.arange(n) % 8}
    batch = make_batch(task, n, seed=args.seed + 1, **conditions)
    with torch.no_grad():
        traj = model(batch.inputs)
    rates = model.flatten_state(traj.rates.reshape(-1, *model.state_shape)).reshape(
        n, -1, model.n_neurons
    )
    start, end = batch.trial_info["delay_start"], batch.trial_info["delay_end"]
    delay_end = torch.stack([rates[i, int(end[i]) - 1] for i in range(n)])
    fixation = torch.zeros(info.n_inputs)
    fixation[0] = 1.0  # the delay epoch's input: fixation only
    slow = find_fixed_points(
        model, delay_end, fixation, q_tol=1e-6, n_iter=0, lbfgs_iter=20, dedup_tol=1e-4
    )
    desc = describe_attractor(slow)
    print(
        f"  {len(slow)} slow points (q < 1e-6 /ms², {int(slow.stable.sum())} stable): {desc.kind}, "
        f"{desc.n_clusters} cluster(s), intrinsic dimension {desc.intrinsic_dimension}, "
        f"closed={desc.closed}, largest angular gap {desc.max_angular_gap}"
    )

    length = int(min(end - start))
    delay = torch.stack([rates[i, int(start[i]) : int(start[i]) + length] for i in range(n)])
    pca = PCA(3).fit(delay)
    colour = list(conditions.values())[0]
    fig = plot_attractor(pca.transform(delay), colour, pca.transform(slow.states), slow.stable.numpy(),
                         title=f"{name}: delay epoch and slow points ({desc.kind})")  # fmt: skip
    fig.savefig(args.out / f"fig_s3_{variant}.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=["ring", "line", "points"],
                        choices=["ring", "line", "points"])  # fmt: skip
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--side", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paper-timing", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("results/attractors"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants:
        run_variant(variant, args)
    print(f"figures written to {args.out}/")


if __name__ == "__main__":
    main()
