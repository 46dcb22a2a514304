"""Trials per second: our vectorised trial-aligned batches vs ``neurogym.Dataset``.

Same task, same settings: the paper's PDM (``cordsneuro/PDM-v0``, dt = 20 ms, 51 steps per
trial). ``neurogym.Dataset`` is given our PDM environment and a sequence length of one trial, so
each of its batches holds ``batch_size`` trials' worth of steps; our ``make_batch`` returns
``batch_size`` whole trials as torch tensors (inputs, targets, mask, trial info). For reference
the script also times ``Dataset`` on neurogym's own ``PerceptualDecisionMaking-v0`` (its
defaults, dt = 100 ms) and our ``make_batch`` on that env (the one-trial-at-a-time path any
neurogym env goes through).

    python benchmarks/task_batching.py [--seconds 2] [--batch-sizes 64 256 1024]

Timings depend on the machine's load; on a shared machine take them as indicative.
"""

from __future__ import annotations

import argparse
import time
import warnings


def rate(make, trials_per_call: int, seconds: float) -> float:
    """Trials per second of ``make()`` over about ``seconds`` of wall-clock time."""
    make()  # warm-up
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or calls < 3:
        make()
        calls += 1
    return calls * trials_per_call / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (s)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import neurogym as ngym
    import torch

    from cordsneuro import tasks

    torch.set_num_threads(1)
    print(f"{'batch':>6} {'generator':<52} {'trials/s':>12} {'speed-up':>9}")
    for batch_size in args.batch_sizes:
        env = tasks.make("PDM", seed=0)
        n_steps = int(env.max_steps)
        dataset = ngym.Dataset(env, batch_size=batch_size, seq_len=n_steps, batch_first=True)
        baseline = rate(dataset, batch_size, args.seconds)
        ours = rate(lambda e=env, b=batch_size: tasks.make_batch(e, b), batch_size, args.seconds)
        print(
            f"{batch_size:>6} {'neurogym.Dataset(cordsneuro/PDM-v0)':<52} {baseline:>12,.0f} {1:>8.1f}x"
        )
        print(f"{batch_size:>6} {'cordsneuro make_batch(cordsneuro/PDM-v0), vectorised':<52} {ours:>12,.0f} "
              f"{ours / baseline:>8.1f}x")  # fmt: skip
        native = ngym.make("PerceptualDecisionMaking-v0")
        native_ds = ngym.Dataset(
            "PerceptualDecisionMaking-v0", batch_size=batch_size, seq_len=22, batch_first=True
        )
        native_rate = rate(native_ds, batch_size, args.seconds)
        loop_rate = rate(
            lambda e=native, b=batch_size: tasks.make_batch(e, b), batch_size, args.seconds
        )
        print(
            f"{batch_size:>6} {'neurogym.Dataset(PerceptualDecisionMaking-v0)':<52} {native_rate:>12,.0f}"
        )
        print(
            f"{batch_size:>6} {'cordsneuro make_batch(PerceptualDecisionMaking-v0)':<52} {loop_rate:>12,.0f}"
        )


if __name__ == "__main__":
    main()
