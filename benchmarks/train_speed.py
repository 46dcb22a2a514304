"""Training speed on the paper's cognitive tasks: ``cordsneuro.train`` against the loop a user
writes by hand, and K networks trained as one (``cordsneuro.training.train_many``).

Per task and architecture (Table S1 networks, N = 125, batch 64, one thread, no evaluation but
one of 64 trials at the end), three ways to do the same optimisation steps, interleaved so the
machine's load hits them alike:

* ``hand``: a hand-written Euler RNN in plain PyTorch (the library's initial weights, its
  recurrence written out: dense, low-rank, masked or convolutional), AdamW and gradient
  clipping, on batches drawn before the clock starts (so it pays nothing for data);
* ``plain``: a loop over ``Task.batch`` + the library model + ``weighted_loss`` + AdamW;
* ``library``: ``cordsneuro.train``.

Then, per architecture on PDM, ``train_many`` with K networks against one (same steps).
One JSON line per measurement (steps/s; ``ratio`` lines give library / hand and K vs 1).

    python benchmarks/train_speed.py [--steps 40] [--tasks PDM CDM MDM DMS PWM]
        [--architectures full lowrank sparse conv] [--k 20] [--repeats 2] > speed.jsonl
    python benchmarks/train_speed.py --markdown speed.jsonl   # the docs table
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def hand_loop(model, batches, weights, answer: str, lr: float):
    """The loop a user writes: returns a function running it over ``batches``."""
    import torch
    import torch.nn.functional as F

    def run() -> None:
        ps = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters()}
        extra = {n: b for n, b in model.named_buffers()}
        opt = torch.optim.AdamW(ps.values(), lr=lr)
        alpha = model.dt / float(extra["tau_0"].mean())
        if "weight" in ps and "mask" in extra:
            rec = lambda r: r @ (ps["weight"] * extra["mask"]).T  # noqa: E731
        elif "weight" in ps:
            rec = lambda r: r @ ps["weight"].T  # noqa: E731
        elif "p" in ps:
            rec = lambda r: (r @ ps["q"].T) @ ps["p"].T  # noqa: E731
        else:
            mode = "circular" if model.padding == "circular" else "constant"
            rec = lambda r: F.conv2d(  # noqa: E731
                F.pad(r.view(r.shape[0], *model.grid), model.pad, mode=mode), ps["kernel"]
            ).flatten(1)
        for (x, y), w in zip(batches, weights):
            r, outs = torch.zeros(x.shape[0], model.n_neurons), []
            for t in range(x.shape[1]):
                r = r + alpha * (torch.tanh(rec(r) + x[:, t] @ ps["w_inp"].T + ps["bias"]) - r)
                outs.append(r @ ps["w_out"].T + ps["b_out"])
            out = torch.stack(outs, 1)
            if answer == "categorical":
                per = F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none")
                per = per.view(y.shape)
            else:
                per = ((out - y) ** 2).mean(-1)
            loss = (per * w).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(ps.values(), 1.0)
            opt.step()

    return run


def plain_loop(model, task, steps: int, lr: float):
    import torch

    from cordsneuro.training import weighted_loss

    def run() -> None:
        task.seed(0)
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        for _ in range(steps):
            b = task.batch(64)
            loss = weighted_loss(
                model(b.inputs).outputs, b.targets, task.loss_weights(b), task.answer
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    return run


def timed(fn) -> float:
    """Seconds of ``fn()``: wall clock, or this process's CPU time with ``--cpu-time`` (which a
    busy machine disturbs less; on an idle one the two agree for one thread)."""
    clock = time.process_time if CPU_TIME else time.perf_counter
    start = clock()
    fn()
    return clock() - start


CPU_TIME = False


def emit(**record) -> None:
    record["load_1min"] = round(os.getloadavg()[0], 1)
    record["clock"] = "process" if CPU_TIME else "wall"
    print(json.dumps(record), flush=True)


def markdown(path: str) -> str:
    """The task × architecture table of docs/training.md from this script's JSON lines:
    library / hand, with steps per second (library vs hand) in brackets."""
    rows = [json.loads(line) for line in open(path) if line.strip().startswith("{")]
    rate = {(r["task"], r["architecture"], r["method"]): r["steps_per_s"]
            for r in rows if r["measure"] == "train"}  # fmt: skip
    tasks = list(dict.fromkeys(t for t, _, _ in rate))
    archs = list(dict.fromkeys(a for _, a, _ in rate))
    out = ["| task | " + " | ".join(archs) + " |", "|---|" + "---|" * len(archs)]
    ratios = []
    for task in tasks:
        cells = []
        for arch in archs:
            lib, hand = rate[(task, arch, "library")], rate[(task, arch, "hand")]
            ratios.append(lib / hand)
            cells.append(f"{lib / hand:.2f} ({lib:.0f} vs {hand:.0f})")
        out.append(f"| {task} | " + " | ".join(cells) + " |")
    ratios.sort()
    met = sum(r >= 1.5 for r in ratios)
    out.append(
        f"\nMedian {statistics.median(ratios):.2f}×, smallest {ratios[0]:.2f}×; "
        f"{met} of {len(ratios)} at 1.5× or more."
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--tasks", nargs="+", default=["PDM", "CDM", "MDM", "DMS", "PWM"])
    parser.add_argument("--architectures", nargs="+", default=["full", "lowrank", "sparse", "conv"])
    parser.add_argument("--k", type=int, default=20, help="networks trained as one")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats (median)")
    parser.add_argument("--skip-single", action="store_true", help="only the K-networks part")
    parser.add_argument("--skip-many", action="store_true", help="only the one-network part")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time by process CPU time, not wall clock"
    )
    parser.add_argument(
        "--markdown", metavar="PATH", help="print the docs table from JSON lines, run nothing"
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(args.markdown))
        return
    global CPU_TIME
    CPU_TIME = args.cpu_time

    import copy

    import torch

    from cordsneuro import train
    from cordsneuro.tasks.task import resolve
    from cordsneuro.training import paper_model, recipe, train_many

    torch.set_num_threads(1)
    steps = args.steps
    for task_name in [] if args.skip_single else args.tasks:
        for arch in args.architectures:
            lr = recipe(task_name, arch)["lr"]
            model = paper_model(task_name, arch, seed=0)
            task = resolve(task_name).copy()
            task.seed(0)
            batches = [task.batch(64) for _ in range(steps)]
            weights = [task.loss_weights(b) for b in batches]
            xy = [(b.inputs, b.targets) for b in batches]
            runs = {
                "hand": hand_loop(model, xy, weights, task.answer, lr),
                "plain": plain_loop(copy.deepcopy(model), task, steps, lr),
                "library": lambda model=model, task_name=task_name, lr=lr: train(
                    copy.deepcopy(model),
                    task_name,
                    steps=steps,
                    lr=lr,
                    eval_every=steps,
                    eval_trials=64,
                    progress=False,
                ),  # fmt: skip
            }
            runs["hand"]()  # warm-up (allocator, first-call costs) for every method
            times: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.repeats):
                for name, fn in runs.items():
                    times[name].append(timed(fn))
            rates = {name: steps / statistics.median(t) for name, t in times.items()}
            for name, value in rates.items():
                emit(measure="train", task=task_name, architecture=arch, method=name,
                     steps=steps, steps_per_s=round(value, 2))  # fmt: skip
            emit(measure="ratio", task=task_name, architecture=arch,
                 library_vs_hand=round(rates["library"] / rates["hand"], 3),
                 plain_vs_hand=round(rates["plain"] / rates["hand"], 3))  # fmt: skip

    for arch in [] if args.skip_many else args.architectures:
        lr = recipe("PDM", arch)["lr"]

        def many(k: int, arch: str = arch, lr: float = lr):
            models = [paper_model("PDM", arch, seed=s) for s in range(k)]
            return lambda: train_many(
                models, "PDM", steps=steps, lr=lr, seed=list(range(k)), eval_every=steps,
                eval_trials=64, progress=False,
            )  # fmt: skip

        one = lambda arch=arch, lr=lr: train(  # noqa: E731
            paper_model("PDM", arch, seed=0), "PDM", steps=steps, lr=lr, eval_every=steps,
            eval_trials=64, progress=False,
        )  # fmt: skip
        runs = {"train_one": one, "many_1": many(1), f"many_{args.k}": many(args.k)}
        one()  # warm-up (first-call costs)
        times = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                times[name].append(timed(fn))
        med = {name: statistics.median(t) for name, t in times.items()}
        for name, value in med.items():
            emit(measure="many", task="PDM", architecture=arch, method=name, steps=steps,
                 seconds=round(value, 3))  # fmt: skip
        emit(measure="ratio", task="PDM", architecture=arch, k=args.k,
             time_k_vs_one_train=round(med[f"many_{args.k}"] / med["train_one"], 3),
             throughput_vs_sequential=round(args.k * med["train_one"] / med[f"many_{args.k}"], 2))  # fmt: skip


if __name__ == "__main__":
    main()
