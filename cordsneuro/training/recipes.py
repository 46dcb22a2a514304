"""Recipes: the settings that train the Table S1 networks on the paper's tasks here, and
:func:`train_paper_task`, which trains one through the public curriculum
(:func:`~cordsneuro.training.curriculum.train_curriculum`)."""

from __future__ import annotations

from typing import Any

import torch

from cordsneuro._util import task_key
from cordsneuro.training.curriculum import train_curriculum
from cordsneuro.training.trainer import TrainResult

__all__ = ["RECIPES", "recipe", "paper_model", "train_paper_task"]

#: Hyper-parameters that train the Table S1 networks (N = 125) on the paper's tasks on 2 CPU
#: cores (``examples/cognitive_tasks_table.py`` reports the outcome). ``model`` entries go to
#: the model's constructor, the rest to :func:`train`. The paper swept lr ∈ {1e-2, 1e-3, 1e-4}
#: and ReLU / tanh / softplus (Appendix B.3); these are single settings that work here.
_TANH = {"activation": "tanh"}
RECIPES: dict[str, dict[str, Any]] = {
    "PDM": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 2000},
    "CDM": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 2000},
    "MDM": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 2000},
    # rank 2 holds f1 over the delay once its two modes start as a plane attractor (see
    # paper_model's ``lowrank_init``); from the random start it crawls (R² 0.82 in 3000 steps)
    "PWM": {
        "model": _TANH,
        "lr": 3e-3,
        "batch_size": 64,
        "steps": 3000,
        "architectures": {"lowrank": {"lowrank_init": 1.0}},
    },
    # DMS (an XOR held over a delay of up to 3 s) sits on a long loss plateau (ln 2) from a
    # gain-1 random start; a richer initial regime (gain 1.5) escapes it in ~100 steps. Rank 2
    # needs its plane-attractor start (lowrank_init) and a smaller lr.
    "DMS": {
        "model": {"activation": "tanh", "gain": 1.5},
        "lr": 1e-3,
        "batch_size": 64,
        "steps": 3000,
        "architectures": {"lowrank": {"model": _TANH, "lowrank_init": 1.0, "lr": 1e-3}},
    },
    "MemoryProRing": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 3000},
    "MemoryProLine": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 3000},
    "MemoryProPoints": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 3000},
}


def recipe(task: str, architecture: str = "conv") -> dict[str, Any]:
    """The settings of :data:`RECIPES` for one task and architecture: ``model`` (constructor
    arguments) and the keyword arguments of :func:`train`."""
    if not isinstance(task, str):
        raise TypeError(
            f"task must be the name of one of the paper's tasks, got {type(task).__name__}"
        )
    lookup = {k.lower(): k for k in RECIPES}
    key = task_key(task)
    if key not in lookup:
        raise ValueError(f"no recipe for task {task!r}; recipes exist for {sorted(RECIPES)}")
    base = {k: v for k, v in RECIPES[lookup[key]].items() if k != "architectures"}
    override = RECIPES[lookup[key]].get("architectures", {}).get(architecture, {})
    return {**base, **override}


def paper_model(
    task: str, architecture: str, n_neurons: int = 125, *, seed: int = 0, **overrides: Any
):
    """The Table S1 network (``architecture`` ∈ full / lowrank / sparse / conv) sized for one of
    the paper's tasks, with the settings of :data:`RECIPES` (``overrides`` go to the
    constructor). A recipe's ``lowrank_init = g`` re-initialises a low-rank network's Q as
    ``g · pinv(P)`` so that ``W = P Q`` starts with two real eigenvalues equal to g."""
    from cordsneuro.models.recurrent import table_s1
    from cordsneuro.tasks.task import resolve

    info = resolve(task)
    settings = recipe(task, architecture)
    kwargs = {**settings["model"], **overrides}
    model = table_s1(n_neurons, architecture, info.n_inputs, info.n_outputs, seed=seed, **kwargs)
    if "lowrank_init" in settings:
        # W = P Q with Q = g P⁺ (pseudo-inverse): W = g · (projector on span P), whose two
        # non-zero eigenvalues are exactly g and real. g = 1 makes the rank-2 plane a
        # (linear-regime) plane attractor from the start: a continuous memory to shape.
        with torch.no_grad():
            model.q.copy_(float(settings["lowrank_init"]) * torch.linalg.pinv(model.p))
    return model


def train_paper_task(
    task: str,
    architecture: str = "conv",
    n_neurons: int = 125,
    *,
    seed: int = 0,
    **train_kwargs: Any,
) -> TrainResult:
    """Train a Table S1 network on one of the paper's tasks to its criterion with the settings
    of :data:`RECIPES` (deterministic for a given seed on one machine).

    The run goes through :func:`~cordsneuro.training.curriculum.train_curriculum`: a recipe's
    ``curriculum`` (a list of task settings, e.g. shorter delays) is trained stage by stage,
    each to the criterion, before the task itself (no recipe needs one today; the list is
    then just the task). ``train_kwargs`` override the recipe (``steps``, ``lr``,
    ``progress``, ``checkpoint_dir``...).

    Example: a ConvRNN (125 neurons) storing a ring variable (MemoryPro ring, Appendix B.4)::

        result = train_paper_task("MemoryProRing", "conv", seed=0)
        result.model.save("memorypro_ring_conv")
    """
    model = paper_model(task, architecture, n_neurons, seed=seed)
    settings = recipe(task, architecture)
    kwargs = {k: v for k, v in settings.items() if k not in ("model", "curriculum", "lowrank_init")}
    kwargs.update(train_kwargs)
    kwargs.setdefault("until", "criterion")
    stages = [*settings.get("curriculum", []), {}]
    return train_curriculum(model, task, stages, seed=seed, **kwargs)
