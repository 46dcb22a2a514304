"""Train a small CordsNet front end to see motion: direction of random-dot clips, offline, on a
CPU.

A CordsNet is a dynamical system, so it can become direction-selective: its areas keep a
trace of the last frames (τ = 10 ms, plus recurrence) that the next frame can be compared
with. Here a CordsNet-R2 for 32 × 32 grey images (64 channels per area, the model's fixed
width) is trained by backpropagation through time on short random-dot kinematograms
(:func:`cordsneuro.tasks.stimuli.random_dots`, the stimulus family of the ``Motion`` task,
with its central fixation point) to report the direction of the dots — left, right, up or
down (up / down are the left / right movies transposed) — while the clip is on:

* a clip is ``--frames`` frames (default 8) of 20 ms each, the ``Motion`` task's step, so
  the front end sees exactly the timing it sees inside a
  :class:`~cordsneuro.MultiAreaModel` (10 Euler steps of the paper's dt = 2 ms, τ = 10 ms,
  per frame), starting from its spontaneous state, followed by 60 ms of blank screen;
* coherence drawn per clip from ``--coherences`` (default 51.2 % and 100 %); dot density and
  speed those of the ``Motion`` task (0.02 dots per pixel, 2 pixels per frame);
* loss: eq. 4 of the paper (``cordsneuro.training.vision.cordsnet_loss``) with the
  cross-entropy of the readout averaged uniformly over every Euler step from the start of
  frame ``--ce-from`` (default 3) to the end of the clip (the direction must be read out all
  along the movie, not at one step), plus the spontaneous-state penalty over the last 20 ms
  of the blank; AdamW (lr 3e-4), gradient norm clipped at 1, 300 batches of 32 clips;
* the readout starts from a logistic-regression fit of the direction on the untrained
  network's pooled last area (512 clips), then every weight trains: with the default
  readout the logits hardly vary and the loss stays at ln 4 (measured: no progress in 57
  batches);
* every clip is new (a fresh seed per clip), so there is no training set to memorise; the
  test clips use seeds no training clip uses.

The network's readout is the linear map of the spatial average of its last area
(``ReLU(r_1) + ReLU(r_0)``), the very feature a ``MultiAreaModel`` feeds its RNN, so a front
end that classifies direction here hands a direction signal to the RNN.

    python examples/train_motion_frontend.py --out results/motion_r2

writes ``results/motion_r2/cordsnet_r2`` (``model.save``: safetensors + JSON, load it with
``cordsneuro.load``; saved after every evaluation, so an interrupted run keeps its last good
state), ``accuracy.json`` (4-way and left / right direction accuracy per coherence on new
clips after every evaluation, seconds) and ``accuracy.png`` (that accuracy against training).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from cordsneuro._atomic import atomic_path
from cordsneuro.models import CordsNet, Protocol
from cordsneuro.models.protocols import Epoch
from cordsneuro.tasks import stimuli as S
from cordsneuro.training.vision import cordsnet_loss

IMAGE_SIZE = 32
FRAME_MS = 20.0  # one frame per step of the Motion task (cordsneuro.tasks.visual, dt = 20 ms)
BLANK_MS = 60.0
PENALTY_MS = 20.0  # eq. 4: spontaneous penalty over the last 10 steps (20 ms) of the blank
CLASSES = ("left", "right", "up", "down")
#: the test seeds start here; training clips use seeds below it
TEST_SEED = 10**9


def motion_clips(
    seeds: np.ndarray,
    coherences: np.ndarray,
    labels: np.ndarray,
    n_frames: int,
    *,
    density: float = 0.02,
    image_size: int = IMAGE_SIZE,
) -> torch.Tensor:
    """Random-dot clips ``(n, n_frames, 1, S, S)`` float32 in [0, 1] with the ``Motion`` task's
    fixation point; ``labels`` index :data:`CLASSES` (up / down: a left / right clip with rows
    and columns swapped), ``coherences`` fractions, ``seeds`` one per clip."""
    fixation = S.odr_frame(True, image_size=image_size)
    out = np.empty((len(seeds), n_frames, 1, image_size, image_size), dtype=np.float32)
    for i, (seed, c, k) in enumerate(zip(seeds, coherences, labels)):
        direction = 1 if k in (1, 3) else -1  # right / down: +1 along the moving axis
        frames = S.random_dots(
            float(c), direction, n_frames, image_size=image_size, density=density,
            seed=int(seed),
        ).frames  # fmt: skip
        if k >= 2:
            frames = frames.transpose(0, 1, 3, 2)
        out[i] = np.maximum(frames, fixation)
    return torch.from_numpy(out)


def protocol(n_frames: int, blank_ms: float = BLANK_MS) -> Protocol:
    """Frame ``k`` for 20 ms each, then a blank screen."""
    epochs = [Epoch.image(FRAME_MS, k, name=f"frame {k}") for k in range(n_frames)]
    return Protocol((*epochs, Epoch.blank(blank_ms)))


def clip_loss(model: CordsNet, clips: torch.Tensor, labels: torch.Tensor, ce_from: int):
    """Eq. 4 on a clip: uniform cross-entropy over every step from frame ``ce_from`` to the
    end of the clip, spontaneous penalty over the last 20 ms of the blank. Returns the loss
    and the logits at the clip's last step."""
    n_frames = clips.shape[1]
    per_frame = round(FRAME_MS / model.dt)
    n_clip = n_frames * per_frame
    n_total = n_clip + round(BLANK_MS / model.dt)
    n_pen = round(PENALTY_MS / model.dt)
    start = model.spontaneous_state(len(clips))
    traj = model.simulate(
        clips,
        protocol(n_frames),
        start=start,
        record_areas="all",
        record_steps=list(range(n_total - n_pen, n_total)),
        output_steps=list(range(ce_from * per_frame, n_clip)),
        checkpoint_segment=10,
    )
    weights = torch.ones(traj.outputs.shape[1])
    loss = cordsnet_loss(traj.outputs, labels, traj.rates, start, weights=weights)
    return loss, traj.outputs[:, -1]


@torch.no_grad()
def accuracy(
    model: CordsNet, coherence: float, n: int, n_frames: int, seed: int, density: float
) -> tuple[float, float]:
    """4-way direction accuracy at the clip's last step on ``n`` new clips of one coherence,
    and the left / right accuracy (the sign of right − left logits on the horizontal clips)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    seeds = TEST_SEED + seed * 100_000 + np.arange(n)
    clips = motion_clips(seeds, np.full(n, coherence), labels, n_frames, density=density)
    traj = model.simulate(clips, protocol(n_frames, blank_ms=FRAME_MS), record_steps=None)
    logits = traj.outputs[:, n_frames * round(FRAME_MS / model.dt) - 1]
    y = torch.from_numpy(labels)
    four = float((logits.argmax(-1) == y).float().mean())
    horizontal = y < 2
    lr = (logits[horizontal, 1] > logits[horizontal, 0]).long()
    return four, float((lr == y[horizontal]).float().mean())


def fit_readout(model: CordsNet, n: int, args: argparse.Namespace) -> float:
    """Start the readout where the features already point: multinomial logistic regression of
    the direction on the pooled last area (every 5th step from frame ``ce_from``) of ``n``
    clips through the untrained network, the standardisation folded into the weights. The
    features are small (~0.01) and vary little, so a default readout would leave the logits
    nearly constant and the gradient to the convolutions nearly zero. Returns the probe's
    accuracy on its clips."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(args.seed + 1)
    labels = rng.integers(0, 4, n)
    clips = motion_clips(
        TEST_SEED // 2 + np.arange(n), rng.choice(args.coherences, n), labels, args.frames,
        density=args.density,
    )  # fmt: skip
    per_frame = round(FRAME_MS / model.dt)
    steps = list(range(args.ce_from * per_frame, args.frames * per_frame, 5))
    with torch.no_grad():
        traj = model.simulate(
            clips, protocol(args.frames, FRAME_MS), record_areas=[0, 1], record_outputs=False,
            record_steps=steps,
        )  # fmt: skip
    pooled = (torch.relu(traj.rates[0]) + torch.relu(traj.rates[1])).mean(dim=(3, 4))
    feats = pooled.flatten(0, 1).double().numpy()  # (n · steps, 64)
    targets = np.repeat(labels, len(steps))
    mu, sd = feats.mean(0), feats.std(0)
    sd = np.maximum(sd, 0.1 * np.median(sd) + 1e-12)  # no gain on (nearly) silent channels
    probe = LogisticRegression(C=0.1, max_iter=5000).fit((feats - mu) / sd, targets)
    weight = torch.tensor(probe.coef_ / sd, dtype=torch.float32)
    bias = torch.tensor(probe.intercept_ - (probe.coef_ / sd) @ mu, dtype=torch.float32)
    fc = model.fc.parametrizations.weight  # weight norm: w = g · v / ‖v‖
    with torch.no_grad():
        fc.original1.copy_(weight)
        fc.original0.copy_(weight.norm(dim=1, keepdim=True))
        model.fc.bias.copy_(bias)
    return float(probe.score((feats - mu) / sd, targets))


def plot_history(record: dict, path: Path) -> None:
    """Direction accuracy (4-way, new clips) against training batches, one line per
    coherence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in record["history"]]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for c in record["history"][0]["test"]:
        acc = [h["test"][c]["four_way"] for h in record["history"]]
        ax.plot(steps, acc, marker="o", label=f"{100 * float(c):.1f} %")
    ax.axhline(1 / len(CLASSES), color="grey", ls="--", lw=1, label="chance")
    ax.set(
        xlabel="training batches (32 clips)", ylabel="direction accuracy (4-way)", ylim=(0, 1.02)
    )
    ax.set_title("CordsNet-R2 on random-dot clips", fontsize=10)
    ax.legend(title="coherence", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


META = {
    "preprocessing": {"mean": [0.0], "std": [1.0], "image_size": [IMAGE_SIZE] * 2},
    "classes": list(CLASSES),
    "dataset": "random-dot-clips-32",
    "stage": "direct (eq. 4 on random-dot clips, BPTT)",
}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="results/motion_r2")
    p.add_argument("--steps", type=int, default=300, help="training batches")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--frames", type=int, default=8, help="frames (20 ms each) per clip")
    p.add_argument("--ce-from", type=int, default=3, help="first frame read out by the loss")
    p.add_argument("--coherences", type=float, nargs="+", default=[0.512, 1.0])
    p.add_argument("--density", type=float, default=0.02, help="dots per pixel")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--eval-clips", type=int, default=128)
    p.add_argument(
        "--readout-clips", type=int, default=512,
        help="clips for the readout's starting fit (0: the default initialisation)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--plot-only", action="store_true", help="only redraw accuracy.png from accuracy.json"
    )
    args = p.parse_args()
    if args.plot_only:
        out = Path(args.out)
        plot_history(json.loads((out / "accuracy.json").read_text()), out / "accuracy.png")
        return
    if not 0 <= args.ce_from < args.frames:
        raise SystemExit(f"--ce-from must be in 0…{args.frames - 1} (got {args.ce_from})")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = CordsNet(2, in_channels=1, num_classes=len(CLASSES), image_size=IMAGE_SIZE,
                     seed=args.seed)  # fmt: skip
    model.meta = dict(META)
    if args.readout_clips:
        probe = fit_readout(model, args.readout_clips, args)
        tqdm.write(f"readout fitted on the untrained network: accuracy {probe:.3f}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    history = []
    start_time = time.perf_counter()

    def evaluate(step: int) -> dict:
        model.eval()
        scores = {}
        for c in (0.128, 0.256, 0.512, 1.0):
            four, lr = accuracy(model, c, args.eval_clips, args.frames, 1, args.density)
            scores[str(c)] = {"four_way": four, "left_right": lr}
        model.train()
        record = {"step": step, "seconds": time.perf_counter() - start_time, "test": scores}
        tqdm.write(json.dumps(record))
        return record

    bar = tqdm(range(1, args.steps + 1), desc="CordsNet-R2 on random-dot clips")
    for step in bar:
        labels = rng.integers(0, 4, args.batch)
        coherences = rng.choice(args.coherences, args.batch)
        seeds = (step - 1) * args.batch + np.arange(args.batch)  # every clip new, < TEST_SEED
        clips = motion_clips(seeds, coherences, labels, args.frames, density=args.density)
        loss, logits = clip_loss(model, clips, torch.from_numpy(labels), args.ce_from)
        if not torch.isfinite(loss):
            raise SystemExit(
                f"training diverged at step {step} (loss {loss.item()}); the last good state "
                f"is in {out / 'cordsnet_r2'}"
            )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        acc = float((logits.argmax(-1) == torch.from_numpy(labels)).float().mean())
        bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{acc:.2f}")
        if step % args.eval_every == 0 or step == args.steps:
            history.append(evaluate(step))
            model.save(out / "cordsnet_r2")
    record = {
        "front_end": str(out / "cordsnet_r2"),
        "test_accuracy_by_coherence": history[-1]["test"],
        "seconds": time.perf_counter() - start_time,
        "history": history,
        "args": vars(args),
    }
    with atomic_path(out / "accuracy.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2))
    plot_history(record, out / "accuracy.png")
    print(json.dumps({k: record[k] for k in ("test_accuracy_by_coherence", "seconds")}))


if __name__ == "__main__":
    main()
