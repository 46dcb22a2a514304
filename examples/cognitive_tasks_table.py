"""Architecture × task training table (paper Section 2.1, Appendix B.3 / B.4, Table S1).

Trains every Table S1 architecture at N = 125 (FullRNN, LowRankRNN rank 2, SparseRNN with 500
connections, ConvRNN 5×5×5 with a 4×4 kernel) on PDM, CDM, MDM, PWM and DMS to the criteria of
the issue (PDM/CDM/MDM accuracy ≥ 90 %, DMS ≥ 95 %, PWM sign ≥ 90 % and R² ≥ 0.9), and a
ConvRNN on MemoryPro ring (MAE ≤ 10°), line (R² ≥ 0.95) and points (≥ 95 %), with the
hyper-parameters of ``cordsneuro.training.RECIPES``. Each run prints architecture, task,
held-out score, steps and seconds; the CSV is rewritten atomically after every run, and runs
already in it are skipped (so the script can be stopped and restarted).

    python examples/cognitive_tasks_table.py --out results/cognitive_tasks_table.csv

Uses one thread per run (``torch.set_num_threads(1)``; the numbers in docs/training.md were
taken on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from cordsneuro._atomic import atomic_path

ARCHITECTURES = ("full", "lowrank", "sparse", "conv")
COMPARISON = ("PDM", "CDM", "MDM", "DMS", "PWM")
MEMORY = ("MemoryProRing", "MemoryProLine", "MemoryProPoints")
FIELDS = ("architecture", "task", "reached", "score", "steps", "seconds", "metrics")


def _score(task: str, metrics: dict) -> str:
    if task == "PWM":
        return f"sign {metrics['sign_accuracy']:.3f}, R² {metrics['r2']:.3f}"
    if task == "MemoryProRing":
        return f"MAE {metrics['mae_deg']:.2f}°"
    if task == "MemoryProLine":
        return f"R² {metrics['r2']:.3f}"
    return f"acc {metrics['accuracy']:.3f}"


def _write(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("results/cognitive_tasks_table.csv"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--architectures", nargs="+", default=list(ARCHITECTURES), choices=ARCHITECTURES
    )
    parser.add_argument("--tasks", nargs="+", default=[*COMPARISON, *MEMORY])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from cordsneuro.training import train_paper_task

    torch.set_num_threads(args.threads)
    rows: list[dict] = []
    if args.out.exists():
        with open(args.out, newline="") as f:
            rows = list(csv.DictReader(f))
    done = {(r["architecture"], r["task"]) for r in rows}
    runs = [(a, t) for t in args.tasks if t in COMPARISON for a in args.architectures]
    runs += [("conv", t) for t in args.tasks if t in MEMORY]
    for arch, task in runs:
        if (arch, task) in done:
            continue
        start = time.perf_counter()
        result = train_paper_task(task, arch, seed=args.seed, progress=False)
        row = {
            "architecture": arch,
            "task": task,
            "reached": result.reached,
            "score": _score(task, result.metrics),
            "steps": result.steps,
            "seconds": f"{time.perf_counter() - start:.1f}",
            "metrics": {k: round(v, 4) for k, v in result.metrics.items()},
        }
        rows.append(row)
        _write(args.out, rows)
        print(f"{arch:<8} {task:<16} {row['score']:<24} reached={row['reached']!s:<5} "
              f"steps={row['steps']:<5} {row['seconds']} s", flush=True)  # fmt: skip

    print(
        f"\n{'architecture':<12} {'task':<16} {'score':<24} {'criterion':<9} {'steps':>6} {'seconds':>8}"
    )
    for r in rows:
        print(f"{r['architecture']:<12} {r['task']:<16} {r['score']:<24} {str(r['reached']):<9} "
              f"{r['steps']:>6} {r['seconds']:>8}")  # fmt: skip
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
