"""A curriculum: train one model through a list of task settings, each to a switching
criterion, in order (PsychRNN's curriculum; e.g. short delays first, then the task)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cordsneuro.training.trainer import TrainResult, train

__all__ = ["train_curriculum"]


def train_curriculum(
    model: Any,
    task: Any,
    stages: Sequence[Mapping[str, Any]],
    *,
    until: Any = "criterion",
    seed: int = 0,
    checkpoint_dir: Any = None,
    **train_kwargs: Any,
) -> TrainResult:
    """Train ``model`` on ``task`` through ``stages`` of task settings, in order.

    Parameters
    ----------
    model : DynamicalRNN
        Trained in place, stage after stage.
    task : str
        A task given by name (each stage builds it with its own settings).
    stages : list of dict
        The ``task_kwargs`` of each stage, e.g. ``[{"timing": {"delay": 500}}, {}]`` (the last
        one is usually ``{}``: the task itself).
    until : "criterion", float or dict
        The switching criterion: a stage ends when the held-out evaluation meets it (or at
        ``steps``, the per-stage step budget), as in :func:`~cordsneuro.train`.
    seed : int
        Stage ``i`` is trained with seed ``seed + i``.
    checkpoint_dir : path, optional
        Each stage checkpoints to its own sub-directory ``stage_<i>``, so ``resume=True``
        continues the curriculum where it stopped.
    **train_kwargs
        Other arguments of :func:`~cordsneuro.train` (``steps``, ``lr``, ``progress``...).

    Returns
    -------
    TrainResult
        The last stage's result with ``steps``, ``seconds`` and ``history`` over all stages;
        ``history["stages"]`` gives the step at which each stage ended.
    """
    if not isinstance(task, str):
        raise TypeError(
            f"a curriculum builds its task by name at each stage; got {type(task).__name__}"
        )
    if isinstance(stages, Mapping) or not stages or not all(isinstance(s, Mapping) for s in stages):
        raise ValueError("stages must be a non-empty list of dicts of task settings")
    if "task_kwargs" in train_kwargs:
        raise TypeError("give the task settings of each stage in stages, not task_kwargs")
    steps, seconds = 0, 0.0
    history: dict[str, Any] = {"step": [], "loss": [], "evaluations": [], "stages": []}
    result = None
    for index, settings in enumerate(stages):
        directory = None if checkpoint_dir is None else Path(checkpoint_dir) / f"stage_{index}"
        result = train(
            model, task, until=until, seed=seed + index, checkpoint_dir=directory,
            task_kwargs=dict(settings), **train_kwargs,
        )  # fmt: skip
        history["step"] += [steps + s for s in result.history["step"]]
        history["loss"] += result.history["loss"]
        history["evaluations"] += [
            {**e, "step": steps + e["step"]} for e in result.history["evaluations"]
        ]
        steps += result.steps
        seconds += result.seconds
        history["stages"].append(steps)
    result.steps, result.seconds, result.history = steps, seconds, history
    return result
