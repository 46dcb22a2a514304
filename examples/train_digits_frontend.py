"""Train a small CordsNet front end on scikit-learn's digits, offline, on a CPU.

Three networks see the 1 797 8 × 8 digits of ``sklearn.datasets.load_digits`` upsampled
(bilinear) to 32 × 32, one grey channel, pixels in [0, 1] (no normalisation, so the stimuli of
``cordsneuro.tasks.stimuli`` go straight in); the vision pipeline's split
(``cordsneuro.training.vision.data.DigitsDataset``: stratified, seed 0, 1 437 train, 360 test),
so that every digit network of the examples is tested on the same held-out digits:

* ``cordsnet_r2/``: CordsNet-R2 trained directly (no initialisation pipeline) with the eq. 4
  loss (``cordsneuro.training.vision.cordsnet_loss``: spontaneous 200 ms, image 200 ms, blank
  200 ms; cross-entropy over the last 60 ms of the image, spontaneous penalty at the end),
  AdamW. To fit a CPU it is trained with a 5 ms Euler step (α = 0.5: the same ODE, 2.5×
  fewer steps) and saved with the paper's dt = 2 ms, at which it is tested;
* ``cnn/``: its feedforward counterpart ``CordsNetCNN`` (step 1 of the method), cross-entropy;
* ``rcnn/``: a discrete-time recurrent CNN trained to answer at one step (CORnet-RT style,
  ``cordsneuro.analyses.robustness.DiscreteRecurrentCNN``).

Random ±2-pixel translations augment the training images. Everything is seeded.

    python examples/train_digits_frontend.py --out results/digits_r2 --epochs 3

The CordsNet is saved with ``model.save`` (load it with ``cordsneuro.load``), the two
comparison networks with ``save_comparison_model``; ``accuracy.json`` holds the test scores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from cordsneuro._atomic import atomic_path
from cordsneuro.analyses.robustness import DiscreteRecurrentCNN, save_comparison_model
from cordsneuro.models import CordsNet, CordsNetCNN, Protocol
from cordsneuro.training.vision.losses import CE_STEPS, SPONTANEOUS_STEPS, cordsnet_loss

IMAGE_SIZE = 32


def digits(split: str, image_size: int = IMAGE_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn's digits of the vision pipeline's ``split`` (``"train"``: 1 437, ``"test"``:
    360; the split the pipeline's networks were trained on) as ``(n, 1, size, size)`` float32
    in [0, 1] (bilinear resize) and labels ``(n,)``, in a fixed shuffled order."""
    from cordsneuro.training.vision.data import DigitsDataset

    data = DigitsDataset(split)
    x = data.images
    if x.shape[-1] != image_size:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    return x[order].clamp(0, 1), data.targets[order]


VISION = Path("/work/artifacts/digits_r2")


def add_network_arguments(p: argparse.ArgumentParser) -> None:
    """``--cordsnet`` / ``--cnn`` / ``--rcnn`` of the Fig. 3 examples."""
    p.add_argument(
        "--cordsnet",
        default=None,
        help="saved CordsNet (default: the vision pipeline's /work/artifacts/digits_r2/finetune "
        "if present, else results/digits_r2/cordsnet_r2)",
    )
    p.add_argument("--cnn", default=None, help="its CNN (default: beside it)")
    p.add_argument("--rcnn", default=None, help="discrete-time RCNN (train_digits_frontend.py)")


def network_paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """The CordsNet, CNN and RCNN directories: the arguments, else the vision pipeline's
    networks (with an RCNN trained here on 8 × 8 digits), else this script's."""
    own = Path("results/digits_r2")
    vision = (VISION / "finetune" / "config.json").is_file()
    return (
        Path(args.cordsnet or (VISION / "finetune" if vision else own / "cordsnet_r2")),
        Path(args.cnn or (VISION / "cnn" if vision else own / "cnn")),
        Path(args.rcnn or (own / "rcnn_8" if vision else own / "rcnn")),
    )


def load_digit_networks(cordsnet: str, cnn: str, rcnn: str | None):
    """Load the trained digit networks (any saved CordsNet, e.g. the vision pipeline's); the
    front end's ``meta`` (preprocessing) is read from its ``config.json`` when the loader
    does not restore it. Returns ``(cordsnet, cnn, rcnn or None, mean, std, image_size)``."""
    from cordsneuro import load
    from cordsneuro.analyses.robustness import load_comparison_model

    model = load(cordsnet).eval()
    if not getattr(model, "meta", None):
        model.meta = json.loads((Path(cordsnet) / "config.json").read_text()).get("meta", {})
    prep = model.meta.get("preprocessing", {"mean": [0.0], "std": [1.0]})
    comparison = load_comparison_model(cnn)
    recurrent = load_comparison_model(rcnn) if rcnn else None
    return model, comparison, recurrent, prep["mean"][0], prep["std"][0], model.image_size[0]


def shift(x: torch.Tensor, g: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random translation by up to ``pixels`` in each direction (zero fill), per image."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    for i in range(len(x)):
        dy, dx = (torch.randint(-pixels, pixels + 1, (2,), generator=g)).tolist()
        ys, yd = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
        xs, xd = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
        out[i, :, yd, xd] = x[i, :, ys, xs]
    return out


def batches(n: int, size: int, g: torch.Generator):
    order = torch.randperm(n, generator=g)
    for s in range(0, n, size):
        yield order[s : s + size]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean())


META = {
    "preprocessing": {"mean": [0.0], "std": [1.0], "image_size": [IMAGE_SIZE] * 2},
    "classes": [str(i) for i in range(10)],
    "dataset": "sklearn-digits-32",
    "stage": "direct",
}


def eq4_loss(
    model: CordsNet, images: torch.Tensor, labels: torch.Tensor, checkpoint_segment: int | None = 10
) -> torch.Tensor:
    """Eq. 4 with its windows in ms (spontaneous 200 ms without gradient, image 200 ms, blank
    200 ms; cross-entropy over the last 60 ms of the image, spontaneous penalty over the last
    20 ms), so that it can be evaluated at a coarser training ``dt``; at dt = 2 ms these are
    exactly steps 170–200 and 290–300 of ``cordsneuro.training.vision``.
    ``checkpoint_segment``: gradient checkpointing over time (None: keep every step, faster
    for a small network)."""
    dt = 2.0  # the paper's step, in which CE_STEPS / SPONTANEOUS_STEPS are counted
    image_ms, blank_ms = 100 * dt, 100 * dt
    n_image, n_blank = round(image_ms / model.dt), round(blank_ms / model.dt)
    n_ce = round((CE_STEPS[1] - CE_STEPS[0]) * dt / model.dt)
    n_sp = round((SPONTANEOUS_STEPS[1] - SPONTANEOUS_STEPS[0]) * dt / model.dt)
    start = model.spontaneous_state(len(images))
    traj = model.simulate(
        images,
        Protocol.training(stimulus_ms=image_ms, blank_ms=blank_ms),
        start=start,
        record_areas="all",
        record_steps=list(range(n_image + n_blank - n_sp, n_image + n_blank)),
        output_steps=list(range(n_image - n_ce, n_image)),
        checkpoint_segment=checkpoint_segment,
    )
    return cordsnet_loss(traj.outputs, labels, traj.rates, start)


def at_dt(model: CordsNet, dt: float, meta: dict | None = None) -> CordsNet:
    """The same network simulated with another Euler step (same ODE, same weights)."""
    twin = CordsNet(
        model.depth, in_channels=model.in_channels, num_classes=model.num_classes,
        image_size=model.image_size, dt=dt, seed=0,
    )  # fmt: skip
    twin.load_state_dict(model.state_dict())
    twin.meta = dict(META if meta is None else meta)
    return twin.eval()


def train_cordsnet(
    x, y, xt, yt, epochs: int, lr: float, batch: int, seed: int, out: Path, train_dt: float,
    *, meta: dict | None = None, augment=shift, resample=None, checkpoint_segment: int | None = 10,
):  # fmt: skip
    """Direct eq. 4 training of a CordsNet-R2 at ``train_dt`` (α = dt / τ); the model,
    converted to the paper's dt = 2 ms, is saved to ``out`` and tested on ``xt, yt`` after
    every epoch.

    ``meta`` (default: the digits') gives the classes (the readout's width) and the
    preprocessing; ``augment(images, generator)`` transforms each training batch (None: no
    augmentation); ``resample(epoch)``, if given, returns a fresh training set ``(x, y)`` for
    every epoch (procedurally drawn stimuli); ``checkpoint_segment`` goes to :func:`eq4_loss`.
    The training images enter as they are (already
    preprocessed). Returns the dt = 2 ms model and its test accuracy."""
    meta = META if meta is None else meta
    model = CordsNet(
        2, in_channels=x.shape[1], num_classes=len(meta["classes"]), image_size=x.shape[-1],
        seed=seed, dt=train_dt,
    )  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    bar = tqdm(total=epochs * ((len(y) + batch - 1) // batch), desc="CordsNet-R2 (eq. 4)")
    for epoch in range(epochs):
        if resample is not None and epoch > 0:
            x, y = resample(epoch)
        for idx in batches(len(y), batch, g):
            images = x[idx] if augment is None else augment(x[idx], g)
            loss = eq4_loss(model, images, y[idx], checkpoint_segment)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"CordsNet training diverged (loss {loss.item()})")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        final = at_dt(model, 2.0, meta)
        with torch.no_grad():
            traj = final.simulate(xt, Protocol.classification(), record_steps=[-1])
            acc = accuracy(traj.outputs[:, -1], yt)  # = classify() on preprocessed images
        final.save(out)
        tqdm.write(f"epoch {epoch + 1}: CordsNet-R2 test accuracy {acc:.3f} (dt = 2 ms)")
    bar.close()
    return final, acc


def train_plain(model, forward, x, y, xt, yt, epochs: int, lr: float, batch: int, seed: int, name):
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(epochs), desc=name):
        model.train()
        for idx in batches(len(y), batch, g):
            loss = F.cross_entropy(forward(shift(x[idx], g)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return accuracy(forward(xt), yt)


def fit_readout(x, y, xt, yt, seed: int, out: Path) -> tuple:
    """A CordsNet-R2 with random recurrent and feedforward weights (seed) whose linear readout
    is fitted by multinomial logistic regression on the pooled last areas at the end of a
    200 ms presentation (from the spontaneous state): a trained readout on a random
    convolutional dynamical system (a reservoir), cheap enough for a loaded CPU."""
    from sklearn.linear_model import LogisticRegression

    model = CordsNet(2, in_channels=1, num_classes=10, image_size=IMAGE_SIZE, seed=seed).eval()
    model.meta = {**META, "stage": "random-weights, fitted readout"}

    def pooled(images):
        with torch.no_grad():
            feats = []
            for s in tqdm(range(0, len(images), 128), desc="CordsNet-R2 features"):
                traj = model.simulate(
                    images[s : s + 128],
                    record_areas=[0, 1],
                    record_steps=[-1],
                    record_outputs=False,
                )
                last = [r[:, -1] for r in traj.rates]
                feats.append((F.relu(last[0]) + F.relu(last[1])).mean(dim=(2, 3)))
        return torch.cat(feats).double().numpy()

    f = pooled(x)
    mu, sd = f.mean(0), f.std(0) + 1e-12
    clf = LogisticRegression(C=10.0, max_iter=5000).fit((f - mu) / sd, y.numpy())
    w = clf.coef_ / sd  # fold the standardisation into the readout
    b = clf.intercept_ - w @ mu
    with torch.no_grad():
        weight = torch.tensor(w, dtype=torch.float32)
        model.fc.parametrizations.weight.original1.copy_(weight)
        model.fc.parametrizations.weight.original0.copy_(weight.norm(dim=1, keepdim=True))
        model.fc.bias.copy_(torch.tensor(b, dtype=torch.float32))
        acc = accuracy(model.classify(xt), yt)
    model.save(out)
    return model, acc


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="results/digits_r2")
    p.add_argument("--epochs", type=int, default=3, help="CordsNet epochs (eq. 4 loss)")
    p.add_argument("--cnn-epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument(
        "--train-dt", type=float, default=5.0,
        help="Euler step (ms) while training (the saved model uses the paper's 2 ms)",
    )  # fmt: skip
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=IMAGE_SIZE, help="comparison networks only")
    p.add_argument(
        "--normalise", type=float, nargs=2, metavar=("MEAN", "STD"), default=None,
        help="normalise the pixels (comparison networks only), e.g. to match a front end's meta",
    )  # fmt: skip
    p.add_argument("--only", choices=["all", "comparisons", "cordsnet"], default="all")
    p.add_argument(
        "--method", choices=["eq4", "readout"], default="eq4",
        help="eq4: train every weight (eq. 4); readout: random weights, fitted linear readout",
    )  # fmt: skip
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    (x_train, y_train), (x_test, y_test) = (
        digits("train", args.image_size),
        digits("test", args.image_size),
    )
    if args.normalise:
        x_train = (x_train - args.normalise[0]) / args.normalise[1]
        x_test = (x_test - args.normalise[0]) / args.normalise[1]
    scores: dict[str, float] = {}
    seconds: dict[str, float] = {}

    torch.manual_seed(args.seed)
    if args.only in ("all", "comparisons"):
        start = time.perf_counter()
        cnn = CordsNetCNN(2, 1, 10, image_size=args.image_size, seed=args.seed)
        scores["cnn"] = train_plain(
            cnn, cnn, x_train, y_train, x_test, y_test, args.cnn_epochs, 1e-3, 64, args.seed, "CNN"
        )
        seconds["cnn"] = time.perf_counter() - start
        save_comparison_model(cnn, out / "cnn")

        start = time.perf_counter()
        rcnn = DiscreteRecurrentCNN(2, 1, 10, image_size=args.image_size, seed=args.seed)
        scores["rcnn"] = train_plain(
            rcnn, rcnn.classify, x_train, y_train, x_test, y_test,
            args.cnn_epochs, 1e-3, 64, args.seed, "discrete-time RCNN",
        )  # fmt: skip
        seconds["rcnn"] = time.perf_counter() - start
        save_comparison_model(rcnn, out / "rcnn")
        print(f"CNN test accuracy {scores['cnn']:.3f}; discrete-time RCNN {scores['rcnn']:.3f}")

    if args.only in ("all", "cordsnet") and args.method == "readout":
        start = time.perf_counter()
        _, scores["cordsnet_r2"] = fit_readout(
            x_train, y_train, x_test, y_test, args.seed, out / "cordsnet_r2"
        )
        seconds["cordsnet_r2"] = time.perf_counter() - start
        print(f"CordsNet-R2 (fitted readout) test accuracy {scores['cordsnet_r2']:.3f}")
    elif args.only in ("all", "cordsnet"):
        start = time.perf_counter()
        model, scores["cordsnet_r2"] = train_cordsnet(
            x_train, y_train, x_test, y_test, args.epochs, args.lr, args.batch, args.seed,
            out / "cordsnet_r2", args.train_dt,
        )  # fmt: skip
        seconds["cordsnet_r2"] = time.perf_counter() - start
        model.save(out / "cordsnet_r2")
        print(f"CordsNet-R2 test accuracy {scores['cordsnet_r2']:.3f}")
    record = {"test_accuracy": scores, "seconds": seconds, "args": vars(args)}
    with atomic_path(out / f"accuracy_{args.only}.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2))
    print(json.dumps(record))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
