"""CordsNet learns to see: the paper's four-step training method (Section 3, Fig. 2B) and the
controls of Table 1 on scikit-learn's bundled 8 × 8 digits, at a size that runs on two CPU
cores (no network).

Runs (or reuses, when ``--out`` already holds them) the stages ``cnn → fold → linear → anneal
→ finetune`` and the controls ``direct`` and ``fc-control`` with the ``digits`` presets, then

* prints Table 1's columns for CordsNet-R2 on digits (control R, control C, initialisation,
  fine-tuned, CNN), the fold step's steady-state error per area, wall times per stage
  (Table S5 style) and the mono-stability check (Appendix D);
* writes three figures: learning curves per stage, accuracy over time within a trial, and the
  mono-stability sequence (image A, blank, image B, blank).

    python examples/vision_training_digits.py --out runs/digits_r2 --figures docs/img
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from cordsneuro.training.vision import evaluation as veval  # noqa: E402
from cordsneuro.training.vision import pipeline as vp  # noqa: E402

STAGES = (*vp.METHOD, "direct", "fc-control")
LABELS = {"cnn": "1 CNN", "linear": "2 linear (eq. 8)", "anneal": "3 anneal (eq. 4)",
          "finetune": "4 fine-tune (eq. 4)", "direct": "control C: CordsNet direct",
          "fc-control": "control R: fully connected RNN"}  # fmt: skip


def rows_of(run: vp.RunSpec, stage: str) -> list[dict]:
    path = vp.stage_dir(run, stage) / "metrics.csv"
    with open(path) as f:
        return [{k: (float(v) if k != "stage" else v) for k, v in r.items() if v != ""}
                for r in csv.DictReader(f)]  # fmt: skip


def learning_curves(run: vp.RunSpec, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    offset = 0.0
    for stage in (*vp.METHOD[:1], *vp.METHOD[2:]):
        rows = rows_of(run, stage)
        x = [offset + r["epoch"] for r in rows]
        axes[0].plot(x, [r["train_loss"] for r in rows], "o-", ms=3, label=LABELS[stage])
        axes[1].plot(x, [100 * r["test_accuracy"] for r in rows], "o-", ms=3,
                     label=LABELS[stage])  # fmt: skip
        offset = x[-1]
    for stage in ("direct", "fc-control"):
        rows = rows_of(run, stage)
        axes[1].plot([r["epoch"] for r in rows], [100 * r["test_accuracy"] for r in rows],
                     "s--", ms=3, label=LABELS[stage])  # fmt: skip
    axes[0].set(xlabel="epochs (stages one after another)", ylabel="training loss",
                yscale="log", title="Training loss per stage")  # fmt: skip
    axes[1].set(xlabel="epochs", ylabel="test accuracy (%)", ylim=(0, 100),
                title="Test accuracy (last step of the image)")  # fmt: skip
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def over_time(models: dict, images, labels, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, model in models.items():
        curve = veval.accuracy_over_time(model, images, labels)
        ax.plot(curve["time_ms"], 100 * curve["accuracy"], label=name)
    ax.axvspan(140, 200, color="0.9", label="inference window (eq. 4)")
    ax.axvline(200, color="k", lw=0.8, ls=":")
    ax.set(xlabel="time from image onset (ms); image off at 200 ms", ylabel="accuracy (%)",
           ylim=(0, 100), title="Accuracy over time within a trial (test images)")  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@torch.no_grad()
def mono_figure(model, images, labels, path: Path) -> dict:
    from cordsneuro.models.protocols import Protocol

    mono = veval.mono_stability(model, images, labels)
    half = images.shape[0] // 2
    pair = torch.stack([images[:half], images[half : 2 * half]], 1)
    traj = model.simulate(pair, Protocol.sequence(2, 200.0, 200.0), record_areas="all")
    spont = model.spontaneous_state(half)
    dev = sum(((r - s[:, None]) ** 2).flatten(2).sum(-1) for r, s in zip(traj.rates, spont))
    la, lb = mono["labels"]
    t = mono["time_ms"]
    acc_a = (mono["logits"].argmax(-1) == la[:, None]).double().mean(0)
    acc_b = (mono["logits"].argmax(-1) == lb[:, None]).double().mean(0)
    fig, axes = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    axes[0].plot(t, dev.sqrt().mean(0), color="purple")
    axes[0].set(ylabel="‖r − r_spont‖", title="Mono-stability (Appendix D): A, blank, B, blank")
    axes[1].plot(t, 100 * acc_a, label="label of image A")
    axes[1].plot(t, 100 * acc_b, label="label of image B")
    axes[1].set(xlabel="time (ms)", ylabel="accuracy (%)", ylim=(0, 100))
    for ax in axes:
        for start in (0, 400):
            ax.axvspan(start, start + 200, color="0.92")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {k: v for k, v in mono.items() if isinstance(v, (bool, float))}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("vision_digits_r2"))
    p.add_argument("--figures", type=Path, default=None, help="folder for the PNGs (--out)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    run = vp.RunSpec("digits", args.out, depth=2, seed=args.seed, progress=False)
    start = time.perf_counter()
    for stage in STAGES:
        done = vp.stage_dir(run, stage) / "results.json"
        if not done.is_file():
            print(f"running {stage} ...", flush=True)
            vp.run_stage(run, stage, resume=(vp.stage_dir(run, stage) / "run.json").exists())
    print(f"stages done in {time.perf_counter() - start:.0f} s (0 when reused)\n")
    res = {s: json.loads((vp.stage_dir(run, s) / "results.json").read_text()) for s in STAGES}

    def acc(stage: str) -> str:
        return f"{100 * res[stage]['test']['accuracy']:.2f}"

    print("Table 1, CordsNet-R2 on digits (test accuracy %, last step of the image):")
    print(f"{'Control (R)':>12} {'Control (C)':>12} {'Initialization':>15} {'Fine-tuned':>11} "
          f"{'CNN':>6}")  # fmt: skip
    print(f"{acc('fc-control'):>12} {acc('direct'):>12} {acc('anneal'):>15} "
          f"{acc('finetune'):>11} {acc('cnn'):>6}\n")  # fmt: skip
    fold = res["fold"]["relative_error_per_area"]
    print("fold + inverse: relative error of the linear CordsNet's state vs each CNN layer")
    for key, errors in fold.items():
        print(f"  {key:<20} " + "  ".join(f"area {i}: {e:.2e}" for i, e in enumerate(errors)))
    print("\nwall time per stage (s; Table S5 style; shared machine):")
    for s in STAGES:
        r = res[s]
        secs = r.get("train_seconds", r.get("seconds"))
        n = len(r.get("seconds_per_epoch_row", [])) or 1
        print(f"  {s:<11} {secs:8.1f} s total, {secs / n:6.1f} s per row of metrics.csv")
    init_time = sum(res[s].get("train_seconds", res[s].get("seconds", 0)) for s in vp.METHOD[:3])
    per_epoch = res["direct"]["train_seconds"] / max(1, len(res["direct"]["seconds_per_epoch_row"]))
    anneal_epochs = 20 * vp.preset("digits", "anneal").epochs
    print(f"  control epochs matching steps 1-2 (Appendix C.3 eq. 5): "
          f"{init_time / per_epoch + anneal_epochs:.1f}; run: "
          f"{vp.preset('digits', 'direct').epochs:g}")  # fmt: skip
    figures = args.out if args.figures is None else args.figures
    figures.mkdir(parents=True, exist_ok=True)
    learning_curves(run, figures / "vision_digits_learning_curves.png")
    models = {
        s: vp.load_stage_model(run, s) for s in ("linear", "finetune", "direct", "fc-control")
    }
    images, labels = vp.test_images(run)  # the whole test split
    over_time({LABELS.get(k, k): m for k, m in models.items()}, images, labels,
              figures / "vision_digits_accuracy_over_time.png")  # fmt: skip
    mono = mono_figure(models["finetune"], images, labels, figures / "vision_digits_mono.png")
    print("\nmono-stability of the fine-tuned CordsNet-R2 (A, blank, B, blank; Appendix D):")
    for k, v in mono.items():
        print(f"  {k:<26} {v}")
    print(f"\nfigures in {figures}")


if __name__ == "__main__":
    main()
