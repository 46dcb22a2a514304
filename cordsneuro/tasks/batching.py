"""Trial-aligned batches: ``(inputs, targets, mask, trial_info)``, batch-first, padded and masked.

:class:`Batch` and the three ways a :class:`~cordsneuro.tasks.task.Task` fills one
(:meth:`Task.batch <cordsneuro.tasks.task.Task.batch>`, or :func:`cordsneuro.tasks.make_batch`):

* the paper's tasks (:class:`~cordsneuro.tasks.base.CognitiveTask`) are built a whole batch at
  once (vectorised numpy, :func:`vectorised`) from their declaration; the trials are exactly
  those the environment's own ``new_trial`` gives after the same seed (same conditions,
  durations, noise, bit for bit);
* any other ``neurogym.TrialEnv`` (neurogym's own collection included, bare or wrapped) goes
  through its ``new_trial`` one trial at a time, padded to the longest trial (:func:`one_by_one`);
* a trial function (:func:`~cordsneuro.tasks.task.trial_task`) is called once per trial
  (:func:`from_function`).

Unlike ``neurogym.Dataset``, which cuts a continuous stream of trials into fixed-length chunks,
every row of a batch starts at the start of a trial; steps past a trial's end are padding
(inputs and targets 0, ``mask`` False).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cordsneuro.tasks.base import CognitiveTask

__all__ = ["Batch", "vectorised", "one_by_one", "from_function"]


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


def vectorised(task: CognitiveTask, n: int, fixed: dict) -> tuple:
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
                inputs[..., idx] += np.where(
                    on, stim.noise_std * task.noise_scale * noise[:, :n_time, j : j + 1], 0.0
                )
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


def one_by_one(
    source: Any,
    n: int,
    fixed: dict,
    n_inputs: int,
    answer: str,
    n_outputs: int,
    score_epochs: Sequence[str] | None = None,
) -> tuple:
    """Any TrialEnv: ``source.new_trial`` per row, padded to the longest trial. The mask marks
    the response steps: the ``score_epochs`` if given, else the ``decision`` epoch if the env
    has one, else the steps whose ground truth is not fixation (continuous answers: every
    step)."""
    if fixed:
        _check_conditions(source, fixed)
    obs, gts, trials, bounds = [], [], [], []
    for _ in range(n):
        trials.append(source.new_trial(**fixed) or {})
        base = source.unwrapped  # after new_trial: a scheduling wrapper switches env per trial
        # copies: some envs (neurogym's yang19 collection) refill the same buffers next trial
        obs.append(np.array(base.ob, dtype=np.float32).reshape(len(base.ob), -1))
        gts.append(np.array(base.gt))
        bounds.append((dict(base.start_ind), dict(base.end_ind)))
    inputs, targets, lengths = _padded(obs, gts, n_inputs, answer, n_outputs)
    t = np.arange(inputs.shape[1])[None, :]
    valid = t < lengths[:, None]
    info = _conditions_of(trials)
    info["length"] = lengths
    periods = set.intersection(*(set(s) for s, _ in bounds)) if bounds else set()
    dt = float(base.dt)
    for p in sorted(periods):
        info[f"{p}_start"] = np.array([s[p] for s, _ in bounds], dtype=np.int64)
        info[f"{p}_end"] = np.array([e[p] for _, e in bounds], dtype=np.int64)
        info[f"{p}_ms"] = (info[f"{p}_end"] - info[f"{p}_start"]) * dt
    if answer != "categorical":
        return inputs, targets, valid, info
    if score_epochs is not None:
        missing = sorted(set(score_epochs) - periods)
        if missing:
            raise ValueError(
                f"score_epochs names {missing}, but the trials have the epochs {sorted(periods)}"
            )
        mask = np.zeros_like(valid)
        for p in score_epochs:
            mask |= (t >= info[f"{p}_start"][:, None]) & (t < info[f"{p}_end"][:, None])
    elif "decision" in periods:
        mask = (t >= info["decision_start"][:, None]) & (t < info["decision_end"][:, None])
    else:
        mask = targets != 0
    mask &= valid
    # the answer of a trial: the ground truth at its first response step
    first = np.where(mask.any(1), mask.argmax(1), lengths - 1)
    info["target"] = targets[np.arange(n), first]
    return inputs, targets, mask, info


def from_function(
    trial: Callable,
    rng: np.random.Generator,
    dt: float,
    n: int,
    fixed: dict,
    n_inputs: int,
    answer: str,
    n_outputs: int,
    name: str,
) -> tuple:
    """A trial function ``trial(rng, dt) -> (inputs, targets, mask[, info])`` per row, padded
    to the longest trial."""
    if fixed:
        raise ValueError(
            f"{name}: a trial-function task takes no fixed conditions ({sorted(fixed)})"
        )
    rows = []
    for _ in range(n):
        out = trial(rng, dt)
        if not isinstance(out, tuple) or len(out) not in (3, 4):
            raise TypeError(
                f"{name}: the trial function must return (inputs, targets, mask) or (inputs, "
                f"targets, mask, info); got {type(out).__name__}"
            )
        x = np.asarray(out[0], dtype=np.float32)
        y = np.asarray(out[1])
        m = np.asarray(out[2], dtype=bool)
        length = len(x)
        y_shape = (length,) if answer == "categorical" else (length, n_outputs)
        if x.shape != (length, n_inputs) or y.shape != y_shape or m.shape != (length,):
            raise ValueError(
                f"{name}: the trial function must return inputs (time, {n_inputs}), targets "
                f"{'(time,)' if answer == 'categorical' else f'(time, {n_outputs})'} and mask "
                f"(time,); got {x.shape}, {y.shape}, {m.shape}"
            )
        if answer == "categorical" and ((y < 0) | (y >= n_outputs)).any():
            raise ValueError(f"{name}: class targets must lie in [0, {n_outputs})")
        rows.append((x, y, m, dict(out[3]) if len(out) == 4 else {}))
    xs, ys = [r[0] for r in rows], [r[1] for r in rows]
    inputs, targets, lengths = _padded(xs, ys, n_inputs, answer, n_outputs)
    mask = np.zeros(inputs.shape[:2], dtype=bool)
    for i, r in enumerate(rows):
        mask[i, : len(r[2])] = r[2]
    info = _conditions_of([r[3] for r in rows])
    info["length"] = lengths
    if answer == "categorical" and "target" not in info:
        first = np.where(mask.any(1), mask.argmax(1), 0)
        info["target"] = targets[np.arange(n), first]
    return inputs, targets, mask, info


def _padded(
    xs: list[np.ndarray], ys: list[np.ndarray], n_inputs: int, answer: str, n_outputs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trials of different lengths padded with zeros: inputs ``(n, time, n_inputs)``, targets
    ``(n, time)`` int64 or ``(n, time, n_outputs)`` float32, and the lengths ``(n,)``."""
    n = len(xs)
    lengths = np.array([len(x) for x in xs], dtype=np.int64)
    n_time = int(lengths.max())
    inputs = np.zeros((n, n_time, n_inputs), dtype=np.float32)
    if answer == "categorical":
        targets = np.zeros((n, n_time), dtype=np.int64)
    else:
        targets = np.zeros((n, n_time, n_outputs), dtype=np.float32)
    for i, (x, y) in enumerate(zip(xs, ys)):
        inputs[i, : len(x)] = x
        targets[i, : len(y)] = y.reshape(targets[i, : len(y)].shape)
    return inputs, targets, lengths


def _conditions_of(trials: list[dict]) -> dict[str, np.ndarray]:
    """The scalar entries every trial dict has, as ``(n,)`` arrays."""
    info: dict[str, np.ndarray] = {}
    keys = set.intersection(*(set(t) for t in trials)) if trials else set()
    for key in sorted(keys):
        values = [t[key] for t in trials]
        if all(
            np.ndim(v) == 0 and isinstance(np.asarray(v).item(), (int, float, bool, str))
            for v in values
        ):
            info[key] = np.asarray(values)
    return info


def _check_conditions(source: Any, fixed: dict) -> None:
    """Fixed conditions must be conditions of the env's trials (not constructor settings)."""
    import copy

    probe = copy.deepcopy(source)
    keys = set(probe.new_trial() or {})
    unknown = sorted(set(fixed) - keys)
    if unknown:
        name = type(source.unwrapped).__name__
        raise ValueError(
            f"{unknown} are not trial conditions of {name} (its trials have {sorted(keys)}); "
            "task settings such as dt or timing go in task_kwargs={...}"
        )
