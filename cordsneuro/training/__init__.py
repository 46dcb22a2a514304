"""Training: :func:`train` (cognitive and any trial-based task) and the paper-task recipes."""

from cordsneuro.training.trainer import (
    RECIPES,
    TrainResult,
    masked_loss,
    paper_model,
    recipe,
    train,
    train_paper_task,
)

__all__ = [
    "train",
    "TrainResult",
    "masked_loss",
    "RECIPES",
    "recipe",
    "paper_model",
    "train_paper_task",
]
