"""A task resolved once: :class:`Task`, what ``train``, ``evaluate`` and ``make_batch`` work on.

The ``task`` argument of :func:`cordsneuro.train`, :func:`cordsneuro.tasks.evaluate` and
:func:`cordsneuro.tasks.make_batch` may be a name (one of the paper's tasks, ``"PDM"``, or any
registered neurogym / gymnasium id, ``"GoNogo-v0"``, ``"yang19.go-v0"``), an environment (ours
or any neurogym ``TrialEnv``, bare or wrapped), a task defined by a trial function
(:func:`trial_task`) or a :class:`Task`. :func:`resolve` turns it, once, into a :class:`Task`,
which

* draws trial-aligned batches (:meth:`Task.batch`),
* knows its epochs, its widths, its kind of answer and which steps carry the answer (the
  *response steps*, ``Batch.mask``),
* weighs the steps of a trial in the loss (:meth:`Task.loss_weights`, :class:`LossWeights`),
* scores a network's outputs (:meth:`Task.score`) — the one scoring rule of the library.

Which steps are scored (the response steps)
--------------------------------------------
* The paper's tasks: their scored epoch (``decision``; MemoryPro: ``response``).
* Any other env: the epochs named by ``score_epochs`` if given; else its ``decision`` epoch if
  it has one (where neurogym's own ``performance`` of its decision tasks is decided); else the
  steps whose ground truth is not fixation (class 0), e.g. ``ReadySetGo-v0``'s production
  window. Continuous answers: every step of the trial.
* A trial-function task: the steps its ``mask`` marks.

The answer of a trial is the network's outputs averaged over its response steps (argmax for
classes). When that answer cannot be wrong in an informative way — an env without a decision
epoch whose only non-fixation answer is a single class, so every trial asks for the same class
— no ``accuracy`` is reported (asking for it raises ``ValueError``); the per-step accuracies
``response_accuracy`` (response steps) and ``fixation_accuracy`` (the other steps) are, and the
default criterion asks for both.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
import torch
from neurogym.core import TrialEnv, TrialWrapper

from cordsneuro._util import jsonable, task_key
from cordsneuro.tasks import batching
from cordsneuro.tasks.base import LOWER_IS_BETTER, CognitiveTask, respond
from cordsneuro.tasks.batching import Batch
from cordsneuro.tasks.cognitive import TASKS

__all__ = [
    "Task",
    "LossWeights",
    "YANG2019",
    "resolve",
    "make",
    "make_batch",
    "describe",
    "list_tasks",
    "trial_task",
]


# ----------------------------------------------------------------------------- loss weights


@dataclass(frozen=True)
class LossWeights:
    """How the steps of a trial weigh in the loss.

    Parameters
    ----------
    response : float
        Weight of the response steps (the scored steps, ``Batch.mask``).
    other : float
        Weight of the other steps of the trial (padding always weighs 0).
    grace_ms : float
        The first ``grace_ms`` of each trial's response weigh 0 (the network is not asked to
        switch its output instantly). Never more than half of a trial's response steps.
    epochs : dict of str → float, optional
        Weights of named epochs, applied last (override the above on those epochs).

    Notes
    -----
    :data:`YANG2019` is Yang et al. (2019)'s choice, the default for neurogym tasks: response ×5,
    other steps ×1, 100 ms of grace (PsychRNN's masks do the same).
    """

    response: float = 1.0
    other: float = 0.0
    grace_ms: float = 0.0
    epochs: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("response", "other", "grace_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"LossWeights.{name} must be a number >= 0 (got {value!r})")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"LossWeights.{name} must be a finite number >= 0 (got {value!r})")
        for epoch, value in dict(self.epochs).items():
            if (
                not (isinstance(value, (int, float, np.number)) and math.isfinite(value))
                or value < 0
            ):
                raise ValueError(f"LossWeights.epochs[{epoch!r}] must be >= 0 (got {value!r})")

    @classmethod
    def of(cls, value: Any) -> LossWeights:
        """``value`` as LossWeights: a LossWeights, ``"yang2019"``, or a dict of epoch → weight
        (the epochs not named weigh 0)."""
        if isinstance(value, LossWeights):
            return value
        if isinstance(value, str):
            if value.lower() != "yang2019":
                raise ValueError(f"loss_weights as a string must be 'yang2019' (got {value!r})")
            return YANG2019
        if isinstance(value, Mapping):
            return cls(response=0.0, other=0.0, epochs=dict(value))
        raise TypeError(
            "loss_weights must be a LossWeights, 'yang2019' or a dict of epoch → weight "
            f"(got {type(value).__name__})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "response": float(self.response),
            "other": float(self.other),
            "grace_ms": float(self.grace_ms),
            "epochs": {k: float(v) for k, v in dict(self.epochs).items()},
        }


#: Yang et al. (2019), Nat. Neurosci., Methods ("c_mask"): response steps ×5, the rest ×1, the
#: first 100 ms after response onset skipped.
YANG2019 = LossWeights(response=5.0, other=1.0, grace_ms=100.0)


# ----------------------------------------------------------------------------- the task


class Task:
    """A task resolved once (see the module docstring); build it with :func:`resolve`.

    Attributes
    ----------
    name : str
        The task's name (``"PDM"``, ``"GoNogo-v0"``...).
    kind : str
        ``"cognitive"`` (the paper's tasks), ``"env"`` (any other neurogym env) or
        ``"trials"`` (a trial function, :func:`trial_task`).
    env : TrialEnv or None
        The environment (a private copy) for the first two kinds.
    n_inputs, n_outputs : int
        Input and output widths.
    answer : str
        ``"categorical"`` (class indices, cross-entropy) or ``"continuous"`` (MSE).
    dt : float
        Time step in ms.
    config : dict
        JSON-ready settings identifying the task in checkpoints.
    criterion : dict of str → float
        The metrics that count as "trained" (``<=`` for error metrics).
    condition_key : str
        ``trial_info`` key of the condition of psychometric curves ("" if none).
    default_loss_weights : LossWeights
        Our tasks: the scored epoch only (the paper's loss); neurogym envs: :data:`YANG2019`;
        trial functions: their mask.
    """

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        n_inputs: int,
        n_outputs: int,
        answer: str,
        dt: float,
        config: dict,
        criterion: Mapping[str, float],
        condition_key: str = "",
        env: Any = None,
        trial: Callable | None = None,
        score_epochs: Sequence[str] | None = None,
        no_accuracy: str | None = None,
        default_loss_weights: LossWeights = LossWeights(),
    ) -> None:
        self.kind = kind
        self.name = name
        self.n_inputs = int(n_inputs)
        self.n_outputs = int(n_outputs)
        self.answer = answer
        self.dt = float(dt)
        self.config = config
        self.criterion = dict(criterion)
        self.condition_key = condition_key
        self.env = env
        self.trial = trial
        self.score_epochs = tuple(score_epochs) if score_epochs else None
        #: why no per-trial accuracy is reported (None when it is).
        self.no_accuracy = no_accuracy
        self.default_loss_weights = default_loss_weights
        self._rng = np.random.default_rng()

    def __repr__(self) -> str:
        return (
            f"Task({self.name!r}, kind={self.kind!r}, n_inputs={self.n_inputs}, "
            f"n_outputs={self.n_outputs}, answer={self.answer!r}, dt={self.dt:g})"
        )

    # -- randomness ------------------------------------------------------------------------

    def seed(self, seed: int | None) -> None:
        """Reseed the task's trials."""
        if self.kind == "trials":
            self._rng = np.random.default_rng(seed)
        else:
            source = _trial_source(self.env)
            envs = getattr(source, "envs", None)
            if envs and hasattr(source, "schedule"):
                # a scheduling wrapper (neurogym's collections): its envs get different seeds
                # (the same seed would make them draw the same trials), then its schedule
                for i, env in enumerate(envs):
                    env.seed(None if seed is None else int(seed) + i)
                source.schedule.seed(None if seed is None else int(seed))
                source.schedule.reset()
                source.next_i_env = source.schedule()
            else:
                source.unwrapped.seed(None if seed is None else int(seed))

    def rng_state(self) -> dict:
        """The random state of the trials, JSON-ready (for checkpoints)."""
        if self.kind == "trials":
            return {"generator": jsonable(self._rng.bit_generator.state)}
        if self.kind == "cognitive":
            return {"streams": self.env.rng_state()}
        state = {"randomstates": [_get_state(rng) for rng in _random_states(self.env)]}
        source = _trial_source(self.env)
        if hasattr(source, "schedule"):
            state["schedule"] = {
                "next_i_env": int(source.next_i_env),
                **{k: jsonable(getattr(source.schedule, k)) for k in _SCHEDULE_COUNTERS},
            }
        return state

    def set_rng_state(self, state: Mapping) -> None:
        """Restore what :meth:`rng_state` returned."""
        if self.kind == "trials":
            self._rng.bit_generator.state = state["generator"]
        elif self.kind == "cognitive":
            self.env.set_rng_state(state["streams"])
        else:
            for rng, saved in zip(_random_states(self.env), state["randomstates"], strict=True):
                name, keys, pos, has_gauss, cached = saved
                rng.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
            if "schedule" in state:
                source = _trial_source(self.env)
                source.next_i_env = state["schedule"]["next_i_env"]
                for key in _SCHEDULE_COUNTERS:
                    setattr(source.schedule, key, state["schedule"][key])

    def copy(self) -> Task:
        """An independent copy (its own random state)."""
        return copy.deepcopy(self)

    # -- batches ---------------------------------------------------------------------------

    def batch(
        self,
        batch_size: int,
        *,
        seed: int | None = None,
        device: str | torch.device | None = None,
        **conditions: Any,
    ) -> Batch:
        """Draw ``batch_size`` whole trials; see :func:`make_batch`."""
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be an int >= 1 (got {batch_size!r})")
        if seed is not None:
            self.seed(seed)
        n = int(batch_size)
        if self.kind == "cognitive":
            arrays = batching.vectorised(self.env, n, conditions)
        elif self.kind == "env":
            arrays = batching.one_by_one(
                _trial_source(self.env), n, conditions, self.n_inputs, self.answer,
                self.n_outputs, self.score_epochs,
            )  # fmt: skip
        else:
            arrays = batching.from_function(
                self.trial, self._rng, self.dt, n, conditions, self.n_inputs, self.answer,
                self.n_outputs, self.name,
            )  # fmt: skip
        inputs, targets, mask, info = arrays
        batch = Batch(
            torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask), info
        )
        return batch.to(device) if device is not None else batch

    def epochs(self, batch: Batch) -> list[str]:
        """The epochs whose boundaries ``batch.trial_info`` holds."""
        return [k.removesuffix("_start") for k in batch.trial_info if k.endswith("_start")]

    # -- loss ------------------------------------------------------------------------------

    def loss_weights(self, batch: Batch, weights: Any = None) -> torch.Tensor:
        """Per-step loss weights ``(batch, time)`` float32 on ``batch.mask``'s device.

        ``weights``: a :class:`LossWeights`, ``"yang2019"``, a dict of epoch → weight, or None
        for :attr:`default_loss_weights`."""
        spec = self.default_loss_weights if weights is None else LossWeights.of(weights)
        info = batch.trial_info
        mask = batch.mask.cpu().numpy()
        n, n_time = mask.shape
        t = np.arange(n_time)[None, :]
        valid = t < np.asarray(info["length"])[:, None]
        w = np.where(mask, spec.response, np.where(valid, spec.other, 0.0))
        if spec.grace_ms > 0 and spec.response > 0:
            has = mask.any(1)
            onset = np.where(has, mask.argmax(1), n_time)[:, None]
            length = mask.sum(1, keepdims=True)
            grace = np.minimum(int(math.floor(spec.grace_ms / self.dt + 1e-9)), length // 2)
            w = np.where(mask & (t >= onset) & (t < onset + grace), 0.0, w)
        for epoch, value in dict(spec.epochs).items():
            if f"{epoch}_start" not in info:
                raise ValueError(
                    f"loss_weights names epoch {epoch!r}, but {self.name}'s trials have the "
                    f"epochs {self.epochs(batch)}"
                )
            inside = (t >= info[f"{epoch}_start"][:, None]) & (t < info[f"{epoch}_end"][:, None])
            w = np.where(inside & valid, float(value), w)
        return torch.from_numpy(w.astype(np.float32)).to(batch.mask.device)

    # -- scoring ---------------------------------------------------------------------------

    def score(self, outputs: np.ndarray, batch: Batch) -> tuple[np.ndarray, dict[str, Any]]:
        """Score outputs ``(n, time, n_outputs)`` on ``batch``: the one scoring rule.

        Returns the answer of each trial ``(n, n_outputs)`` (outputs averaged over the response
        steps) and a dict of per-trial arrays (``correct``, ``choice`` / ``estimate``...) and
        scalar metrics (``accuracy`` and the task's own; categorical answers add the per-step
        ``response_accuracy``, and for tasks trained on every step ``fixation_accuracy``)."""
        outputs = np.asarray(outputs)
        mask = batch.mask.cpu().numpy()
        info = batch.trial_info
        response = respond(outputs, mask)
        if self.kind == "cognitive":
            scores = self.env.score(response, info)
        elif self.answer == "categorical":
            choice = response.argmax(1)
            correct = choice == info["target"]
            scores = {"correct": correct, "choice": choice}
            if self.no_accuracy is None:
                scores["accuracy"] = float(correct.mean())
        else:
            targets = batch.targets.cpu().numpy()
            err = ((outputs - targets) ** 2).mean(-1)
            scores = {
                "correct": np.zeros(len(mask), dtype=bool),
                "mse": float(err[mask].mean()) if mask.any() else float("nan"),
            }
        if self.answer == "categorical" and batch.targets.dim() == 2:
            steps = outputs.argmax(-1) == batch.targets.cpu().numpy()
            scores["response_accuracy"] = float(steps[mask].mean()) if mask.any() else math.nan
            if self.kind != "cognitive":
                valid = np.arange(mask.shape[1])[None, :] < np.asarray(info["length"])[:, None]
                other = valid & ~mask
                if other.any():
                    scores["fixation_accuracy"] = float(steps[other].mean())
        return response, scores

    # -- models ----------------------------------------------------------------------------

    def check_model(self, model: Any) -> None:
        """Raise ``ValueError`` if the model's widths or dt do not fit the task."""
        n_in = getattr(model, "input_size", None)
        n_out = getattr(model, "output_size", None)
        if n_in is not None and n_in != self.n_inputs:
            raise ValueError(
                f"model has input_size {n_in}, but task {self.name} has {self.n_inputs} "
                f"input(s): build the model with input_size={self.n_inputs}"
            )
        model_dt = getattr(model, "dt", None)
        if model_dt is not None and abs(model_dt - self.dt) > 1e-9 * self.dt:
            raise ValueError(
                f"model dt ({model_dt} ms) differs from task {self.name}'s dt ({self.dt} ms): "
                "one model step must be one task step; build the model with "
                f"dt={self.dt:g} or the task with task_kwargs={{'dt': {model_dt:g}}}"
            )
        if n_out is not None and n_out != self.n_outputs:
            kind = "classes" if self.answer == "categorical" else "output dimensions"
            raise ValueError(
                f"model has output_size {n_out}, but task {self.name} has {self.n_outputs} "
                f"{kind}: build the model with output_size={self.n_outputs}"
            )


# ----------------------------------------------------------------------------- the door


def resolve(task: Any, task_kwargs: Mapping[str, Any] | None = None) -> Task:
    """Resolve a task argument, once, into a :class:`Task`.

    Parameters
    ----------
    task : str, TrialEnv or Task
        One of the paper's tasks by name (``"PDM"``, ``"cordsneuro/PDM-v0"``), any registered
        neurogym / gymnasium id (``"GoNogo-v0"``, ``"yang19.go-v0"``), an environment (copied,
        never modified), or a :class:`Task` (returned as is).
    task_kwargs : dict, optional
        Settings of a task given by name (its constructor's keyword arguments: ``dt``,
        ``timing``, ``noise_std``...), plus ``score_epochs`` (a list of epoch names) for a
        neurogym env. Not allowed with an environment or a Task object, which are built already.
    """
    return _resolve(task, task_kwargs, copy_env=True)


def _resolve(task: Any, task_kwargs: Mapping[str, Any] | None, *, copy_env: bool) -> Task:
    if task_kwargs is not None and not isinstance(task_kwargs, Mapping):
        raise TypeError(f"task_kwargs must be a dict (got {type(task_kwargs).__name__})")
    kwargs = dict(task_kwargs or {})
    if isinstance(task, Task):
        if kwargs:
            raise TypeError("task_kwargs build a task given by name; this task is built already")
        return task
    score_epochs = kwargs.pop("score_epochs", None)
    if isinstance(task, str):
        env = make(task, **kwargs)
    else:
        if kwargs:
            raise TypeError(
                "task_kwargs build a task given by name; pass settings to the environment's "
                "constructor instead"
            )
        _trial_source(task)  # raises if not a trial-based env
        env = copy.deepcopy(task) if copy_env else task
    if isinstance(env, CognitiveTask):
        if score_epochs is not None:
            raise TypeError(f"score_epochs is for neurogym envs; {env.name} scores its own epochs")
        return Task(
            kind="cognitive", name=env.name, n_inputs=env.n_inputs, n_outputs=env.n_outputs,
            answer=env.answer, dt=env.dt, config=env.config, criterion=env.criterion,
            condition_key=env.condition_key, env=env,
            default_loss_weights=LossWeights(response=1.0, other=0.0),
        )  # fmt: skip
    return _from_env(env, score_epochs)


def _from_env(env: Any, score_epochs: Sequence[str] | None) -> Task:
    source = _trial_source(env)
    base = source.unwrapped
    obs, act = base.observation_space, base.action_space
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
    spec = getattr(base, "spec", None) or getattr(env, "spec", None)
    name = spec.id if spec is not None else type(base).__name__
    if score_epochs is not None:
        if isinstance(score_epochs, str) or not all(isinstance(e, str) for e in score_epochs):
            raise TypeError(f"score_epochs must be a list of epoch names (got {score_epochs!r})")
        score_epochs = list(score_epochs)
    no_accuracy = None
    criterion: dict[str, float] = {}
    if answer == "categorical":
        criterion = {"accuracy": 0.9}
        periods = set(getattr(base, "timing", {}) or {})
        if score_epochs is None and "decision" not in periods and n_out <= 2:
            no_accuracy = (
                f"{name} has no decision epoch and a single non-fixation answer (class 1): every "
                "trial asks for the same class, so a per-trial accuracy would not mean anything. "
                "Its response_accuracy and fixation_accuracy (per step) are reported; or name "
                "the epochs to score with task_kwargs={'score_epochs': [...]}"
            )
            criterion = {"response_accuracy": 0.9, "fixation_accuracy": 0.9}
    config = {"task": name, "dt": float(base.dt)}
    if score_epochs is not None:
        config["score_epochs"] = score_epochs
    return Task(
        kind="env", name=name, n_inputs=int(obs.shape[0]), n_outputs=n_out, answer=answer,
        dt=float(base.dt), config=config, criterion=criterion, env=env,
        condition_key="coh" if name.startswith("PerceptualDecisionMaking") else "",
        score_epochs=score_epochs, no_accuracy=no_accuracy, default_loss_weights=YANG2019,
    )  # fmt: skip


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
                "task must be a task name, a neurogym TrialEnv (or a wrapper of one), a "
                f"trial_task or a Task, got {type(env).__name__}"
            )
        current = inner


#: The counters of a neurogym schedule (neurogym.utils.scheduler) saved with its random state.
_SCHEDULE_COUNTERS = ("i", "count", "total_count")


def _random_states(env: Any) -> list[np.random.RandomState]:
    """The numpy random states behind an env's trials: its own, or those of each env of a
    scheduling wrapper and of its schedule."""
    source = _trial_source(env)
    envs = getattr(source, "envs", None) or [source]
    states = [e.unwrapped.rng for e in envs]
    schedule = getattr(source, "schedule", None)
    if isinstance(getattr(schedule, "rng", None), np.random.RandomState):
        states.append(schedule.rng)
    return states


def _get_state(rng: np.random.RandomState) -> list:
    name, keys, pos, has_gauss, cached = rng.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def make(name: str, **kwargs: Any) -> Any:
    """Build a task's environment by name: one of the paper's tasks (``"PDM"``,
    ``"cordsneuro/PDM-v0"``, ``"MemoryProRing"``; a :class:`CognitiveTask`) or any registered
    neurogym / gymnasium id (``"GoNogo-v0"``, ``"yang19.go-v0"``), with ``kwargs`` passed to
    its constructor. :func:`list_tasks` lists the names."""
    if not isinstance(name, str):
        raise TypeError(f"task name must be a str (got {type(name).__name__})")
    ours = {k.lower(): cls for k, cls in TASKS.items()}
    key = task_key(name)
    if key in ours:
        return ours[key](**kwargs)
    if key == "memorypro":
        raise ValueError(
            "MemoryPro is three tasks: 'MemoryProRing', 'MemoryProLine' or 'MemoryProPoints'"
        )
    from neurogym.envs.registration import ALL_EXTENDED_ENVS

    if name in gymnasium.registry or name in ALL_EXTENDED_ENVS:
        import neurogym as ngym

        try:
            env = ngym.make(name, **kwargs)
        except gymnasium.error.Error:  # not a neurogym id: a gymnasium one
            env = gymnasium.make(name, **kwargs)
        _trial_source(env)
        return env
    raise ValueError(
        f"unknown task id {name!r}: use one of the paper's tasks {sorted(TASKS)} (or "
        "'cordsneuro/<name>-v0'), or a registered neurogym id such as 'GoNogo-v0' "
        "(tasks.list_tasks() lists them)"
    )


def list_tasks(collection: str = "cordsneuro") -> list[str]:
    """Names of the tasks :func:`make` builds: ``"cordsneuro"`` (the paper's), ``"neurogym"``
    (neurogym's native envs), ``"yang19"`` or another neurogym collection, or ``"all"``."""
    if collection == "cordsneuro":
        return list(TASKS)
    from neurogym.envs.registration import all_envs

    if collection == "neurogym":
        return sorted(all_envs())
    if collection == "all":
        return list(TASKS) + sorted(all_envs(collections=True))
    ids = sorted(i for i in all_envs(collections=True) if i.startswith(f"{collection}."))
    if not ids:
        raise ValueError(
            f"unknown collection {collection!r}: use 'cordsneuro', 'neurogym', 'all' or a "
            "neurogym collection such as 'yang19'"
        )
    return ids


def describe(task: Any, task_kwargs: Mapping[str, Any] | None = None) -> str:
    """A short description of a task, like its methods section: epochs (ms), inputs, outputs,
    the scored steps, the default loss weights and the criterion.

    ``print(tasks.describe("PDM"))``; any task argument :func:`resolve` accepts."""
    t = resolve(task, task_kwargs)
    lines = [f"{t.name} ({t.kind}): dt = {t.dt:g} ms, {t.answer} answer"]
    env = _trial_source(t.env).unwrapped if t.env is not None else None
    timing = dict(getattr(env, "timing", {}) or {})
    if timing:
        lines.append("epochs (ms): " + ", ".join(f"{k} {_ms(v)}" for k, v in timing.items()))
    names = getattr(env, "input_names", None)
    outputs = getattr(env, "output_names", None)
    lines.append(f"inputs: {t.n_inputs}" + (f" ({', '.join(names)})" if names else ""))
    lines.append(f"outputs: {t.n_outputs}" + (f" ({', '.join(outputs)})" if outputs else ""))
    if t.kind == "cognitive":
        scored = f"the {', '.join(env.scored_periods)} epoch"
    elif t.kind == "trials":
        scored = "the steps the trial function's mask marks"
    elif t.score_epochs:
        scored = f"the {', '.join(t.score_epochs)} epoch(s)"
    elif "decision" in timing:
        scored = "the decision epoch"
    else:
        scored = "the steps whose ground truth is not fixation"
    lines.append(f"scored: {scored}" + ("" if t.no_accuracy is None else " (per step only)"))
    w = t.default_loss_weights
    lines.append(
        f"loss weights: response {w.response:g}, other steps {w.other:g}, grace {w.grace_ms:g} ms"
    )
    criterion = ", ".join(f"{k} {'<=' if k in LOWER_IS_BETTER else '>='} {v:g}"
                          for k, v in t.criterion.items())  # fmt: skip
    lines.append(f"criterion: {criterion or 'none'}")
    return "\n".join(lines)


def _ms(spec: Any) -> str:
    """A timing entry as text: ``100``, ``U(500, 2000)``, ``one of [...]``."""
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] == "uniform":
        return f"U({spec[1][0]:g}, {spec[1][1]:g})"
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] == "choice":
        return f"one of {list(spec[1])}"
    if callable(spec):
        return "(drawn by the env)"
    return f"{spec:g}" if isinstance(spec, (int, float)) else str(spec)


def make_batch(
    task: Any,
    batch_size: int,
    *,
    seed: int | None = None,
    device: str | torch.device | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    **conditions: Any,
) -> Batch:
    """Draw ``batch_size`` whole trials of ``task``.

    Parameters
    ----------
    task : str, TrialEnv, Task
        See :func:`resolve`. An env or a :class:`Task` keeps its random state: without
        ``seed`` successive batches continue its stream (``make_batch(env, 10)`` twice = 20 ×
        ``env.new_trial()``).
    batch_size : int
        Number of trials (>= 1).
    seed : int, optional
        Reseed the task first: the same seed gives the same trials.
    device : str or torch.device, optional
        Where the tensors go (default CPU).
    task_kwargs : dict, optional
        Settings of a task given by name (``{"dt": 10}``).
    **conditions
        Fix trial conditions (a scalar or one value per trial), e.g. ``coherence=0.05`` for
        PDM; for other envs they are passed to ``new_trial`` and must be conditions its trials
        have.

    Returns
    -------
    Batch
        ``(inputs, targets, mask, trial_info)``; see :class:`~cordsneuro.tasks.batching.Batch`.
    """
    # an env given here draws from its own stream (as its new_trial would)
    resolved = _resolve(task, task_kwargs, copy_env=False)
    return resolved.batch(batch_size, seed=seed, device=device, **conditions)


# ----------------------------------------------------------------------------- trial functions


def trial_task(
    trial: Callable[[np.random.Generator, float], Any],
    *,
    n_inputs: int,
    n_outputs: int,
    answer: str = "categorical",
    dt: float = 20.0,
    name: str = "custom",
    criterion: Mapping[str, float] | None = None,
    condition_key: str = "",
    seed: int | None = None,
) -> Task:
    """A task from a trial function, with no environment class to write.

    Parameters
    ----------
    trial : callable
        ``trial(rng, dt)`` draws one trial with the numpy ``Generator`` ``rng`` at step ``dt``
        (ms) and returns ``(inputs, targets, mask)`` or ``(inputs, targets, mask, info)``:
        inputs ``(time, n_inputs)``; targets ``(time,)`` class indices (categorical) or
        ``(time, n_outputs)``; mask ``(time,)`` bool, the response steps (scored, and the
        steps of the loss by default); info an optional dict of scalar trial conditions.
        Trials may differ in length (batches are padded).
    n_inputs, n_outputs : int
        Widths (``n_outputs`` = number of classes for a categorical answer).
    answer : {"categorical", "continuous"}
    dt : float
        Time step in ms.
    name : str
        Name shown in progress bars and checkpoints.
    criterion : dict, optional
        Metric → threshold (default: accuracy ≥ 0.9 for categorical answers, none otherwise).
    condition_key : str
        An ``info`` key to tabulate accuracy by (psychometric curves).
    seed : int, optional
        Seed of the trials.

    Examples
    --------
    Go / no-go in five lines::

        def go_nogo(rng, dt):
            go = rng.integers(2)
            n = int(600 / dt); x = np.zeros((n, 1)); x[: n // 2, 0] = go
            y = np.zeros(n, dtype=int); y[n // 2 :] = go
            return x, y, np.arange(n) >= n // 2, {"go": go}

        task = tasks.trial_task(go_nogo, n_inputs=1, n_outputs=2)
        train(FullRNN(32, 1, 2), task, steps=300)
    """
    if not callable(trial):
        raise TypeError("trial must be a function (rng, dt) -> (inputs, targets, mask)")
    for key, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{key} must be an int >= 1 (got {value!r})")
    if answer not in ("categorical", "continuous"):
        raise ValueError(f"answer must be 'categorical' or 'continuous' (got {answer!r})")
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0:
        raise ValueError(f"dt must be a positive number of ms (got {dt!r})")
    if criterion is None:
        criterion = {"accuracy": 0.9} if answer == "categorical" else {}
    task = Task(
        kind="trials", name=str(name), n_inputs=int(n_inputs), n_outputs=int(n_outputs),
        answer=answer, dt=float(dt), config={"task": str(name), "dt": float(dt)},
        criterion=criterion, condition_key=condition_key, trial=trial,
        default_loss_weights=LossWeights(response=1.0, other=0.0),
    )  # fmt: skip
    task.seed(seed)
    return task
