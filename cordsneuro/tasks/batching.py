"""Trial-aligned batches: ``(inputs, targets, mask, trial_info)``, batch-first, padded and masked.

One function, :func:`make_batch`, serves every task:

* the paper's tasks (:class:`~cordsneuro.tasks.cognitive.CognitiveTask`) are built a whole
  batch at once (vectorised numpy) from their declaration; the trials are exactly those the
  environment's own ``new_trial`` gives after the same seed (same conditions, durations, noise,
  bit for bit);
* any other ``neurogym.TrialEnv`` (neurogym's own collection included, bare or wrapped) goes
  through its ``new_trial`` one trial at a time, padded to the longest trial.

Unlike ``neurogym.Dataset``, which cuts a continuous stream of trials into fixed-length chunks,
every row of a batch starts at the start of a trial; steps past a trial's end are padding
(inputs and targets 0, ``mask`` False).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import neurogym as ngym
import numpy as np
import torch
from neurogym.core import TrialEnv, TrialWrapper
from neurogym.envs.registration import ALL_EXTENDED_ENVS
from torch import Tensor

from cordsneuro.tasks.cognitive import TASKS, CognitiveTask
from cordsneuro.tasks.cognitive import make as make_cognitive

__all__ = ["Batch", "TaskInfo", "make_batch", "get_task", "describe", "rng_state", "set_rng_state"]


@dataclass
class Batch:
    """A batch of whole trials.

    Attributes
    ----------
    inputs : Tensor
        ``(batch, time, n_inputs)`` float32.
    targets : Tensor
        ``(batch, time)`` int64 class indices (categorical answers) or ``(batch, time,
        n_outputs)`` float32 (continuous answers); 0 where ``mask`` is False.
    mask : Tensor
        ``(batch, time)`` bool: the steps that are scored (the paper's tasks: their scored
        epochs; other envs: every step of the trial, padding excluded).
    trial_info : dict of str → ndarray
        Per-trial ``(batch,)`` arrays: the conditions (``target`` included), ``length`` in steps,
        and for each epoch ``<epoch>_start`` / ``<epoch>_end`` (steps) and ``<epoch>_ms``.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    trial_info: dict[str, np.ndarray] = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter((self.inputs, self.targets, self.mask, self.trial_info))

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def to(self, device: str | torch.device) -> Batch:
        return Batch(
            self.inputs.to(device), self.targets.to(device), self.mask.to(device), self.trial_info
        )


@dataclass(frozen=True)
class TaskInfo:
    """What a model needs to know about a task: widths, kind of answer, name and config."""

    name: str
    n_inputs: int
    n_outputs: int
    answer: str  # "categorical" | "continuous"
    config: dict


# ----------------------------------------------------------------------------- tasks


def get_task(task: Any, **kwargs: Any) -> TrialEnv:
    """Resolve a task: a ``TrialEnv`` (or a gymnasium wrapper around one) is returned as is; a
    string is one of the paper's tasks (``"PDM"``, ``"cordsneuro/PDM-v0"``, ``"MemoryProRing"``)
    or any registered neurogym / gymnasium id (``"PerceptualDecisionMaking-v0"``), built with
    ``kwargs``."""
    if isinstance(task, str):
        short = task.removeprefix("cordsneuro/").removesuffix("-v0").lower()
        if short in {k.lower() for k in TASKS}:
            return make_cognitive(task, **kwargs)
        from cordsneuro.tasks.visual import VISUAL_TASKS, make_visual

        if short in {k.lower() for k in VISUAL_TASKS}:
            return make_visual(task, **kwargs)
        if task in gymnasium.registry or task in ALL_EXTENDED_ENVS:
            try:
                env = ngym.make(task, **kwargs)
            except Exception:  # noqa: BLE001 - not a neurogym id: try gymnasium
                env = gymnasium.make(task, **kwargs)
            _trial_source(env)  # raises if it is not a trial-based env
            return env
        raise ValueError(
            f"unknown task id {task!r}: use one of the paper's tasks {sorted(TASKS)} "
            "(or 'cordsneuro/<name>-v0'), or a registered neurogym id such as "
            "'PerceptualDecisionMaking-v0'"
        )
    if kwargs:
        raise TypeError("keyword arguments are only used when the task is given by name")
    _trial_source(task)
    return task


def _trial_source(env: Any) -> Any:
    """The object whose ``new_trial`` builds trials: the outermost neurogym ``TrialWrapper`` or
    the ``TrialEnv`` itself, looking through gymnasium wrappers."""
    current = env
    while True:
        if isinstance(current, (TrialWrapper, TrialEnv)):
            return current
        inner = getattr(current, "env", None)
        if inner is None or inner is current:
            raise TypeError(
                f"task must be a neurogym TrialEnv (or a wrapper of one) or a task id, got {type(env).__name__}"
            )
        current = inner


def describe(task: Any) -> TaskInfo:
    """Input / output widths and kind of answer of any trial-based task."""
    if isinstance(task, CognitiveTask):
        return TaskInfo(task.name, task.n_inputs, task.n_outputs, task.answer, task.config)
    env = _trial_source(task)
    base = env.unwrapped
    obs = base.observation_space
    act = base.action_space
    if obs.shape is None or len(obs.shape) != 1:
        raise ValueError(
            f"{type(base).__name__}: only 1-D observation spaces can be batched, got {obs.shape}"
        )
    if isinstance(act, gymnasium.spaces.Discrete):
        n_out, answer = int(act.n), "categorical"
    elif isinstance(act, gymnasium.spaces.Box) and act.shape is not None and len(act.shape) == 1:
        n_out, answer = int(act.shape[0]), "continuous"
    else:
        raise ValueError(
            f"{type(base).__name__}: action space {act} is neither Discrete nor a 1-D Box"
        )
    spec = getattr(base, "spec", None) or getattr(task, "spec", None)
    name = spec.id if spec is not None else type(base).__name__
    return TaskInfo(name, int(obs.shape[0]), n_out, answer, {"task": name, "dt": float(base.dt)})


def rng_state(task: Any) -> dict:
    """The task's random state, JSON-ready (for checkpoints)."""
    if isinstance(task, CognitiveTask):
        return {"streams": task.rng_state()}
    name, keys, pos, has_gauss, cached = _trial_source(task).unwrapped.rng.get_state()
    return {"randomstate": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}


def set_rng_state(task: Any, state: Mapping) -> None:
    """Restore what :func:`rng_state` returned."""
    if isinstance(task, CognitiveTask):
        task.set_rng_state(state["streams"])
        return
    name, keys, pos, has_gauss, cached = state["randomstate"]
    _trial_source(task).unwrapped.rng.set_state(
        (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached)
    )


# ----------------------------------------------------------------------------- batches


def make_batch(
    task: Any,
    batch_size: int,
    *,
    seed: int | None = None,
    device: str | torch.device | None = None,
    **conditions: Any,
) -> Batch:
    """Draw ``batch_size`` whole trials of ``task``.

    Parameters
    ----------
    task : CognitiveTask, neurogym TrialEnv or str
        See :func:`get_task`. An env keeps its random state: without ``seed`` successive batches
        continue its stream (``make_batch(env, 10)`` twice = 20 × ``env.new_trial()``).
    batch_size : int
        Number of trials (>= 1).
    seed : int, optional
        Reseed the task first (``env.seed(seed)``): the same seed gives the same trials.
    device : str or torch.device, optional
        Where the tensors go (default CPU).
    **conditions
        Fix conditions (a scalar or one value per trial), e.g. ``coherence=0.05`` for PDM;
        for other envs they are passed to ``new_trial``.

    Returns
    -------
    Batch
        ``(inputs, targets, mask, trial_info)``; see :class:`Batch`.
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an int >= 1 (got {batch_size!r})")
    task = get_task(task)
    if seed is not None:
        _trial_source(task).unwrapped.seed(int(seed))
    if isinstance(task, CognitiveTask):
        arrays = _vectorised(task, int(batch_size), conditions)
    else:
        arrays = _one_by_one(task, int(batch_size), conditions)
    inputs, targets, mask, info = arrays
    batch = Batch(torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask), info)
    return batch.to(device) if device is not None else batch


def _vectorised(task: CognitiveTask, n: int, fixed: dict) -> tuple:
    """Interpret the task's declaration for a whole batch at once (the same arithmetic, in the
    same order and precision, as neurogym's ``add_ob`` / ``set_groundtruth`` on one trial)."""
    conditions, durations, noise = task.sample(n, **fixed)
    info: dict[str, np.ndarray] = dict(conditions)
    start = np.zeros(n, dtype=np.int64)
    for p in task.periods:
        info[f"{p}_start"] = start
        info[f"{p}_end"] = start = start + durations[p]
        info[f"{p}_ms"] = durations[p] * task.dt
    info["length"] = start
    n_time = int(start.max())
    t = np.arange(n_time)

    def within(p: str) -> np.ndarray:
        return (t >= info[f"{p}_start"][:, None]) & (t < info[f"{p}_end"][:, None])

    render = getattr(task, "render_inputs", None)  # image tasks (tasks.visual): (n, time, C, H, W)
    if render is not None:
        inputs = render(conditions, info, n_time)
    else:
        inputs = np.zeros((n, n_time, task.n_inputs), dtype=np.float32)
    channel = {name: i for i, name in enumerate(task.input_names)}
    stimuli, answer = task.declare(conditions)
    for stim in stimuli:
        idx = [channel[c] for c in stim.channels]
        value = stim.value.reshape(n, 1, len(idx))
        for p in stim.periods:
            on = within(p)[..., None]
            inputs[..., idx] += np.where(on, value, 0.0)
            if stim.noise_std > 0:
                j = task.noise_channels.index(stim.channels[0])
                inputs[..., idx] += np.where(on, stim.noise_std * noise[:, :n_time, j : j + 1], 0.0)
    mask = np.zeros((n, n_time), dtype=bool)
    for p in task.scored_periods:
        mask |= within(p)
    target_on = np.zeros((n, n_time), dtype=bool)
    for p in answer.periods:
        target_on |= within(p)
    if task.answer == "categorical":
        targets = np.where(target_on, answer.value[:, None], 0).astype(np.int64)
    else:
        value = answer.value.reshape(n, 1, task.n_outputs)
        targets = np.where(target_on[..., None], value, 0.0).astype(np.float32)
    return inputs, targets, mask, info


def _one_by_one(task: Any, n: int, fixed: dict) -> tuple:
    """Any TrialEnv: ``new_trial`` per row, padded to the longest trial."""
    source = _trial_source(task)
    base = source.unwrapped
    spec = describe(task)
    obs, gts, trials, bounds = [], [], [], []
    for _ in range(n):
        trials.append(source.new_trial(**fixed) or {})
        obs.append(np.asarray(base.ob, dtype=np.float32).reshape(len(base.ob), -1))
        gts.append(np.asarray(base.gt))
        bounds.append((dict(base.start_ind), dict(base.end_ind)))
    lengths = np.array([len(o) for o in obs], dtype=np.int64)
    n_time = int(lengths.max())
    inputs = np.zeros((n, n_time, spec.n_inputs), dtype=np.float32)
    if spec.answer == "categorical":
        targets = np.zeros((n, n_time), dtype=np.int64)
    else:
        targets = np.zeros((n, n_time, spec.n_outputs), dtype=np.float32)
    for i, (o, g) in enumerate(zip(obs, gts)):
        inputs[i, : len(o)] = o
        targets[i, : len(g)] = g.reshape(targets[i, : len(g)].shape)
    mask = np.arange(n_time)[None, :] < lengths[:, None]
    info: dict[str, np.ndarray] = {"length": lengths}
    keys = set.intersection(*(set(t) for t in trials)) if trials else set()
    for key in sorted(keys):
        values = [t[key] for t in trials]
        if all(
            np.ndim(v) == 0 and isinstance(np.asarray(v).item(), (int, float, bool, str))
            for v in values
        ):
            info[key] = np.asarray(values)
    periods = set.intersection(*(set(s) for s, _ in bounds)) if bounds else set()
    dt = float(base.dt)
    for p in sorted(periods):
        info[f"{p}_start"] = np.array([s[p] for s, _ in bounds], dtype=np.int64)
        info[f"{p}_end"] = np.array([e[p] for _, e in bounds], dtype=np.int64)
        info[f"{p}_ms"] = (info[f"{p}_end"] - info[f"{p}_start"]) * dt
    if spec.answer == "categorical":
        # the answer of a trial: the ground truth at its last step (neurogym ends trials in the
        # decision period)
        info["target"] = targets[np.arange(n), lengths - 1]
    return inputs, targets, mask, info
