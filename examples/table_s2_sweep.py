"""Table S2 and Fig. S2 at laptop size (paper Section 2.1, Appendix B.3).

Trains the Table S1 networks (N = 125: fully connected, low-rank rank 2, sparse with 500
connections, ConvRNN 5×5×5 with a 4×4 kernel) on the five comparison tasks (PDM, PWM, MDM, CDM,
DMS) for a few seeds with the settings of ``cordsneuro.training.RECIPES``, keeps an untrained
twin of every network, and compares all their trajectories with the angular Procrustes shape
distance: the distance matrices, their MDS plots (Fig. S2C), each architecture's mean distance
to the fully connected networks (Table S2), normalised singular values (Fig. S2B),
psychometric curves (Fig. S2A) and CCA-aligned trajectories (Fig. 1C).

    python examples/table_s2_sweep.py --out sweep_laptop --workers 2
    python examples/table_s2_sweep.py --out sweep_small --tasks PDM MDM --seeds 0 1

The sweep can be stopped at any time and restarted with the same command: finished runs are
kept, only the missing ones run. The full laptop grid (4 × 5 × 3 = 60 trained networks and their
60 untrained twins) takes about 40 minutes on 2 busy CPU cores (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cordsneuro.training.sweep import ARCHITECTURES, COMPARISON_TASKS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("sweep_laptop"))
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--tasks", nargs="+", default=list(COMPARISON_TASKS))
    parser.add_argument("--architectures", nargs="+", default=list(ARCHITECTURES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    from cordsneuro.training.sweep import run_sweep
    from cordsneuro.training.sweep_report import report_sweep

    definition = {
        "name": "table_s2",
        "grid": {
            "architecture": args.architectures,
            "task": args.tasks,
            "size": [125],
            "seed": args.seeds,
        },
    }
    start = time.perf_counter()
    table = run_sweep(definition, args.out, workers=args.workers)
    trained = table[table.trained]
    print(f"\n{len(table)} runs ({len(trained)} trained) in {time.perf_counter() - start:.0f} s")
    print(
        "trained networks that met the task's criterion: "
        f"{int(trained.reached.sum())} / {len(trained)}\n"
    )
    accuracy = table.pivot_table(
        index="task", columns="trained", values="metric_accuracy", aggfunc="mean"
    ).rename(columns={True: "trained", False: "untrained"})
    print("mean held-out accuracy (untrained networks: chance on average over networks)")
    print(accuracy.round(3).to_string(), "\n")
    report = report_sweep(args.out)
    print("\n".join(str(p) for p in report.figures))


if __name__ == "__main__":
    main()
