"""cordsneuro: continuous-time recurrent neural network dynamical systems for neuroscience.

Public names are imported lazily so that ``import cordsneuro`` stays fast (no torch,
neurogym or torchvision until a name is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_LAZY = {
    "DynamicalRNN": "cordsneuro.dynamics",
    "Trajectory": "cordsneuro.dynamics",
    "load": "cordsneuro.dynamics",
    "FullRNN": "cordsneuro.models.recurrent",
    "LowRankRNN": "cordsneuro.models.recurrent",
    "SparseRNN": "cordsneuro.models.recurrent",
    "ConvRNN": "cordsneuro.models.recurrent",
    "CordsNet": "cordsneuro.models.cordsnet",
    "MultiAreaModel": "cordsneuro.models.multiarea",
    "train": "cordsneuro.training.trainer",
}
_SUBMODULES = ("tasks", "analyses", "models", "training", "dynamics", "plotting")

__all__ = sorted([*_LAZY, "tasks", "analyses", "__version__"])


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"cordsneuro.{name}")
    else:
        raise AttributeError(f"module 'cordsneuro' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs only
    from cordsneuro import analyses, tasks  # noqa: F401
    from cordsneuro.dynamics import DynamicalRNN, Trajectory, load  # noqa: F401
    from cordsneuro.models.cordsnet import CordsNet  # noqa: F401
    from cordsneuro.models.multiarea import MultiAreaModel  # noqa: F401
    from cordsneuro.models.recurrent import ConvRNN, FullRNN, LowRankRNN, SparseRNN  # noqa: F401
    from cordsneuro.training.trainer import train  # noqa: F401
