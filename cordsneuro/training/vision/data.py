"""Datasets, augmentation presets and a resumable sampler for vision training (Appendix C.2).

Datasets (``name`` → source):

* ``digits``: scikit-learn's bundled 8 × 8 handwritten digits (1797 images, 10 classes; no
  network). The train/test split is fixed: a stratified 20 % test split drawn with
  ``split_seed`` (default 0), 1437 train / 360 test images.
* ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``: torchvision's dataset classes on
  ``root`` in torchvision's own layout (``download=True`` fetches them when online).
* ``imagenet``: any class-per-folder tree through :class:`torchvision.datasets.ImageFolder`
  (``root/train/<class>/*.JPEG`` and ``root/val/<class>/*.JPEG``).

Images are float tensors in ``[0, 1]`` ``(C, H, W)`` before the preset; the presets end with
the dataset's normalisation (the authors' ``utils.load_dataset`` means and standard deviations).
Resolution is native by default (8, 28, 32 pixels; ImageNet 224); ``image_size`` resizes first,
as the authors' scripts do with 224.

Augmentation presets (torchvision v2 transforms, Appendix C.2 and the authors' scripts):

=============  ===============================================================================
digits         RandomAffine(5°, translate 5 %, scale 0.95–1.05, shear 5°), ColorJitter(0.1, 0.1)
               (the MNIST preset without ElasticTransform, whose 41-pixel kernel exceeds 8 × 8)
mnist          RandomAffine(as above), ColorJitter(0.1, 0.1), ElasticTransform(α = 20, σ = 5)
fashion-mnist  RandomHorizontalFlip, RandomAffine, ColorJitter; per batch CutMix or MixUp
cifar10/100    RandomHorizontalFlip, RandAugment; per batch CutMix or MixUp
imagenet       RandomResizedCrop, RandomHorizontalFlip, RandAugment; test: Resize(256/224 ·
               size), CenterCrop(size)
=============  ===============================================================================

CutMix / MixUp (``RandomChoice([CutMix, MixUp])`` over the batch) give soft labels
``(batch, classes)`` that the losses of :mod:`~cordsneuro.training.vision.losses` accept.

Randomness is reproducible and resumable: each sample's augmentation is drawn from a generator
seeded by ``(seed, epoch, index)`` and each batch's CutMix / MixUp by ``(seed, epoch, batch)``,
so the result does not depend on the number of DataLoader workers nor on where a run was
interrupted. :class:`ResumableBatchSampler` gives every epoch a seeded permutation, shards it
over distributed ranks and can start in the middle of an epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "DigitsDataset",
    "ResumableBatchSampler",
    "SeededAugmentation",
    "augmentation",
    "batch_mixing",
    "load_dataset",
    "make_loader",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DatasetSpec:
    """What the library knows about a dataset.

    Attributes
    ----------
    name : str
        The ``--dataset`` name.
    num_classes, in_channels : int
    native_size : int
        Height = width of its images in pixels (ImageNet: the 224 crop).
    mean, std : tuple of float
        Per-channel normalisation (after scaling pixels to ``[0, 1]``).
    mixing : bool
        Whether the training preset mixes batches with CutMix / MixUp.
    files : tuple of str
        Files (relative to ``root``) that must exist when not downloading.
    """

    name: str
    num_classes: int
    in_channels: int
    native_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    mixing: bool
    files: tuple[str, ...] = ()


_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

DATASETS: dict[str, DatasetSpec] = {
    # digits: pixel statistics of the 1797 images scaled by 1/16
    "digits": DatasetSpec("digits", 10, 1, 8, (0.3053,), (0.3760,), False),
    "mnist": DatasetSpec(
        "mnist",
        10,
        1,
        28,
        (0.1307,),
        (0.3081,),
        False,
        tuple(f"MNIST/raw/{f}" for f in _MNIST_FILES),
    ),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist",
        10,
        1,
        28,
        (0.2860,),
        (0.3530,),
        True,
        tuple(f"FashionMNIST/raw/{f}" for f in _MNIST_FILES),
    ),
    "cifar10": DatasetSpec(
        "cifar10",
        10,
        3,
        32,
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        True,
        tuple(
            f"cifar-10-batches-py/{f}"
            for f in ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
        ),
    ),
    "cifar100": DatasetSpec(
        "cifar100",
        100,
        3,
        32,
        (0.5071, 0.4865, 0.4409),
        (0.2673, 0.2564, 0.2762),
        True,
        ("cifar-100-python/meta", "cifar-100-python/train", "cifar-100-python/test"),
    ),
    "imagenet": DatasetSpec(
        "imagenet", 1000, 3, 224, IMAGENET_MEAN, IMAGENET_STD, False, ("train/", "val/")
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; a clear error for an unknown name."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[name]


# ----------------------------------------------------------------------------- datasets


class DigitsDataset(torch.utils.data.Dataset):
    """scikit-learn's 8 × 8 digits as ``((1, 8, 8) float in [0, 1], label)`` pairs.

    Parameters
    ----------
    split : ``"train"`` or ``"test"``
    split_seed : int
        Seed of the stratified split (test fraction ``test_fraction``).
    """

    def __init__(self, split: str = "train", *, split_seed: int = 0, test_fraction: float = 0.2):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test' (got {split!r})")
        digits = load_digits()
        idx = list(range(len(digits.target)))
        train, test = train_test_split(
            idx, test_size=test_fraction, random_state=split_seed, stratify=digits.target
        )
        chosen = sorted(train if split == "train" else test)
        self.images = torch.as_tensor(digits.images[chosen] / 16.0, dtype=torch.float32)[:, None]
        self.targets = torch.as_tensor(digits.target[chosen], dtype=torch.long)
        self.classes = [str(c) for c in digits.target_names]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.images[i], int(self.targets[i])


def _check_files(spec: DatasetSpec, root: Path) -> None:
    missing = [f for f in spec.files if not (root / f).exists() and not (root / f"{f}.gz").exists()]
    if missing:
        raise FileNotFoundError(
            f"--root {root}: the {spec.name} files are missing: "
            + ", ".join(str(root / f) for f in missing)
            + " (torchvision's layout; pass download=True / --download when online)"
        )


def _raw_dataset(spec: DatasetSpec, root: str | os.PathLike | None, split: str, download: bool):
    if spec.name == "digits":
        return DigitsDataset(split)
    import torchvision

    if root is None:
        raise ValueError(f"dataset {spec.name!r} needs root= (--root DIR): where its files are")
    root = Path(root)
    if not download or spec.name == "imagenet":
        if not root.is_dir():
            raise FileNotFoundError(f"--root {root} is not a directory")
        _check_files(spec, root)
    train = split == "train"
    if spec.name == "imagenet":
        return torchvision.datasets.ImageFolder(str(root / ("train" if train else "val")))
    cls = {
        "mnist": torchvision.datasets.MNIST,
        "fashion-mnist": torchvision.datasets.FashionMNIST,
        "cifar10": torchvision.datasets.CIFAR10,
        "cifar100": torchvision.datasets.CIFAR100,
    }[spec.name]
    return cls(str(root), train=train, download=download)


# ----------------------------------------------------------------------------- augmentation


def augmentation(name: str, train: bool, image_size: int | None = None) -> Callable:
    """The v2 transform of dataset ``name``: to a float image in ``[0, 1]``, the resize to
    ``image_size`` (when it differs from the native size), the train-time preset (when
    ``train``), then the normalisation. See the module docstring for the presets."""
    from torchvision.transforms import v2

    spec = get_spec(name)
    size = spec.native_size if image_size is None else int(image_size)
    steps: list[Any] = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    affine = v2.RandomAffine(degrees=5, translate=(0.05, 0.05), scale=(0.95, 1.05), shear=5)
    jitter = v2.ColorJitter(brightness=0.1, contrast=0.1)
    if name == "imagenet":
        if train:
            steps += [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
            steps += [v2.RandAugment()]
        else:
            steps += [v2.Resize(round(size * 256 / 224), antialias=True), v2.CenterCrop(size)]
    else:
        if size != spec.native_size:
            steps.append(v2.Resize(size, antialias=True))
        if train:
            if name == "digits":
                steps += [affine, jitter]
            elif name == "mnist":
                steps += [affine, jitter, v2.ElasticTransform(alpha=20.0, sigma=5.0)]
            elif name == "fashion-mnist":
                steps += [v2.RandomHorizontalFlip(), affine, jitter]
            else:  # cifar10 / cifar100
                steps += [v2.RandomHorizontalFlip(), v2.RandAugment()]
    steps.append(v2.Normalize(mean=list(spec.mean), std=list(spec.std)))
    return v2.Compose(steps)


def batch_mixing(name: str) -> Callable | None:
    """``RandomChoice([CutMix, MixUp])`` for the datasets whose preset mixes batches
    (Fashion-MNIST, CIFAR-10/100), else ``None``. Called on ``(images, labels)``; returns
    soft labels ``(batch, classes)``."""
    from torchvision.transforms import v2

    spec = get_spec(name)
    if not spec.mixing:
        return None
    k = spec.num_classes
    return v2.RandomChoice([v2.CutMix(num_classes=k), v2.MixUp(num_classes=k)])


def _seed_of(*parts: int) -> int:
    seed = 0x9E3779B97F4A7C15
    for p in parts:
        seed = (seed ^ (int(p) + 0x9E3779B9 + (seed << 6) + (seed >> 2))) & (2**63 - 1)
    return seed


class SeededAugmentation(torch.utils.data.Dataset):
    """``dataset`` with ``transform`` applied to each image under its own seed
    ``(seed, epoch, index)`` (so augmentations do not depend on workers or interruptions).
    Call :meth:`set_epoch` before each epoch."""

    def __init__(self, dataset, transform: Callable, seed: int = 0) -> None:
        self.dataset, self.transform, self.seed, self.epoch = dataset, transform, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        image, label = self.dataset[i]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_seed_of(self.seed, self.epoch, i))
            return self.transform(image), int(label)


def load_dataset(
    name: str,
    split: str,
    *,
    root: str | os.PathLike | None = None,
    image_size: int | None = None,
    augment: bool | None = None,
    download: bool = False,
    seed: int = 0,
) -> tuple[SeededAugmentation, list[str]]:
    """Dataset ``name`` split ``split`` (``"train"`` / ``"test"``) with its preset.

    Returns the dataset (items ``((C, H, W) float tensor, label)``) and the class names.
    ``augment`` defaults to ``split == "train"``. Raises :class:`FileNotFoundError` naming
    the expected files when ``root`` lacks them."""
    spec = get_spec(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test' (got {split!r})")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 7):
        raise ValueError(f"image_size must be an int >= 7 (got {image_size!r})")
    raw = _raw_dataset(spec, root, split, download)
    augment = split == "train" if augment is None else augment
    classes = list(getattr(raw, "classes", [str(i) for i in range(spec.num_classes)]))
    return SeededAugmentation(raw, augmentation(name, augment, image_size), seed), classes


# ----------------------------------------------------------------------------- sampling


class ResumableBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of a seeded permutation per epoch, sharded over ``world_size`` ranks.

    Epoch ``e`` shuffles ``range(n)`` with a generator seeded by ``(seed, e)``, pads it to a
    multiple of ``world_size · batch_size`` by wrapping around (every rank gets the same number
    of full batches, as :class:`~torch.utils.data.distributed.DistributedSampler` does with
    ``drop_last=False``) and gives rank ``r`` the indices ``r, r + world, …``.
    :meth:`set_epoch` ``(epoch, start_batch)`` resumes in the middle of an epoch.
    ``shuffle=False`` keeps the dataset order (evaluation)."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        if n < 1 or batch_size < 1:
            raise ValueError(f"need n >= 1 and batch_size >= 1 (got {n}, {batch_size})")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.epoch, self.start_batch = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.n / (self.world_size * self.batch_size))

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def _order(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(_seed_of(self.seed, self.epoch))
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = self.batches_per_epoch * self.world_size * self.batch_size
        order = (order * math.ceil(total / self.n))[:total]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        mine = self._order()
        for b in range(self.start_batch, self.batches_per_epoch):
            yield mine[b * self.batch_size : (b + 1) * self.batch_size]

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch


def make_loader(
    dataset,
    sampler: ResumableBatchSampler,
    *,
    workers: int = 0,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader:
    """A :class:`~torch.utils.data.DataLoader` over ``dataset`` in ``sampler`` 's order
    (``workers`` processes, pinned memory for GPU copies)."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=False,
    )


def mix_batch(
    mixing: Callable | None, images: Tensor, labels: Tensor, *, seed: int, epoch: int, batch: int
) -> tuple[Tensor, Tensor]:
    """Apply the batch-level preset (CutMix or MixUp) under the seed ``(seed, epoch, batch)``;
    identity when ``mixing`` is None."""
    if mixing is None:
        return images, labels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed_of(seed, epoch, batch, 1))
        return mixing(images, labels)


class _Limited(torch.utils.data.Subset):
    """The first ``n`` items of a :class:`SeededAugmentation` (keeps ``set_epoch``)."""

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)


def limit(dataset: SeededAugmentation, n: int | None):
    """``dataset`` restricted to its first ``n`` items (``None``: all of it)."""
    if n is None or n >= len(dataset):
        return dataset
    if n < 1:
        raise ValueError(f"a dataset limit must be >= 1 (got {n})")
    return _Limited(dataset, range(n))


def check_dataset_labels(labels: Sequence[int] | Tensor, num_classes: int, name: str) -> None:
    """Every label of a dataset must lie in ``[0, num_classes)``."""
    t = torch.as_tensor(labels)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_classes):
        raise ValueError(
            f"dataset {name!r} has labels from {int(t.min())} to {int(t.max())}, outside the "
            f"{num_classes} classes [0, {num_classes})"
        )
