"""Training: :func:`train` (any trial-based task), :func:`train_many` (K networks as one), the loss and its regularisers, the
checkpoint format, a public curriculum and the paper-task recipes."""

from cordsneuro.training.curriculum import train_curriculum
from cordsneuro.training.loss import rate_penalty, weight_penalty, weighted_loss
from cordsneuro.training.many import train_many
from cordsneuro.training.recipes import RECIPES, paper_model, recipe, train_paper_task
from cordsneuro.training.trainer import TrainResult, train

__all__ = [
    "train",
    "train_many",
    "TrainResult",
    "weighted_loss",
    "weight_penalty",
    "rate_penalty",
    "train_curriculum",
    "RECIPES",
    "recipe",
    "paper_model",
    "train_paper_task",
]
