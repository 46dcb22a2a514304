"""Cognitive tasks of the paper as neurogym environments, trial-aligned batches and evaluation.

``from cordsneuro import tasks`` imports neurogym (only then, never at ``import cordsneuro``)
and registers every task with gymnasium as ``cordsneuro/<name>-v0``::

    import gymnasium
    from cordsneuro import tasks

    tasks.list_tasks()                                  # the paper's tasks; "yang19", "neurogym"
    env = gymnasium.make("cordsneuro/PDM-v0")          # or tasks.make("PDM", dt=20)
    print(tasks.describe("PDM"))                        # epochs, inputs, answer, criterion
    inputs, targets, mask, info = tasks.make_batch("PDM", 64, seed=0)

``train``, ``evaluate`` and ``make_batch`` take a name, an env, a :func:`trial_task` or a
:class:`Task`, and resolve it once (:func:`resolve`).
"""

from cordsneuro.tasks.base import NOISE_DT, CognitiveTask
from cordsneuro.tasks.batching import Batch
from cordsneuro.tasks.cognitive import (
    CDM,
    COHERENCES,
    DMS,
    MDM,
    PDM,
    PWM,
    TASKS,
    VARIANTS,
    MemoryPro,
    MemoryProLine,
    MemoryProPoints,
    MemoryProRing,
    register_environments,
)
from cordsneuro.tasks.evaluation import Evaluation, evaluate
from cordsneuro.tasks.task import (
    YANG2019,
    LossWeights,
    Task,
    describe,
    list_tasks,
    make,
    make_batch,
    resolve,
    trial_task,
)

register_environments()

__all__ = [
    "CognitiveTask",
    "PDM",
    "PWM",
    "CDM",
    "MDM",
    "DMS",
    "MemoryPro",
    "MemoryProRing",
    "MemoryProLine",
    "MemoryProPoints",
    "TASKS",
    "COHERENCES",
    "VARIANTS",
    "NOISE_DT",
    "make",
    "list_tasks",
    "describe",
    "resolve",
    "trial_task",
    "Task",
    "LossWeights",
    "YANG2019",
    "register_environments",
    "Batch",
    "make_batch",
    "evaluate",
    "Evaluation",
]
