"""Cognitive tasks of the paper as neurogym environments, trial-aligned batches and evaluation.

``from cordsneuro import tasks`` imports neurogym (only then, never at ``import cordsneuro``)
and registers every task with gymnasium as ``cordsneuro/<name>-v0``::

    import gymnasium
    from cordsneuro import tasks

    env = gymnasium.make("cordsneuro/PDM-v0")          # or tasks.make("PDM", dt=20)
    inputs, targets, mask, info = tasks.make_batch("PDM", 64, seed=0)
"""

from cordsneuro.tasks.batching import Batch, TaskInfo, describe, get_task, make_batch
from cordsneuro.tasks.cognitive import (
    CDM,
    COHERENCES,
    DMS,
    MDM,
    PDM,
    PWM,
    TASKS,
    CognitiveTask,
    MemoryPro,
    make,
    register_environments,
)
from cordsneuro.tasks.evaluation import Evaluation, evaluate
from cordsneuro.tasks.visual import (
    VISUAL_TASKS,
    Category,
    DelayedResponse,
    Motion,
    Numerosity,
    VisualTask,
    register_visual_environments,
)

register_environments()
register_visual_environments()

__all__ = [
    "CognitiveTask",
    "PDM",
    "PWM",
    "CDM",
    "MDM",
    "DMS",
    "MemoryPro",
    "TASKS",
    "COHERENCES",
    "make",
    "register_environments",
    "Batch",
    "TaskInfo",
    "make_batch",
    "get_task",
    "describe",
    "evaluate",
    "Evaluation",
    "VisualTask",
    "Numerosity",
    "Category",
    "DelayedResponse",
    "Motion",
    "VISUAL_TASKS",
]
