"""The four-step training method of CordsNet (Section 3, Fig. 2B, Table S4) and the two
controls of Table 1, as resumable, distributed stages.

=============  ==========================================================================
stage          what it does (reads → writes, under ``out/``)
=============  ==========================================================================
``cnn``        step 1: train the feedforward :class:`CordsNetCNN` (BatchNorm) with SGD and the
               3-stage learning rate (each with a linear warm-up) → ``cnn/``
``fold``       step 2a: fold BatchNorm (eq. 5), initialise the linear CordsNet so each area's
               steady state (eq. 7) equals the CNN layer's output
               (:func:`~cordsneuro.training.vision.initialization.inverse_init`)
               ``cnn/`` → ``fold/``
``linear``     step 2b: train the linear CordsNet end to end with eq. 8 ``fold/`` → ``linear/``
``anneal``     step 3: PReLU slope 0.95 → 0 in steps of 0.05, eq. 4 ``linear/`` → ``anneal/``
``finetune``   step 4: ReLU, eq. 4 ``anneal/`` → ``finetune/``
``direct``     control (C): CordsNet from random initialisation, eq. 4 → ``direct/``
``fc-control`` control (R): a parameter-matched fully connected RNN (:class:`FullRNN`,
               image flattened into its input), eq. 4 → ``fc-control/``
=============  ==========================================================================

Every stage directory holds ``model/`` (the trained model; CordsNets in the
:meth:`~cordsneuro.dynamics.DynamicalRNN.save` format with ``meta`` = preprocessing, class
names, dataset, stage), ``run.json`` (the stage's configuration), ``metrics.csv`` (one row
per epoch: loss, test accuracy, wall time), ``results.json`` (written last, atomically) and,
while training, ``checkpoint/`` (model, optimizer, scheduler, annealing phase, sampler
position, random states: safetensors + JSON). A checkpoint is written at the end of every
epoch (and of every annealing phase) and when the process receives SIGTERM; ``resume=True``
continues from it and ends with the weights an uninterrupted run would have.

Presets (:func:`preset`) follow Table S4 and the authors' scripts (``training-method.md``);
every value can be overridden. The ``digits`` preset is ours: sized for a few minutes on
two CPU cores.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cordsneuro._atomic import atomic_path
from cordsneuro.training.vision import data as vdata
from cordsneuro.training.vision import evaluation as veval
from cordsneuro.training.vision.distributed import DistInfo, all_reduce_sum, broadcast_object
from cordsneuro.training.vision.losses import (
    check_labels,
    cordsnet_training_loss,
    linear_training_loss,
    rnn_training_loss,
)

__all__ = [
    "STAGES",
    "METHOD",
    "PREDECESSOR",
    "StageConfig",
    "RunSpec",
    "preset",
    "run_stage",
    "run_method",
    "load_cnn",
    "load_stage_model",
    "stage_dir",
    "matched_fc_neurons",
    "test_images",
]

STAGES = ("cnn", "fold", "linear", "anneal", "finetune", "direct", "fc-control")
#: Steps 1–4 of the method, in order (``--stage all``).
METHOD = ("cnn", "fold", "linear", "anneal", "finetune")
PREDECESSOR = {"fold": "cnn", "linear": "fold", "anneal": "linear", "finetune": "anneal"}
#: Table S4, step 3: the PReLU slope goes 0.95 → 0 in 20 steps of 0.05.
ANNEAL_SLOPES = tuple(round(0.95 - 0.05 * k, 2) for k in range(20))


class StageError(RuntimeError):
    """A stage cannot start (missing predecessor, existing output, other configuration)."""


@dataclass
class StageConfig:
    """Optimisation settings of one stage (Table S4; every field overridable).

    Attributes
    ----------
    epochs : float
        Epochs per phase (a phase is one learning rate of the CNN, one slope of the annealing,
        the whole stage otherwise). Fractions allowed (ImageNet annealing: 0.1).
    optimizer : ``"sgd"`` or ``"adamw"``
    lr : tuple of float
        One learning rate per phase (the CNN: 0.1, 0.01, 0.001), else one.
    batch_size : int
        Per process (a run on N processes trains on N × batch_size images per step).
    weight_decay : float
        SGD: 1e-4; AdamW: PyTorch's default 0.01 (as the authors).
    momentum : float
        SGD momentum.
    clip : float or None
        Gradient-norm clipping (the authors: 1e-4 for every RNN stage).
    warmup_iters : int
        Linear warm-up from ``lr · warmup_start`` at the start of every phase (CNN: 100
        iterations from lr/3).
    slopes : tuple of float
        PReLU slopes of the annealing phases (empty: no annealing).
    fresh_optimizer : bool
        Re-create the optimizer at every phase (the authors' annealing script).
    ridges : tuple of float
        ``fold``: relative ridge strengths tried by the inverse initialisation.
    heldout : int
        ``fold``: training images held out to choose the ridge (at most a fifth of them).
    fc_gain : float
        ``fc-control``: gain of the FullRNN's random recurrent weights.
    phase_eval_images : int
        Test images evaluated at the end of a phase that does not end an epoch (annealing
        with fractional epochs); epochs and the stage end evaluate the whole test set.
    """

    epochs: float = 1.0
    optimizer: str = "adamw"
    lr: tuple[float, ...] = (1e-5,)
    batch_size: int = 8
    weight_decay: float = 0.01
    momentum: float = 0.9
    clip: float | None = 1e-4
    warmup_iters: int = 0
    warmup_start: float = 1 / 3
    slopes: tuple[float, ...] = ()
    fresh_optimizer: bool = False
    ridges: tuple[float, ...] = (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1)
    heldout: int = 256
    fc_gain: float = 0.5
    phase_eval_images: int = 256

    @property
    def phases(self) -> int:
        return max(len(self.slopes), len(self.lr), 1)

    def lr_of(self, phase: int) -> float:
        return self.lr[min(phase, len(self.lr) - 1)]

    def validate(self) -> None:
        if not (self.epochs > 0 and math.isfinite(self.epochs)):
            raise ValueError(f"epochs must be > 0 (got {self.epochs})")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"optimizer must be 'sgd' or 'adamw' (got {self.optimizer!r})")
        if not self.lr or any(not (lr > 0) for lr in self.lr):
            raise ValueError(f"lr must be one or more positive numbers (got {self.lr})")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1 (got {self.batch_size!r})")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip must be > 0 or None (got {self.clip})")
        if any(not 0 <= s <= 1 for s in self.slopes):
            raise ValueError(f"slopes must lie in [0, 1] (got {self.slopes})")


_RNN = dict(optimizer="adamw", lr=(1e-5,), weight_decay=0.01, clip=1e-4)
#: Table S4 / the authors' scripts for every dataset but ImageNet.
_PAPER = {
    "cnn": dict(
        epochs=100, optimizer="sgd", lr=(0.1, 0.01, 0.001), batch_size=256,
        weight_decay=1e-4, clip=None, warmup_iters=100,
    ),
    "fold": dict(batch_size=64),
    "linear": dict(epochs=100, batch_size=32, **_RNN),
    "anneal": dict(epochs=1, batch_size=8, slopes=ANNEAL_SLOPES, fresh_optimizer=True, **_RNN),
    "finetune": dict(epochs=20, batch_size=8, **_RNN),
    "direct": dict(epochs=40, batch_size=8, **_RNN),
    "fc-control": dict(epochs=40, batch_size=8, **_RNN),
}  # fmt: skip
#: ImageNet differs (Table S4, Table 1 controls): 3 × 30 CNN epochs, 30 linear epochs,
#: 0.1 epoch per slope, 10 control epochs.
_IMAGENET = {
    "cnn": dict(epochs=30), "linear": dict(epochs=30), "anneal": dict(epochs=0.1),
    "direct": dict(epochs=10), "fc-control": dict(epochs=10),
}  # fmt: skip
#: Ours, not the paper's: the 8 × 8 digits on two CPU cores in minutes.
_DIGITS = {
    "cnn": dict(epochs=3, batch_size=64, warmup_iters=10),
    "linear": dict(epochs=0.5, batch_size=64, lr=(1e-4,)),
    "anneal": dict(epochs=0.05, batch_size=64, lr=(1e-4,), phase_eval_images=120),
    "finetune": dict(epochs=2, batch_size=64, lr=(1e-4,)),
    "direct": dict(epochs=5, batch_size=64, lr=(1e-3,)),
    "fc-control": dict(epochs=5, batch_size=64, lr=(1e-3,)),
}  # fmt: skip


def preset(dataset: str, stage: str, **overrides) -> StageConfig:
    """The :class:`StageConfig` of ``stage`` on ``dataset`` (Table S4), with ``overrides``."""
    vdata.get_spec(dataset)
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {STAGES}")
    values = dict(_PAPER[stage])
    values.update({"imagenet": _IMAGENET, "digits": _DIGITS}.get(dataset, {}).get(stage, {}))
    unknown = set(overrides) - {f.name for f in dataclasses.fields(StageConfig)}
    if unknown:
        raise ValueError(f"unknown stage settings {sorted(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("lr", "slopes", "ridges"):
        if key in values and not isinstance(values[key], tuple):
            v = values[key]
            values[key] = tuple(v) if isinstance(v, (list, tuple)) else (v,)
    cfg = StageConfig(**values)
    cfg.validate()
    return cfg


@dataclass
class RunSpec:
    """What a run trains on and where it writes (shared by all stages).

    Attributes
    ----------
    dataset : str
        One of :data:`~cordsneuro.training.vision.data.DATASETS`.
    out : Path
        Output directory (one sub-directory per stage).
    depth : int
        2, 4, 6 or 8 (CordsNet-R2 … R8).
    root : Path, optional
        Where the dataset's files are (torchvision layout); not needed for ``digits``.
    image_size : int, optional
        Resize to this size (224: the authors'); native by default.
    download : bool
        Let torchvision download the dataset.
    seed : int
        Initialisation, sampler order and augmentations.
    workers : int
        DataLoader worker processes.
    checkpoint_segment : int, None or ``"auto"``
        Gradient checkpointing over time (steps per segment); ``"auto"``: 10 on GPU (memory),
        none on CPU (where recomputing costs more than it saves).
    precision : ``"fp32"`` or ``"bf16"``
        ``bf16``: bfloat16 convolutions / autocast (GPU).
    progress : bool
        tqdm progress bars (rank 0).
    train_limit, test_limit : int, optional
        Use only the first ``train_limit`` training / ``test_limit`` test images (quick
        checks, tests); default all.
    """

    dataset: str
    out: Path
    depth: int = 2
    root: Path | None = None
    image_size: int | None = None
    download: bool = False
    seed: int = 0
    workers: int = 0
    checkpoint_segment: int | None | str = "auto"
    precision: str = "fp32"
    progress: bool = True
    train_limit: int | None = None
    test_limit: int | None = None

    def __post_init__(self) -> None:
        vdata.get_spec(self.dataset)
        from cordsneuro.models.cordsnet import DEPTHS

        if self.depth not in DEPTHS:
            raise ValueError(f"model depth must be one of {DEPTHS} (r2 … r8), got {self.depth!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16' (got {self.precision!r})")
        self.out = Path(self.out)
        self.root = None if self.root is None else Path(self.root)

    @property
    def spec(self) -> vdata.DatasetSpec:
        return vdata.get_spec(self.dataset)

    @property
    def size(self) -> int:
        return self.spec.native_size if self.image_size is None else self.image_size

    def identity(self) -> dict:
        """What a checkpoint must share with the run that resumes it."""
        return {"dataset": self.dataset, "depth": self.depth, "image_size": self.size,
                "seed": self.seed, "train_limit": self.train_limit,
                "test_limit": self.test_limit}  # fmt: skip


def stage_dir(run: RunSpec, stage: str) -> Path:
    return run.out / stage


# ----------------------------------------------------------------------------- saving


def _tree_to_files(tree: Any) -> tuple[Any, dict[str, Tensor]]:
    """Split a nested structure into JSON (tensors replaced by references) and tensors."""
    tensors: dict[str, Tensor] = {}

    def walk(x):
        if isinstance(x, Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = x.detach().cpu().contiguous()
            return {"__tensor__": key}
        if isinstance(x, dict):
            return {"__dict__": [[walk(k), walk(v)] for k, v in x.items()]}
        if isinstance(x, (list, tuple)):
            return {"__list__": [walk(v) for v in x], "tuple": isinstance(x, tuple)}
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise TypeError(f"cannot save a {type(x).__name__} in a checkpoint")

    return walk(tree), tensors


def _files_to_tree(skeleton: Any, tensors: dict[str, Tensor]) -> Any:
    def walk(x):
        if isinstance(x, dict):
            if "__tensor__" in x:
                return tensors[x["__tensor__"]]
            if "__dict__" in x:
                return {walk(k): walk(v) for k, v in x["__dict__"]}
            if "__list__" in x:
                items = [walk(v) for v in x["__list__"]]
                return tuple(items) if x["tuple"] else items
        return x

    return walk(skeleton)


def _save_tree(path: Path, tree: Any) -> None:
    """Save a nested structure of tensors and scalars as a directory (safetensors + JSON)."""
    from safetensors.torch import save_file

    skeleton, tensors = _tree_to_files(tree)
    with atomic_path(path) as tmp:
        tmp.mkdir()
        save_file(tensors, str(tmp / "tensors.safetensors"))
        (tmp / "tree.json").write_text(json.dumps(skeleton))


def _load_tree(path: Path, device="cpu") -> Any:
    from safetensors.torch import load_file

    tensors = load_file(str(path / "tensors.safetensors"), device=str(device))
    return _files_to_tree(json.loads((path / "tree.json").read_text()), tensors)


def _write_json(path: Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2))


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def _meta(run: RunSpec, stage: str, classes: list[str]) -> dict:
    """``model.meta`` of a trained vision model (the contract in the design notes)."""
    spec = run.spec
    return {
        "preprocessing": {
            "mean": list(spec.mean),
            "std": list(spec.std),
            "image_size": [run.size, run.size],
        },
        "classes": list(classes),
        "dataset": run.dataset,
        "stage": stage,
    }


def save_model(model, path: Path, meta: dict) -> Path:
    """Save a dynamical model with ``meta`` (``model.meta``, also in ``config.json``)."""
    model.meta = dict(meta)
    with atomic_path(path) as tmp:
        model.save(tmp)
        config_path = tmp / "config.json"
        config = json.loads(config_path.read_text())
        if config.get("meta") != meta:  # libraries whose save() does not write meta yet
            config["meta"] = meta
            config_path.write_text(json.dumps(config, indent=2))
    return path


def load_model(path: Path):
    """Load a saved dynamical model and its ``meta``."""
    from cordsneuro.dynamics import load

    model = load(path)
    if not getattr(model, "meta", None):
        model.meta = json.loads((Path(path) / "config.json").read_text()).get("meta", {})
    return model


def save_cnn(cnn, path: Path, meta: dict) -> Path:
    """Save a :class:`CordsNetCNN` as ``config.json`` + ``weights.safetensors``."""
    from safetensors.torch import save_file

    config = {
        "class": "CordsNetCNN",
        "arguments": {"depth": cnn.depth, "in_channels": cnn.in_channels,
                      "num_classes": cnn.num_classes, "image_size": list(cnn.image_size),
                      "batchnorm": cnn.batchnorm},
        "meta": meta,
    }  # fmt: skip
    with atomic_path(path) as tmp:
        tmp.mkdir()
        tensors = {k: v.detach().cpu().contiguous() for k, v in cnn.state_dict().items()}
        save_file(tensors, str(tmp / "weights.safetensors"))
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
    return path


def load_cnn(path: Path):
    """Load a CNN saved by :func:`save_cnn` (its ``meta`` as ``cnn.meta``)."""
    from safetensors.torch import load_file

    from cordsneuro.models.feedforward import CordsNetCNN

    config = json.loads((Path(path) / "config.json").read_text())
    args = config["arguments"]
    cnn = CordsNetCNN(
        args["depth"], args["in_channels"], args["num_classes"],
        image_size=tuple(args["image_size"]), batchnorm=args["batchnorm"], seed=0,
    )  # fmt: skip
    cnn.load_state_dict(load_file(str(Path(path) / "weights.safetensors")))
    cnn.meta = config.get("meta", {})
    return cnn.eval()


def load_stage_model(run: RunSpec, stage: str):
    """The model a finished stage wrote (a clear error naming what is missing)."""
    d = stage_dir(run, stage)
    if not (d / "results.json").is_file():
        raise StageError(
            f"stage {stage!r} has no finished output in {d} (missing {d / 'results.json'}): "
            f"run --stage {stage} first"
        )
    return load_cnn(d / "model") if stage == "cnn" else load_model(d / "model")


# ----------------------------------------------------------------------------- the loop


class _LossModule(nn.Module):
    """``model`` and its stage loss as one module, so DistributedDataParallel sees the whole
    simulation as its forward and averages the gradients over ranks."""

    def __init__(self, model: nn.Module, loss: Callable[[nn.Module, Tensor, Tensor], Tensor]):
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        return self.loss(self.model, images, labels)


class _Terminate:
    """Record SIGTERM (e.g. SLURM pre-emption) so the loop checkpoints and stops cleanly."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


class Preempted(RuntimeError):
    """Raised after a SIGTERM once the checkpoint is written (resume with ``resume=True``)."""


@dataclass
class _Loop:
    """Everything :func:`_train` needs about one stage."""

    run: RunSpec
    info: DistInfo
    stage: str
    cfg: StageConfig
    model: nn.Module
    loss: Callable
    on_phase: Callable[[int], None] = lambda phase: None
    extra: dict = field(default_factory=dict)


def _make_optimizer(cfg: StageConfig, params, phase: int):
    lr = cfg.lr_of(phase)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    sched = None
    if cfg.warmup_iters > 0:
        sched = torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=cfg.warmup_start, total_iters=cfg.warmup_iters
        )
    return opt, sched


def _set_phase_lr(opt, sched, cfg: StageConfig, phase: int):
    """A new learning-rate phase on the same optimizer: new lr, fresh warm-up."""
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] = cfg.lr_of(phase)
    if cfg.warmup_iters > 0:
        sched = torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=cfg.warmup_start, total_iters=cfg.warmup_iters
        )
    return sched


def _loaders(run: RunSpec, info: DistInfo, batch_size: int):
    train_set, classes = vdata.load_dataset(
        run.dataset, "train", root=run.root, image_size=run.image_size,
        download=run.download and info.main, seed=run.seed,
    )  # fmt: skip
    test_set, _ = vdata.load_dataset(
        run.dataset, "test", root=run.root, image_size=run.image_size, seed=run.seed
    )
    targets = getattr(train_set.dataset, "targets", None)
    if targets is not None:
        vdata.check_dataset_labels(targets, run.spec.num_classes, run.dataset)
    train_set = vdata.limit(train_set, run.train_limit)
    test_set = vdata.limit(test_set, run.test_limit)
    sampler = vdata.ResumableBatchSampler(
        len(train_set), batch_size, seed=run.seed, rank=info.rank, world_size=info.world_size
    )
    return train_set, test_set, sampler, classes


def _test_batches(run: RunSpec, info: DistInfo, test_set, batch_size: int, limit=None):
    """This rank's share of the test set (no padding, so sums over ranks count each once),
    of its first ``limit`` images when given."""
    n = len(test_set) if limit is None else min(limit, len(test_set))
    idx = list(range(info.rank, n, info.world_size))
    subset = torch.utils.data.Subset(test_set, idx)
    return torch.utils.data.DataLoader(
        subset, batch_size=batch_size, num_workers=run.workers,
        pin_memory=info.device.type == "cuda",
    )  # fmt: skip


def _evaluate(loop: _Loop, test_set, model=None, limit=None) -> dict[str, float]:
    model = loop.model if model is None else model
    kwargs = {}
    if veval.model_kind(model) in ("linear", "cordsnet"):
        kwargs["precision"] = loop.run.precision
    batches = _test_batches(loop.run, loop.info, test_set, 256, limit)
    counts = veval.window_accuracy(model, batches, loop.info.device, **kwargs)
    correct = all_reduce_sum(loop.info, counts["correct"].to(loop.info.device)).cpu()
    n = int(all_reduce_sum(loop.info, torch.tensor([counts["n"]], device=loop.info.device)))
    return veval.summarize_counts(correct, n)


def _rank_spread(info: DistInfo, model: nn.Module) -> float:
    """Largest difference between ranks of a fingerprint of the weights (their sum and sum of
    squares in float64): 0 when DistributedDataParallel keeps the replicas identical."""
    flat = torch.cat([p.detach().double().flatten() for p in model.parameters()])
    fp = torch.stack([flat.sum(), flat.square().sum()])
    both = torch.cat([fp, -fp])
    torch.distributed.all_reduce(both, op=torch.distributed.ReduceOp.MAX)
    return float((both[:2] + both[2:]).abs().max())


def _rng_state(device: torch.device) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _check_finite_loss(loss: Tensor, it: int, directory: Path) -> None:
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"the loss became {loss.item()} at iteration {it}: training diverged; the last good "
            f"state is the checkpoint in {directory / 'checkpoint'} (resume with a smaller lr)"
        )


def _train(loop: _Loop, resume: bool) -> dict:
    """The training loop of every stage (phases, checkpoints, SIGTERM, DDP, metrics)."""
    run, info, cfg = loop.run, loop.info, loop.cfg
    directory = stage_dir(run, loop.stage)
    train_set, test_set, sampler, classes = _loaders(run, info, cfg.batch_size)
    mixing = vdata.batch_mixing(run.dataset)
    per_epoch = sampler.batches_per_epoch
    per_phase = max(1, round(cfg.epochs * per_epoch))
    total = per_phase * cfg.phases
    model = loop.model.to(info.device)
    module = _LossModule(model, loop.loss)
    if info.distributed:
        module = nn.parallel.DistributedDataParallel(
            module, device_ids=[info.local_rank] if info.device.type == "cuda" else None
        )
    it, rows, phase_of_opt = 0, [], -1
    opt = sched = None
    acc = {"loss_sum": 0.0, "batches": 0, "seconds": 0.0}
    ckpt = directory / "checkpoint"
    if resume and ckpt.is_dir():
        state = _load_tree(ckpt, info.device)
        model.load_state_dict(state["model"])
        it, rows, acc = int(state["it"]), list(state["rows"]), dict(state["acc"])
        phase_of_opt = int(state["phase"])
        loop.on_phase(phase_of_opt)
        opt, sched = _make_optimizer(cfg, model.parameters(), phase_of_opt)
        opt.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler") is not None:
            sched.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"], info.device)

    def save_checkpoint() -> None:
        if info.main:
            _save_tree(ckpt, {
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": None if sched is None else sched.state_dict(),
                "it": it, "phase": phase_of_opt, "rows": rows, "acc": acc,
                "rng": _rng_state(info.device), "total": total,
            })  # fmt: skip
            _write_csv(directory / "metrics.csv", rows)
        if info.distributed:
            torch.distributed.barrier()

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=it, desc=f"{run.dataset} {loop.stage}",
               disable=not (run.progress and info.main), unit="it")  # fmt: skip
    model.train()
    with _Terminate() as term:
        while it < total:
            epoch, start_batch = divmod(it, per_epoch)
            sampler.set_epoch(epoch, start_batch)
            train_set.set_epoch(epoch)
            loader = vdata.make_loader(
                train_set, sampler, workers=run.workers, pin_memory=info.device.type == "cuda"
            )
            t0 = time.perf_counter()
            t_data = time.perf_counter()
            for b, (images, labels) in enumerate(loader, start=start_batch):
                acc["data_seconds"] = acc.get("data_seconds", 0.0) + time.perf_counter() - t_data
                acc["images"] = acc.get("images", 0) + images.shape[0]
                phase = it // per_phase
                if phase != phase_of_opt:
                    loop.on_phase(phase)
                    if opt is None or cfg.fresh_optimizer:
                        opt, sched = _make_optimizer(cfg, model.parameters(), phase)
                    else:
                        sched = _set_phase_lr(opt, sched, cfg, phase)
                    phase_of_opt = phase
                images = images.to(info.device, non_blocking=True)
                labels = labels.to(info.device, non_blocking=True)
                images, labels = vdata.mix_batch(
                    mixing, images, labels, seed=run.seed, epoch=epoch, batch=b
                )
                check_labels(labels, run.spec.num_classes, images.shape[0])
                loss = module(images, labels)
                _check_finite_loss(loss, it, directory)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
                opt.step()
                if sched is not None:
                    sched.step()
                if info.distributed:  # every rank must hold the same weights after each step
                    acc["rank_spread"] = max(acc.get("rank_spread", 0.0), _rank_spread(info, model))
                acc["loss_sum"] += float(loss.detach())
                acc["batches"] += 1
                it += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}")
                boundary = it % per_epoch == 0 or it % per_phase == 0 or it == total
                if boundary:
                    acc["seconds"] += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    losses = all_reduce_sum(
                        info, torch.tensor([acc["loss_sum"], acc["batches"]], device=info.device)
                    )
                    row = {"stage": loop.stage, "epoch": round(it / per_epoch, 4),
                           "iteration": it, "phase": phase,
                           "lr": opt.param_groups[0]["lr"],
                           "train_loss": float(losses[0] / losses[1]),
                           "epoch_seconds": acc["seconds"],
                           "train_images_per_s": acc.get("images", 0) / max(acc["seconds"], 1e-9),
                           "loader_images_per_s": acc.get("images", 0)
                           / max(acc.get("data_seconds", 0.0), 1e-9)}  # fmt: skip
                    if info.distributed:
                        row["rank_weight_spread"] = acc.get("rank_spread", 0.0)
                    row.update(loop.extra.get("row", lambda p: {})(phase))
                    full = it % per_epoch == 0 or it == total
                    limit = None if full else cfg.phase_eval_images
                    row["test_images"] = len(test_set) if full else min(limit, len(test_set))
                    row.update(
                        {f"test_{k}": v for k, v in _evaluate(loop, test_set, None, limit).items()}
                    )
                    model.train()
                    rows.append(row)
                    acc = {"loss_sum": 0.0, "batches": 0, "seconds": 0.0}
                    save_checkpoint()
                    if info.main and run.progress:
                        tqdm.write(
                            f"{loop.stage} epoch {row['epoch']:g}: loss {row['train_loss']:.4f}, "
                            f"test accuracy {row['test_accuracy']:.4f} ({row['epoch_seconds']:.1f} s)"
                        )
                t_data = time.perf_counter()
                if it == total:
                    break
                stop = torch.tensor([float(term.requested)], device=info.device)
                if float(all_reduce_sum(info, stop)) > 0:
                    acc["seconds"] += time.perf_counter() - t0
                    save_checkpoint()
                    bar.close()
                    raise Preempted(
                        f"SIGTERM: checkpoint written to {ckpt} at iteration {it}; resume with "
                        "--resume"
                    )
    bar.close()
    return {"rows": rows, "classes": classes, "test_set": test_set, "iterations": total}


# ----------------------------------------------------------------------------- stages


def _check_predecessor(run: RunSpec, stage: str) -> None:
    if stage in PREDECESSOR:
        before = stage_dir(run, PREDECESSOR[stage])
        if not (before / "results.json").is_file():
            raise StageError(
                f"stage {stage!r} starts from the output of stage {PREDECESSOR[stage]!r}, "
                f"which is missing: {before / 'results.json'} and {before / 'model'} (run "
                f"--stage {PREDECESSOR[stage]} with the same --out first)"
            )


def _prepare(run: RunSpec, info: DistInfo, stage: str, cfg: StageConfig, resume: bool) -> dict:
    """Check the stage can start: predecessor present, nothing finished overwritten, a resumed
    checkpoint from the same configuration. Returns the run record."""
    directory = stage_dir(run, stage)
    record = {"stage": stage, "run": run.identity(), "config": dataclasses.asdict(cfg)}
    record = json.loads(json.dumps(record))
    if (directory / "results.json").exists():
        raise StageError(
            f"stage {stage!r} already finished in {directory} (results.json exists); nothing "
            "was overwritten: choose another --out or delete that directory"
        )
    if stage in PREDECESSOR:
        _check_predecessor(run, stage)
        before = stage_dir(run, PREDECESSOR[stage])
        previous = json.loads((before / "run.json").read_text())
        if previous["run"] != record["run"]:
            raise StageError(
                f"{before} was trained with {previous['run']}, this run is {record['run']}"
            )
    existing = directory / "run.json"
    if existing.exists():
        old = json.loads(existing.read_text())
        if not resume:
            raise StageError(
                f"{directory} holds an unfinished run of stage {stage!r}; pass --resume to "
                "continue it, or choose another --out (nothing was overwritten)"
            )
        if old != record:
            diff = {k: (old.get(k), record.get(k)) for k in record if old.get(k) != record.get(k)}
            raise StageError(
                f"--resume: the checkpoint in {directory} is from another configuration "
                f"(saved, now): {diff}"
            )
    fresh = not existing.exists()
    if info.distributed:  # every rank has checked before rank 0 writes
        torch.distributed.barrier()
    if fresh and info.main:
        _write_json(existing, record)
    if info.distributed:
        torch.distributed.barrier()
    return record


def _finish(run: RunSpec, info: DistInfo, stage: str, result: dict) -> dict:
    directory = stage_dir(run, stage)
    if info.main:
        _write_json(directory / "results.json", result)
        ckpt = directory / "checkpoint"
        if ckpt.is_dir():
            import shutil

            shutil.rmtree(ckpt)
    if info.distributed:
        torch.distributed.barrier()
    return result


def _timing(rows: list[dict]) -> dict:
    seconds = [r["epoch_seconds"] for r in rows]
    return {"train_seconds": sum(seconds), "seconds_per_epoch_row": seconds}


def matched_fc_neurons(n_params: int, input_size: int, num_classes: int) -> int:
    """Neurons ``N`` of a :class:`FullRNN` with about ``n_params`` parameters:
    ``N² + N (input_size + 1 + num_classes) + num_classes ≤ n_params``."""
    b = input_size + 1 + num_classes
    return max(1, int((-b + math.sqrt(b * b + 4 * (n_params - num_classes))) / 2))


def _build_cordsnet(run: RunSpec, activation: str = "relu", seed: int | None = None):
    from cordsneuro.models.cordsnet import CordsNet

    spec = run.spec
    return CordsNet(
        run.depth, spec.in_channels, spec.num_classes, image_size=run.size,
        activation=activation, seed=run.seed if seed is None else seed,
    )  # fmt: skip


def _sim_kwargs(run: RunSpec, info: DistInfo) -> dict:
    seg = run.checkpoint_segment
    if seg == "auto":
        seg = 10 if info.device.type == "cuda" else None
    return {"checkpoint_segment": seg, "precision": run.precision}


def _cnn_loss(model, images, labels, precision: str = "fp32"):
    if precision == "bf16":  # bf16 autocast (GPU); the loss in fp32
        with torch.autocast(images.device.type, dtype=torch.bfloat16):
            logits = model(images)
        return F.cross_entropy(logits.float(), labels)
    return F.cross_entropy(model(images), labels)


def _stage_model(run: RunSpec, stage: str, info: DistInfo):
    """The model a stage starts from (loaded predecessor or a fresh one) and its loss."""
    sim = _sim_kwargs(run, info)
    if stage == "cnn":
        from cordsneuro.models.feedforward import CordsNetCNN

        spec = run.spec
        model = CordsNetCNN(run.depth, spec.in_channels, spec.num_classes,
                            image_size=run.size, seed=run.seed)  # fmt: skip
        return model, lambda m, x, y: _cnn_loss(m, x, y, run.precision)
    if stage == "linear":
        model = load_stage_model(run, "fold")
        return model, lambda m, x, y: linear_training_loss(m, x, y, **sim)
    if stage in ("anneal", "finetune", "direct"):
        if stage == "direct":
            model = _build_cordsnet(run)
        else:
            source = load_stage_model(run, PREDECESSOR[stage])
            model = _build_cordsnet(run, "prelu" if stage == "anneal" else "relu")
            model.load_state_dict(source.state_dict())
        return model, lambda m, x, y: cordsnet_training_loss(m, x, y, **sim)
    if stage == "fc-control":
        from cordsneuro.models.recurrent import FullRNN

        spec = run.spec
        n_in = spec.in_channels * run.size * run.size
        target = sum(p.numel() for p in _build_cordsnet(run).parameters())
        n = matched_fc_neurons(target, n_in, spec.num_classes)
        model = FullRNN(n, n_in, spec.num_classes, tau=10.0, dt=2.0, activation="relu",
                        gain=preset(run.dataset, stage).fc_gain, seed=run.seed)  # fmt: skip
        seg = sim["checkpoint_segment"]
        return model, lambda m, x, y: rnn_training_loss(m, x.flatten(1), y, checkpoint_segment=seg)
    raise ValueError(f"stage {stage!r} does not train by gradient descent")


def _run_fold(run: RunSpec, info: DistInfo, cfg: StageConfig) -> dict:
    from cordsneuro.training.vision.initialization import inverse_init, steady_state_errors

    cnn = load_stage_model(run, "cnn")
    directory = stage_dir(run, "fold")
    t0 = time.perf_counter()
    report = errors = None
    if info.main:
        clean, classes = vdata.load_dataset(
            run.dataset, "train", root=run.root, image_size=run.image_size, augment=False
        )
        clean = vdata.limit(clean, run.train_limit)
        test_set, _ = vdata.load_dataset(
            run.dataset, "test", root=run.root, image_size=run.image_size
        )
        test_set = vdata.limit(test_set, run.test_limit)
        n = len(clean)
        keep = n - min(cfg.heldout, max(1, n // 5))
        fit = torch.utils.data.DataLoader(
            torch.utils.data.Subset(clean, range(keep)), batch_size=cfg.batch_size
        )
        heldout = torch.stack([clean[i][0] for i in range(keep, n)])
        model, report = inverse_init(
            cnn, (x for x, _ in fit), heldout, ridges=cfg.ridges, seed=run.seed
        )
        probe = torch.stack([test_set[i][0] for i in range(min(len(test_set), 256))])
        errors = {
            "protocol_100_steps": steady_state_errors(model, cnn, probe, steps=100),
            "steady_500_steps": steady_state_errors(model, cnn, probe, steps=500),
        }
        save_model(model, directory / "model", _meta(run, "fold", classes))
    broadcast_object(info, None)
    model = load_model(directory / "model")
    loop = _Loop(run, info, "fold", cfg, model, None)
    _, test_set, _, _ = _loaders(run, info, cfg.batch_size)
    result = {
        "stage": "fold",
        "areas": report,
        "relative_error_per_area": errors,
        "seconds": time.perf_counter() - t0,
        "test": _evaluate(loop, test_set),
        "cnn_test": _evaluate(loop, test_set, cnn.to(info.device)),
    }
    return result


def run_stage(
    run: RunSpec,
    stage: str,
    info: DistInfo | None = None,
    *,
    resume: bool = False,
    **overrides,
) -> dict:
    """Run one stage (see the module docstring) and return its ``results.json`` content."""
    info = DistInfo() if info is None else info
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {STAGES} (or 'all')")
    cfg = preset(run.dataset, stage, **overrides)
    if run.dataset != "digits" and run.root is None:
        raise ValueError(f"dataset {run.dataset!r} needs --root DIR (where its files are)")
    _check_predecessor(run, stage)
    vdata.load_dataset(run.dataset, "test", root=run.root, download=run.download and info.main)
    _prepare(run, info, stage, cfg, resume)
    torch.manual_seed(run.seed)
    if stage == "fold":
        return _finish(run, info, stage, _run_fold(run, info, cfg))
    model, loss = _stage_model(run, stage, info)
    loop = _Loop(run, info, stage, cfg, model, loss)
    if cfg.slopes:

        def on_phase(phase: int) -> None:  # Table S4 step 3: a = 0.95 − 0.05 k
            model.prelu_slope = cfg.slopes[phase]

        loop.on_phase = on_phase
        loop.extra["row"] = lambda phase: {"prelu_slope": cfg.slopes[phase]}
    t0 = time.perf_counter()
    out = _train(loop, resume)
    classes = out["classes"]
    directory = stage_dir(run, stage)
    result: dict[str, Any] = {"stage": stage, "iterations": out["iterations"]}
    result.update(_timing(out["rows"]))
    result["wall_seconds"] = time.perf_counter() - t0
    result["test"] = {k.removeprefix("test_"): v for k, v in out["rows"][-1].items()
                      if k.startswith("test_")}  # fmt: skip
    if stage == "anneal":
        final = _build_cordsnet(run, "relu")
        final.load_state_dict(model.state_dict())
        model = final
    if info.main:
        meta = _meta(run, stage, classes)
        if stage == "cnn":
            save_cnn(model.cpu(), directory / "model", meta)
        else:
            save_model(model.cpu(), directory / "model", meta)
        if stage == "fc-control":
            result["n_neurons"] = model.n_neurons
        result["parameters"] = sum(p.numel() for p in model.parameters())
        if veval.model_kind(model) in ("cordsnet", "rnn"):
            images, labels = _probe(out["test_set"], 256)
            mono = veval.mono_stability(model, images, labels)
            result["mono_stability"] = {k: v for k, v in mono.items()
                                        if isinstance(v, (bool, float))}  # fmt: skip
    return _finish(run, info, stage, result)


def test_images(run: RunSpec, n: int | None = None) -> tuple[Tensor, Tensor]:
    """The first ``n`` (default all) normalised test images ``(n, C, H, W)`` and labels."""
    test_set, _ = vdata.load_dataset(run.dataset, "test", root=run.root, image_size=run.image_size)
    return _probe(test_set, len(test_set) if n is None else n)


def _probe(test_set, n: int) -> tuple[Tensor, Tensor]:
    n = min(n, len(test_set))
    items = [test_set[i] for i in range(n)]
    return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])


def run_method(run: RunSpec, info: DistInfo | None = None, *, resume: bool = False,
               stages=METHOD, **overrides) -> dict[str, dict]:  # fmt: skip
    """Run ``stages`` (default steps 1–4) in order, skipping those already finished."""
    results = {}
    for stage in stages:
        done = stage_dir(run, stage) / "results.json"
        if done.is_file():
            results[stage] = json.loads(done.read_text())
            continue
        results[stage] = run_stage(run, stage, info, resume=resume, **overrides)
    return results
