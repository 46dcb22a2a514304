"""``cordsneuro <subcommand>``: the command-line entry point (git-style subcommands)."""

from __future__ import annotations

import argparse
import sys
import time


def quickstart(args: argparse.Namespace) -> int:
    """Build the Table S1 networks, check their parameter counts and simulate each at a few
    gains with tanh (Section 2.1, Fig. 1B)."""
    import torch

    from cordsneuro.analyses.dimensionality import participation_ratio
    from cordsneuro.models.recurrent import TABLE_S1, recurrent_parameter_count, table_s1

    torch.manual_seed(args.seed)
    names = {"full": "FullRNN", "lowrank": "LowRankRNN", "sparse": "SparseRNN", "conv": "ConvRNN"}
    print(
        "Table S1 networks, autonomous tanh dynamics from a random state "
        f"(tau = 100 ms, dt = 20 ms, {args.steps} steps)\n"
    )
    header = f"{'architecture':<12} {'N':>4} {'rec. params':>11} {'Table S1':>8} {'gain':>5} {'final var':>10} {'PR':>6}"
    print(header)
    print("-" * len(header))
    start = time.perf_counter()
    mismatches = 0
    for n in sorted(TABLE_S1):
        for arch, name in names.items():
            for gain in args.gains:
                model = table_s1(n, arch, gain=gain, seed=args.seed, activation="tanh")
                count = recurrent_parameter_count(model)
                expected = TABLE_S1[n][arch]["count"] if arch in TABLE_S1[n] else n * n
                mismatches += count != expected
                state = model.unflatten_state(
                    torch.randn(1, n, generator=torch.Generator().manual_seed(args.seed))
                )
                with torch.no_grad():
                    traj = model(state=state, n_steps=args.steps)
                late = model.flatten_state(traj.rates[0, args.steps // 2 :])
                variance = late.var(dim=0).mean().item()
                pr = participation_ratio(late)
                print(
                    f"{name:<12} {n:>4} {count:>11} {expected:>8} {gain:>5.1f} {variance:>10.2e} {pr:>6.2f}"
                )
    print(
        f"\n{'all parameter counts match Table S1' if not mismatches else f'{mismatches} counts differ from Table S1'}"
        f" ({time.perf_counter() - start:.1f} s)"
    )
    return 1 if mismatches else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cordsneuro",
        description="Continuous-time RNN dynamical systems for neuroscience (CordsNet and friends).",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.required = True

    p = sub.add_parser(
        "quickstart",
        help="build the Table S1 networks and simulate them (the main job)",
        description="Build FullRNN, LowRankRNN, SparseRNN and ConvRNN at the three sizes of Table S1, "
        "check their recurrent parameter counts and simulate each from a random state with tanh at "
        "a few gains; prints architecture, N, recurrent parameters, late-activity variance and "
        "participation ratio.",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of weights and initial states (default 0)"
    )
    p.add_argument(
        "--steps", type=int, default=200, help="Euler steps per simulation (default 200)"
    )
    p.add_argument(
        "--gains", type=float, nargs="+", default=[0.5, 1.5, 3.0], help="gains g to simulate"
    )
    p.set_defaults(func=quickstart)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
