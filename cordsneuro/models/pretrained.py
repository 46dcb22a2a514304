"""The authors' published CordsNet checkpoint: cache, download, verification, key conversion.

The repository ``wmws2/cordsnet`` ships ``cordsnetr8.pth``, the state dict of its ``cordsnet``
class (CordsNet-R8 trained on ImageNet, 224 × 224 inputs). Its keys are converted to ours:

================================================  ============================================
theirs                                            ours (:class:`~cordsneuro.models.cordsnet.CordsNet`)
================================================  ============================================
``inp_conv.parametrizations.weight.original0/1``  ``stem.parametrizations.weight.original0/1``
``inp_skip.…``                                    ``input_skip.…``
``area_conv.N.…``                                 ``recurrent.N.…``
``area_area.N.…``                                 ``feedforward.N.…``
``skip_area.N.…``                                 ``skip.N.…``
``conv_bias.N``                                   ``area_bias.N``
``out_fc.parametrizations.weight.original0/1``,   ``fc.…``
``out_fc.bias``
================================================  ============================================

``original0`` is the weight-norm magnitude ``g`` and ``original1`` the direction ``v``
(``torch.nn.utils.parametrizations.weight_norm``): both are kept as they are, so the
materialised weights are bit-identical to theirs. A ``module.`` prefix (DataParallel / DDP
checkpoints of their training scripts) is removed.

Files are read with ``torch.load(weights_only=True)``: no code in a checkpoint is executed.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from cordsneuro._atomic import atomic_path
from cordsneuro.models.weights import WEIGHTS, WeightsEntry
from cordsneuro.models.wiring import DEPTHS, cordsnet_wiring

if TYPE_CHECKING:
    from cordsneuro.models.cordsnet import CordsNet

__all__ = [
    "CHECKPOINT_BLOB_ID",
    "CHECKPOINT_NAME",
    "CHECKPOINT_URL",
    "cache_dir",
    "convert_published_state_dict",
    "ensure_checkpoint",
    "git_blob_id",
    "infer_config",
    "load_published_weights",
    "read_state_dict",
]

_R8 = WEIGHTS[("imagenet", 8)]
#: The published CordsNet-R8 checkpoint's file name, raw URL and git blob id (its entry of
#: :data:`~cordsneuro.models.weights.WEIGHTS`).
CHECKPOINT_NAME, CHECKPOINT_URL, CHECKPOINT_BLOB_ID = _R8.filename, _R8.url, _R8.blob_id

_RENAME = (
    ("inp_conv.", "stem."),
    ("inp_skip.", "input_skip."),
    ("area_conv.", "recurrent."),
    ("area_area.", "feedforward."),
    ("skip_area.", "skip."),
    ("conv_bias.", "area_bias."),
    ("out_fc.", "fc."),
)


def cache_dir() -> Path:
    """``$CORDSNEURO_HOME`` or ``~/.cache/cordsneuro``."""
    return Path(os.environ.get("CORDSNEURO_HOME") or Path.home() / ".cache" / "cordsneuro")


def git_blob_id(path: str | os.PathLike) -> str:
    """Git's object id of a file: ``sha1(b"blob <size>\\0" + content)``."""
    path = Path(path)
    h = hashlib.sha1()
    h.update(b"blob %d\0" % path.stat().st_size)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str, dest: Path, blob_id: str) -> None:
    """Download ``url`` to a temporary file next to ``dest``, verify it, then rename."""
    from tqdm.auto import tqdm

    with atomic_path(dest) as tmp:
        with tmp.open("wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}"
            ) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        blob = git_blob_id(tmp)
        if blob != blob_id:
            raise ValueError(
                f"corrupted download of {url}: git blob id {blob}, expected {blob_id} "
                f"(the file was discarded; try again, or download it by hand to {dest})"
            )


def ensure_checkpoint(download: bool = True, entry: WeightsEntry | None = None) -> Path:
    """Path of a verified published checkpoint, downloading it into :func:`cache_dir` once.

    ``entry`` is a :class:`~cordsneuro.models.weights.WeightsEntry` (default: CordsNet-R8 on
    ImageNet).

    Raises
    ------
    FileNotFoundError
        Not cached and the download failed (e.g. offline): the message says where to put it.
    ValueError
        The cached or downloaded file is not the published one (git blob id differs).
    """
    entry = WEIGHTS[("imagenet", 8)] if entry is None else entry
    path = cache_dir() / entry.filename
    if not path.is_file():
        if not download:
            raise FileNotFoundError(_where_to_put(path, entry, "download=False"))
        try:
            _download(entry.url, path, entry.blob_id)
        except OSError as err:  # URLError, timeouts, DNS failures are OSErrors
            raise FileNotFoundError(_where_to_put(path, entry, f"download failed: {err}")) from err
    blob = git_blob_id(path)
    if blob != entry.blob_id:
        raise ValueError(
            f"{path} is corrupted or not the published checkpoint: git blob id {blob}, expected "
            f"{entry.blob_id}. Delete it to download it again, or replace it with {entry.url}"
        )
    return path


def _where_to_put(path: Path, entry: WeightsEntry, why: str) -> str:
    return (
        f"the published CordsNet-R{entry.depth} checkpoint is not in the cache ({why}). "
        f"Download {entry.url} (git blob {entry.blob_id}) and put it at {path} "
        f"(the cache directory is $CORDSNEURO_HOME, default ~/.cache/cordsneuro), or pass "
        f"weights=<path to the file>"
    )


def convert_published_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename the keys of an authors'-format state dict to ours (see the module docstring).

    Raises ``ValueError`` naming the keys that match no published name."""
    out, unknown = {}, []
    for key, value in state_dict.items():
        if key.startswith("module."):
            key = key[len("module.") :]
        for theirs, ours in _RENAME:
            if key.startswith(theirs):
                out[ours + key[len(theirs) :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"not a CordsNet checkpoint in the published format: unknown keys {unknown}"
        )
    return out


def read_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read an authors'-format ``.pth`` state dict safely (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle/zip errors of a truncated or foreign file
        raise ValueError(f"{path} is not a readable PyTorch state dict ({err})") from err
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return dict(state)


def infer_config(state_dict: Mapping[str, Tensor]) -> dict:
    """``depth``, ``in_channels``, ``num_classes`` and ``image_size`` of a converted state dict.

    The image size is the one whose wiring (:func:`~cordsneuro.models.wiring.cordsnet_wiring`)
    gives every tensor of the state dict its shape; the state dict fixes it only up to the
    stem's rounding (4 sizes give the same grids), so 224 is preferred, then the largest."""
    depth = len({m.group(1) for k in state_dict if (m := re.match(r"recurrent\.(\d+)\.", k))})
    config: dict = {"depth": depth}
    stem = state_dict.get("stem.parametrizations.weight.original1")
    if stem is not None:
        config["in_channels"] = int(stem.shape[1])
    fc_bias = state_dict.get("fc.bias")
    if fc_bias is not None:
        config["num_classes"] = int(fc_bias.shape[0])
    grid = state_dict.get("area_bias.0")
    if depth not in DEPTHS or len(config) != 3 or grid is None or grid.ndim != 3:
        return config
    shapes = {k: tuple(v.shape) for k, v in state_dict.items()}

    def candidates(side: int) -> list[int]:
        sizes = [4 * side, 4 * side - 1, 4 * side - 2, 4 * side - 3]
        return [224, *sizes] if 224 in sizes else sizes

    for h in candidates(int(grid.shape[1])):
        for w in candidates(int(grid.shape[2])):
            if h < 1 or w < 1:
                continue
            wiring = cordsnet_wiring(depth, config["in_channels"], config["num_classes"], (h, w))
            if wiring.parameter_shapes() == shapes:
                config["image_size"] = h if h == w else (h, w)
                return config
    return config


def load_published_weights(
    model: CordsNet, source: str | os.PathLike | Mapping[str, Tensor]
) -> CordsNet:
    """Load an authors'-format checkpoint (a path or a state dict) into ``model``.

    Raises ``ValueError`` listing missing / unexpected keys and every shape mismatch."""
    state = read_state_dict(source) if not isinstance(source, Mapping) else dict(source)
    converted = convert_published_state_dict(state)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    shapes = [
        f"{k}: checkpoint {tuple(v.shape)}, model {tuple(expected[k].shape)}"
        for k, v in converted.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            f"checkpoint does not match CordsNet-R{model.depth} (image_size={model.image_size}, "
            f"in_channels={model.in_channels}, num_classes={model.num_classes}): "
            f"missing keys {missing}, unexpected keys {unexpected}, shape mismatches {shapes}"
        )
    for k, v in converted.items():
        if not torch.isfinite(v).all():
            raise ValueError(f"checkpoint entry {k} contains NaN or Inf")
    model.load_state_dict(converted)
    return model
