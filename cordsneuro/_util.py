"""Small helpers shared across the package (one copy each): JSON-ready values, task-id parsing
and seeded torch generators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["jsonable", "task_key", "torch_generator"]


def jsonable(value: Any) -> Any:
    """``value`` with tensors, NumPy scalars / arrays, tuples and paths turned into plain
    Python (lists, numbers, strings), recursively through lists and dicts."""
    import numpy as np

    if hasattr(value, "detach") and hasattr(value, "numel"):  # a torch tensor
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 and value.dim() == 0 else value.tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def task_key(name: str) -> str:
    """The short, lower-case key of a task id: ``"cordsneuro/PDM-v0"`` → ``"pdm"``."""
    return name.removeprefix("cordsneuro/").removesuffix("-v0").lower()


def torch_generator(device: Any, seed: int) -> Any:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    import torch

    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
