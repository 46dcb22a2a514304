"""Fig. 5 at a CPU size: a multi-area model (frozen CordsNet front end → FullRNN) trained on the
four image-computable monkey tasks; a table of scores and seconds, an example trial of each
task as an image strip, and the tuning curves of the most selective RNN units.

The front end is a trained CordsNet loaded with ``cordsneuro.load``: by default the shipped
``results/numerosity_r2/cordsnet_r2``, the CordsNet-R2 trained to count the dots of single
displays by ``examples/train_numerosity_frontend.py``, and for Motion
``results/motion_r2/cordsnet_r2``, trained on random-dot clips by
``examples/train_motion_frontend.py`` (``--front-end`` takes any other saved CordsNet for
every task). Only the RNN trains. Trials are short (shortened epochs, 32 × 32 images, 20 ms
steps); the training set is a fixed pool of trials (their front-end activity is computed once
and cached; Numerosity, whose 25 number pairs × 25 control-set pairs need more examples, gets
1024 trials, the others 256), the score is measured on new stimuli (another stimulus seed).

    python examples/image_tasks_table.py --out results/image_tasks

Scores: Numerosity — match/non-match accuracy over all control sets (and per control set);
Category — accuracy on morphs at least 20 % from the boundary (0, 20, 80, 100 % dog) and the
fraction "dog" at each morph level; DelayedResponse — accuracy over the 8 positions; Motion —
accuracy at 51.2 % coherence and at every coherence.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from cordsneuro import MultiAreaModel, load, tasks, train
from cordsneuro._atomic import atomic_path
from cordsneuro.analyses.tuning import trial_responses, unit_tuning
from cordsneuro.plotting import plot_trial_strip, plot_tuning

#: Shortened epochs (ms) so that a trial is 0.8–1.2 s.
TIMING = {
    "Numerosity": {"fixation": 100, "sample": 300, "delay": 300, "test": 200, "decision": 200},
    "Category": {"fixation": 100, "sample": 300, "delay": 300, "decision": 200},
    "DelayedResponse": {"fixation": 200, "cue": 200, "delay": 600, "response": 200},
    "Motion": {"fixation": 100, "motion": 600, "decision": 100},
}
#: The epoch whose activity defines the tuning, and the condition it is tuned to.
TUNING = {
    "Numerosity": ("delay", "sample", "number of dots (sample)"),
    "Category": ("delay", "level", "morph level (% dog)"),
    "DelayedResponse": ("delay", "position", "cue position (×45°)"),
    "Motion": ("motion", "signed_coherence", "signed coherence"),
}
#: Per task: the shipped front end and the RNN training settings used when the command line
#: leaves them out. Motion needs the front end trained on random-dot clips
#: (examples/train_motion_frontend.py); the others use the one trained to count dots.
TASK_DEFAULTS = {
    "Numerosity": {"front_end": "results/numerosity_r2/cordsnet_r2"},
    "Category": {"front_end": "results/numerosity_r2/cordsnet_r2"},
    "DelayedResponse": {"front_end": "results/numerosity_r2/cordsnet_r2"},
    "Motion": {"front_end": "results/motion_r2/cordsnet_r2", "steps": 300, "lr": 1e-3,
               "eval_trials": 576},
}  # fmt: skip
GENERAL_DEFAULTS = {"steps": 1500, "lr": 2e-3, "eval_trials": 384}
#: Training trials (a fixed pool) per task unless --pool is given.
POOL = {"Numerosity": 1024, "Category": 256, "DelayedResponse": 256, "Motion": 256}
#: The last area pooled to p × p unless --pool-size is given: the global average (the front
#: end's own classifier feature, which carries the count) for Numerosity, where the quadrants
#: only add features to over-fit; the quadrants where position matters.
POOL_SIZE = {"Numerosity": 1, "Category": 2, "DelayedResponse": 2, "Motion": 2}


def score(name: str, ev) -> tuple[float, dict]:
    """The task's headline score and its details."""
    info, correct = ev.trial_info, ev.per_trial["correct"]
    if name == "Numerosity":
        by = {
            c: float(correct[info["sample_control"] == c].mean())
            for c in np.unique(info["sample_control"])
        }
        return ev.accuracy, {"accuracy_by_sample_control": by}
    if name == "Category":
        level = np.asarray(info["level"])
        far = np.abs(level - 50) >= 20
        choice = ev.per_trial["choice"]
        curve = {float(v): float((choice[level == v] == 1).mean()) for v in np.unique(level)}
        steep = curve.get(60.0, np.nan) - curve.get(40.0, np.nan)
        return float(correct[far].mean()), {"p_dog_by_level": curve, "p60_minus_p40": steep}
    if name == "Motion":
        coh = np.asarray(info["coherence"])
        by = {float(c): float(correct[coh == c].mean()) for c in np.unique(coh)}
        return by[max(by)], {"accuracy_by_coherence": by}
    return ev.accuracy, {"accuracy_by_position": ev.by_condition.get("accuracy")}


def run_task(name: str, front_end, args, out: Path) -> dict:
    pool = args.pool or POOL[name]
    train_task = tasks.make(name, timing=TIMING[name], pool=pool, stimulus_seed=0)
    test_task = tasks.make(name, timing=TIMING[name], stimulus_seed=1)
    model = MultiAreaModel(
        front_end,
        output_size=train_task.n_outputs,
        n_neurons=args.neurons,
        pool_size=args.pool_size or POOL_SIZE[name],
        seed=args.seed,
    )
    start = time.perf_counter()
    model.calibrate(tasks.make_batch(train_task, 64, seed=args.seed + 1).inputs)
    result = train(
        model,
        train_task,
        steps=args.steps,
        until=args.until,
        batch_size=args.batch,
        lr=args.lr,
        eval_every=50,
        eval_trials=128,
        seed=args.seed,
    )
    batch = tasks.make_batch(test_task, args.eval_trials, seed=12345)
    ev = tasks.evaluate(model, test_task, batch=batch)
    seconds = time.perf_counter() - start
    headline, details = score(name, ev)
    # figures: an example trial, the tuning of the most selective units
    fig = plot_trial_strip(batch.inputs, batch.trial_info, index=0, title=name, per_epoch=2)
    fig.savefig(out / f"trial_{name}.png", dpi=120)
    epoch, key, label = TUNING[name]
    with torch.no_grad():
        rates = model(batch.inputs).rates
    t = np.arange(rates.shape[1])[None]
    window = (t >= batch.trial_info[f"{epoch}_start"][:, None]) & (
        t < batch.trial_info[f"{epoch}_end"][:, None]
    )
    tuning = unit_tuning(trial_responses(rates, window), batch.trial_info[key], name=key)
    plot_tuning(tuning, k=4, xlabel=label).savefig(out / f"tuning_{name}.png", dpi=120)
    model.save(out / f"model_{name}")
    return {
        "task": name,
        "score": headline,
        "seconds": seconds,
        "train_steps": result.steps,
        "train_pool": pool,
        "pool_size": model.pool_size,
        "train_seconds": result.seconds,
        "test_accuracy": ev.accuracy,
        "fraction_selective_p<0.01": tuning.fraction_selective(0.01),
        "cache_hits": model.cache_hits,
        "cache_misses": model.cache_misses,
        **details,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--front-end", default=None,
        help="saved CordsNet directory for every task (default: per task, see TASK_DEFAULTS)",
    )  # fmt: skip
    p.add_argument("--tasks", nargs="+", default=list(TIMING), choices=list(TIMING))
    p.add_argument("--neurons", type=int, default=128, help="RNN size (the paper: 512)")
    p.add_argument(
        "--pool-size", type=int, default=None,
        help="last area pooled to p × p (default: 1 for Numerosity, 2 for the others)",
    )  # fmt: skip
    p.add_argument(
        "--pool", type=int, default=None,
        help="training trials (a fixed set; default: 1024 for Numerosity, 256 for the others)",
    )  # fmt: skip
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="at most this many RNN steps (default 1500; Motion 300)",
    )
    p.add_argument("--until", type=float, default=0.97, help="stop at this train accuracy")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=None, help="default 2e-3; Motion 1e-3")
    p.add_argument(
        "--eval-trials", type=int, default=None,
        help="held-out trials scored (default 384; Motion 576: ~96 per coherence)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/image_tasks")
    p.add_argument(
        "--table-only", action="store_true", help="only gather the rows already in --out"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in [] if args.table_only else args.tasks:
        settings = {**GENERAL_DEFAULTS, **TASK_DEFAULTS[name]}
        given = {k: getattr(args, k) for k in ("front_end", "steps", "lr", "eval_trials")}
        settings.update({k: v for k, v in given.items() if v is not None})
        path = Path(settings["front_end"])
        if not (path / "config.json").is_file():
            raise SystemExit(
                f"no trained front end at {path}: run examples/train_numerosity_frontend.py "
                "(or train_motion_frontend.py) or pass --front-end"
            )
        task_args = argparse.Namespace(**{**vars(args), **settings})
        row = {**run_task(name, load(path), task_args, out), "front_end": str(path)}
        with atomic_path(out / f"row_{name}.json") as tmp:
            tmp.write_text(json.dumps(row, indent=2))
        print(json.dumps(row), flush=True)
    rows = [
        json.loads((out / f"row_{n}.json").read_text())
        for n in TIMING
        if (out / f"row_{n}.json").is_file()
    ]
    lines = [
        f"RNN {args.neurons} neurons",
        "",
        "| task | score | seconds | train steps | front end |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['task']} | {r['score']:.3f} | {r['seconds']:.0f} | {r['train_steps']} "
        f"| {r['front_end']} |"
        for r in rows
    ]
    print("\n".join(lines))
    with atomic_path(out / "table.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    with atomic_path(out / "table.json") as tmp:
        tmp.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
