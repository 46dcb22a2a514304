"""The training checkpoint format (no pickle), written atomically.

Layout of ``<dir>/checkpoint/`` (replaced as a whole each time)::

    model/config.json, model/weights.safetensors   the model (DynamicalRNN.save format)
    state.safetensors                              optimizer tensors + torch noise generator
    trainer.json                                   step, settings, history, random states,
                                                   optimizer hyper-parameters
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cordsneuro._atomic import atomic_path
from cordsneuro._util import jsonable
from cordsneuro.dynamics import DynamicalRNN, load

__all__ = ["Progress", "save_checkpoint", "load_checkpoint", "FORMAT"]

FORMAT = "cordsneuro-train-checkpoint-1"


@dataclass
class Progress:
    """Where a run stands: steps done, seconds spent, learning curve, criterion reached."""

    step: int
    seconds: float
    history: dict
    reached: bool


def save_checkpoint(
    path: Path,
    model: DynamicalRNN,
    optimizer: torch.optim.Optimizer,
    noise: torch.Generator,
    task_rng: dict,
    settings: dict,
    progress: Progress,
) -> None:
    """Write the checkpoint to a temporary directory, then swap it in (never half-written)."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        tmp.mkdir()
        model.save(tmp / "model")
        state = optimizer.state_dict()
        tensors: dict[str, Tensor] = {"rng.noise": noise.get_state().cpu()}
        scalars: dict[str, dict[str, Any]] = {}
        for index, entry in state["state"].items():
            for key, value in entry.items():
                if isinstance(value, Tensor):
                    tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars.setdefault(str(index), {})[key] = jsonable(value, strict=False)
        save_file(tensors, str(tmp / "state.safetensors"))
        record = {
            "format": FORMAT,
            "model": {"class": type(model).__name__, "arguments": model.config},
            "settings": settings,
            "step": progress.step,
            "seconds": progress.seconds,
            "reached": progress.reached,
            "history": progress.history,
            "task_rng": task_rng,
            "optimizer": {"param_groups": jsonable(state["param_groups"]), "scalars": scalars},
        }
        (tmp / "trainer.json").write_text(json.dumps(record))


def load_checkpoint(
    path: Path,
    model: DynamicalRNN,
    optimizer: torch.optim.Optimizer,
    noise: torch.Generator,
    settings: dict,
) -> tuple[Progress, dict]:
    """Restore model, optimizer and noise generator in place from ``path``; return the
    progress and the task's random state. Refuses a checkpoint of another model or other
    settings."""
    from safetensors.torch import load_file

    record_path = path / "trainer.json"
    if not record_path.is_file():
        raise FileNotFoundError(f"{record_path} is missing: not a cordsneuro training checkpoint")
    record = json.loads(record_path.read_text())
    saved = record["model"]
    mine = {"class": type(model).__name__, "arguments": json.loads(json.dumps(model.config))}
    if saved != mine:
        raise ValueError(
            f"checkpoint in {path} was saved from {saved['class']}({_args(saved['arguments'])}), "
            f"not from this {mine['class']}({_args(mine['arguments'])}); use another checkpoint_dir "
            "or the model it was made with"
        )
    current = json.loads(json.dumps(settings))
    differ = {
        k: (record["settings"].get(k), v)
        for k, v in current.items()
        if record["settings"].get(k) != v
    }
    if differ:
        detail = "; ".join(f"{k}: checkpoint {a!r}, now {b!r}" for k, (a, b) in differ.items())
        raise ValueError(f"cannot resume from {path}: the training settings differ ({detail})")
    device = next(model.parameters()).device
    weights = load(path / "model", map_location=device)
    model.load_state_dict(weights.state_dict())
    tensors = load_file(str(path / "state.safetensors"))
    noise.set_state(tensors.pop("rng.noise"))
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, entries in record["optimizer"]["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    optimizer.load_state_dict({"state": state, "param_groups": record["optimizer"]["param_groups"]})
    progress = Progress(
        int(record["step"]), float(record["seconds"]), record["history"], bool(record["reached"])
    )
    return progress, record["task_rng"]


def _args(arguments: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in list(arguments.items())[:6])
