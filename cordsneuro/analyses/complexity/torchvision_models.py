"""The torchvision adapter: every classification model of ``torchvision.models`` built on the
meta device as its published weights configure it, counted by
:func:`~cordsneuro.analyses.complexity.counter.count_macs`, with torchvision's recorded
operation and parameter counts as references."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cordsneuro.analyses.complexity.counter import (
    ModelComplexity,
    _check_positive_int,
    count_macs,
    count_parameters,
)

__all__ = [
    "TorchvisionWeights",
    "build_torchvision_model",
    "torchvision_complexity",
    "torchvision_models",
    "torchvision_weights",
]


def torchvision_models() -> list[str]:
    """Names of every classification model in ``torchvision.models`` (80 in torchvision 0.29;
    the paper plotted 79)."""
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models))


def _check_torchvision_name(name: Any) -> str:
    names = torchvision_models()
    if not isinstance(name, str) or name not in names:
        close = difflib.get_close_matches(str(name), names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown torchvision classification model {name!r}{hint} "
            f"(torchvision.models.list_models(module=torchvision.models) lists {len(names)})"
        )
    return name


@dataclass(frozen=True)
class TorchvisionWeights:
    """Metadata of one set of published torchvision weights.

    Attributes
    ----------
    name : str
        Enum member name, e.g. ``"IMAGENET1K_V1"``.
    image_size : int
        Crop size of its evaluation transform (pixels): the input size it is used at.
    ops : float or None
        torchvision's recorded ``_ops`` (G multiply-accumulates per image).
    num_params : int or None
        torchvision's recorded parameter count.
    """

    name: str
    image_size: int
    ops: float | None
    num_params: int | None


def torchvision_weights(name: str) -> list[TorchvisionWeights]:
    """The published ImageNet weights of torchvision model ``name`` with the input size they
    are evaluated at (the crop size of their transform) and torchvision's recorded operation
    count (``_ops``, GMACs) and parameter count. Reads metadata only; downloads nothing."""
    from torchvision.models import get_model_weights

    _check_torchvision_name(name)
    entries = []
    for w in get_model_weights(name):
        crop = getattr(w.transforms, "keywords", {}).get("crop_size")
        if crop is None:
            crop = w.meta["min_size"][0]
        size = int(crop[0] if isinstance(crop, Sequence) else crop)
        entries.append(
            TorchvisionWeights(w.name, size, w.meta.get("_ops"), w.meta.get("num_params"))
        )
    return entries


@contextlib.contextmanager
def _regnet_block_params_on_cpu() -> Iterator[None]:
    """RegNet builders derive their block widths with tensor arithmetic and ``.tolist()``, which
    meta tensors cannot do; evaluate that one (tiny, weight-free) computation on the CPU."""
    from torchvision.models import regnet

    original = regnet.BlockParams.__dict__["from_init_params"]

    def on_cpu(cls: type, *args: Any, **kwargs: Any) -> Any:
        with torch.device("cpu"):
            return original.__func__(cls, *args, **kwargs)

    regnet.BlockParams.from_init_params = classmethod(on_cpu)
    try:
        yield
    finally:
        regnet.BlockParams.from_init_params = original


def build_torchvision_model(name: str, image_size: int | None = None) -> nn.Module:
    """Build torchvision classification model ``name`` on the meta device, without weights, as
    its published weights configure it, in eval mode.

    Parameters
    ----------
    name : str
        A name from :func:`torchvision_models`.
    image_size : int, optional
        Input size; only the vision transformers (``vit_*``) depend on it (their position
        embedding). Default: the smallest size any of its published weights use.

    Notes
    -----
    As ``get_model(name, weights=...)`` does: GoogLeNet drops its auxiliary classifiers,
    Inception-v3 keeps its own (it is part of the published weights and of torchvision's
    parameter count; in eval mode neither runs).
    """
    from torchvision.models import get_model

    _check_torchvision_name(name)
    if image_size is None:
        image_size = min(e.image_size for e in torchvision_weights(name))
    image_size = _check_positive_int("image_size", image_size)
    kwargs: dict[str, Any] = {}
    if name.startswith("vit_"):
        kwargs["image_size"] = image_size
    if name in ("googlenet", "inception_v3"):
        kwargs["init_weights"] = False  # no scipy initialisation (and no warning) on meta
    if name == "googlenet":
        kwargs["aux_logits"] = False
    with _regnet_block_params_on_cpu(), torch.device("meta"):
        model = get_model(name, **kwargs)
    return model.eval()


def torchvision_complexity(
    names: Sequence[str] | None = None, all_weights: bool = False, progress: bool = False
) -> list[ModelComplexity]:
    """Count MACs and parameters of torchvision classification models on the meta device.

    Parameters
    ----------
    names : sequence of str, optional
        Models to count (default: all of :func:`torchvision_models`).
    all_weights : bool
        One row per published weights (each at its own input size, e.g. ViT-H/14 at 224 and
        518) instead of one row per model at the smallest input size its weights use.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of ModelComplexity
        With torchvision's recorded ``_ops`` and ``num_params`` as references.
    """
    from tqdm.auto import tqdm

    if names is None:
        names = torchvision_models()
    elif isinstance(names, str):
        raise TypeError("names must be a sequence of model names, not a single string")
    names = [_check_torchvision_name(n) for n in names]
    rows = []
    for name in tqdm(names, desc="counting torchvision models", disable=not progress):
        entries = torchvision_weights(name)
        if not all_weights:
            entries = [min(entries, key=lambda e: e.image_size)]  # first of the smallest
        for entry in entries:
            model = build_torchvision_model(name, entry.image_size)
            image = torch.empty(1, 3, entry.image_size, entry.image_size, device="meta")
            rows.append(
                ModelComplexity(
                    name=name,
                    family="torchvision",
                    image_size=entry.image_size,
                    macs=count_macs(model, image).total,
                    params=count_parameters(model),
                    weights=entry.name,
                    reference_macs=None if entry.ops is None else entry.ops * 1e9,
                    reference_params=entry.num_params,
                )
            )
    return rows
