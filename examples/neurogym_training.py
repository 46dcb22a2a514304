"""neurogym tasks through ``cordsneuro.train`` with its default settings.

Trains a FullRNN (its defaults: τ = 100 ms, dt = 20 ms, tanh) on neurogym tasks of different
shapes — ``yang19.go-v0`` (Yang et al. 2019's collection: 16 directions + fixation, a long
fixation epoch), ``GoNogo-v0`` (go / no-go: 2 classes, answer 0 on no-go trials) and
``PerceptualDecisionMaking-v0`` (noisy evidence, 2 choices + fixation) — with ``train``'s
defaults (lr 1e-3, 64 trials per step, Yang et al.'s loss weights: response ×5 after 100 ms of
grace, other steps ×1). Before and after training it prints the held-out accuracy (the answer
averaged over the decision epoch), the per-step accuracy on the response steps and on the
other (fixation) steps, chance, the steps and the seconds; one JSON line per task.

    python examples/neurogym_training.py --steps 1500

Uses one thread (``torch.set_num_threads(1)``).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

TASKS = {
    # name: chance of the per-trial accuracy (answers drawn uniformly)
    "yang19.go-v0": 1 / 16,
    "GoNogo-v0": 1 / 2,
    "PerceptualDecisionMaking-v0": 1 / 2,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--neurons", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from cordsneuro import FullRNN, tasks, train

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", module="gymnasium")
    for name in args.tasks:
        task = tasks.resolve(name, {"dt": 20})  # the FullRNN's default step
        model = FullRNN(args.neurons, task.n_inputs, task.n_outputs, seed=args.seed)
        before = tasks.evaluate(model, task, n_trials=1000).metrics
        start = time.perf_counter()
        result = train(model, task, steps=args.steps, seed=args.seed, eval_every=250)
        seconds = time.perf_counter() - start
        after = tasks.evaluate(model, task, n_trials=1000).metrics
        print(
            json.dumps(
                {
                    "task": name,
                    "chance": TASKS.get(name),
                    "untrained": before,
                    "trained": after,
                    "steps": result.steps,
                    "seconds": round(seconds, 1),
                    "neurons": args.neurons,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
