"""The registry of published CordsNet weights (as torchvision's ``Weights`` enums).

Each :class:`WeightsEntry` carries where the file is (URL and file name), how to check it (the
git blob id the authors' repository records), how its images must be prepared
(``preprocessing``: mean, std, image size, the resize before the centre crop), its class
names and its parameter count. The builders ``cordsnet_r2 … cordsnet_r8(weights="imagenet")``
(:mod:`cordsneuro.models.cordsnet`) look entries up here, and the model they return carries
``model.meta`` from :meth:`WeightsEntry.meta`.

Plain Python: reading the registry imports nothing heavy.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

__all__ = ["WEIGHTS", "WeightsEntry", "get_weights", "imagenet_classes"]

#: ImageNet normalisation of the authors' evaluation transform (``training/utils.py``:
#: ``Resize(256)``, ``CenterCrop(224)``, ``Normalize(mean, std)``).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet class names in the order of the logits (shipped with torchvision;
    needs the ``vision`` extra)."""
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES
    except ImportError as err:  # pragma: no cover - torchvision is in the test extra
        raise ImportError(
            "ImageNet class names come with torchvision: pip install 'cordsneuro[vision]'"
        ) from err
    return list(_IMAGENET_CATEGORIES)


@dataclass(frozen=True)
class WeightsEntry:
    """One set of published weights.

    Attributes
    ----------
    name : str
        What the builders take: ``weights="imagenet"``.
    depth : int
        The CordsNet-R``depth`` they belong to.
    url, filename : str
        Where to download the file and its name in the cache (:func:`~cordsneuro.models.
        pretrained.cache_dir`).
    blob_id : str
        Integrity id: the git blob id (``sha1(b"blob <size>\\0" + content)``) recorded by the
        authors' repository.
    num_params : int
        Parameters of the model (its state dict), for checking.
    num_classes : int
        Width of the readout.
    preprocessing : dict
        ``{"mean": [...], "std": [...], "image_size": [H, W], "resize": int}``: resize the
        shorter side to ``resize`` pixels, centre-crop ``image_size``, normalise per channel.
    dataset : str
        What they were trained on.
    """

    name: str
    depth: int
    url: str
    filename: str
    blob_id: str
    num_params: int
    num_classes: int
    preprocessing: dict = field(default_factory=dict)
    dataset: str = ""

    @property
    def classes(self) -> list[str]:
        """Class names in the order of the logits."""
        return imagenet_classes() if self.dataset == "imagenet" else []

    def meta(self) -> dict:
        """``model.meta`` of a model carrying these weights (see :class:`~cordsneuro.dynamics.
        DynamicalRNN`)."""
        return {
            "preprocessing": {k: list(v) if isinstance(v, tuple) else v
                              for k, v in self.preprocessing.items()},
            "classes": self.classes,
            "dataset": self.dataset,
            "stage": "published",
            "weights": self.name,
        }  # fmt: skip


#: Every published entry, keyed by ``(name, depth)``. The authors released CordsNet-R8 trained
#: on ImageNet (``wmws2/cordsnet``, ``cordsnetr8.pth``).
WEIGHTS: dict[tuple[str, int], WeightsEntry] = {
    ("imagenet", 8): WeightsEntry(
        name="imagenet",
        depth=8,
        url="https://raw.githubusercontent.com/wmws2/cordsnet/main/cordsnetr8.pth",
        filename="cordsnetr8.pth",
        blob_id="94ed91f2c3eaefb1666ee12dc3cab01513f69143",
        num_params=12_475_280,
        num_classes=1000,
        preprocessing={
            "mean": IMAGENET_MEAN,
            "std": IMAGENET_STD,
            "image_size": (224, 224),
            "resize": 256,
        },
        dataset="imagenet",
    ),
}


def get_weights(name: str, depth: int) -> WeightsEntry:
    """The entry ``name`` for CordsNet-R``depth``; a clear error (with the closest known name)
    otherwise."""
    names = sorted({n for n, _ in WEIGHTS})
    if not isinstance(name, str) or name not in names:
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"weights must be None, one of {names} or a path (got {name!r}{hint})")
    if (name, depth) not in WEIGHTS:
        have = sorted(d for n, d in WEIGHTS if n == name)
        raise ValueError(
            f"no published {name!r} weights for CordsNet-R{depth}: the authors released "
            + ", ".join(f"CordsNet-R{d}" for d in have)
            + f" only (use cordsnet_r{have[0]}(weights={name!r}))"
        )
    return WEIGHTS[(name, depth)]
