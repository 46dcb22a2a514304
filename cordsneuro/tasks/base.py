"""The base class of the paper's cognitive tasks and its small declaration vocabulary.

A task is declared once, like a methods section: its epochs in order with their durations
in ms (:attr:`CognitiveTask.default_timing`), how a trial's conditions are drawn
(:meth:`CognitiveTask.conditions`) and what the network sees and must answer in each epoch
(:meth:`CognitiveTask.declare`, a list of :class:`Stimulus` and one :class:`Answer`). Two
interpreters read that declaration:

* the environment's own :meth:`~neurogym.TrialEnv.new_trial`, one trial at a time through
  neurogym's ``add_period`` / ``add_ob`` / ``set_groundtruth`` (so every neurogym tool works);
* :func:`cordsneuro.tasks.make_batch`, which builds a whole batch at once (vectorised numpy)
  and gives exactly the same trials for the same seed.

Randomness comes from three numpy streams (conditions, epoch durations, input noise) spawned
from the seed; every draw uses a fixed amount of each stream per trial, so drawing ``n`` trials
at once or one at a time gives the same trials.

Time step and input noise
-------------------------
The environments use a cognitive ``dt`` (default 20 ms, matching the single-area RNNs' default
τ = 100 ms, dt = 20 ms). Durations are floored to whole steps, as neurogym does. Input noise is
continuous-time white noise: a task states its standard deviation at the reference step
:data:`NOISE_DT` = 20 ms (the paper's step) and a sample at step ``dt`` has the standard
deviation ``noise_std · √(NOISE_DT / dt)`` (as neurogym's ``sigma / √dt``), so the evidence
integrated over an epoch has the same signal-to-noise ratio at every ``dt``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from neurogym.core import TrialEnv
from neurogym.utils import spaces

from cordsneuro._util import jsonable

__all__ = ["CognitiveTask", "Stimulus", "Answer", "respond", "LOWER_IS_BETTER", "NOISE_DT"]

#: Metrics for which smaller is better (criteria compare them with ``<=``).
LOWER_IS_BETTER = frozenset({"mae_deg", "mae", "mse", "loss"})

#: Step (ms) at which tasks state their input noise (the paper's cognitive step, Appendix B.3).
NOISE_DT = 20.0

_EPS = 1e-9

# ----------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Stimulus:
    """What the network sees: ``value`` on input ``channels`` during ``periods``.

    ``value`` has shape ``(n,)`` (one channel) or ``(n, len(channels))``; ``noise_std`` adds
    white noise on a single channel, drawn from the task's noise stream: ``noise_std`` is the
    standard deviation of a sample at the reference step :data:`NOISE_DT` (20 ms); at step
    ``dt`` a sample has ``noise_std · √(NOISE_DT / dt)`` (:attr:`CognitiveTask.noise_scale`).
    """

    channels: tuple[str, ...]
    value: np.ndarray
    periods: tuple[str, ...]
    noise_std: float = 0.0


@dataclass(frozen=True)
class Answer:
    """What the network must answer during ``periods``: a class index ``(n,)`` (categorical
    tasks) or a vector ``(n, n_outputs)`` (continuous tasks)."""

    value: np.ndarray
    periods: tuple[str, ...]


def _pick(values: Sequence[float], u: np.ndarray) -> np.ndarray:
    """Uniform choice among ``values`` from uniform draws ``u`` in [0, 1)."""
    values = np.asarray(values)
    return values[np.minimum((u * len(values)).astype(np.int64), len(values) - 1)]


def _check_timing_spec(task: str, period: str, spec: Any) -> tuple[float, float]:
    """Validate one epoch's timing; return its (min, max) duration in ms."""
    if isinstance(spec, bool):
        raise ValueError(f"{task}: timing[{period!r}] must be a duration in ms, got {spec!r}")
    if isinstance(spec, (int, float, np.integer, np.floating)):
        lo = hi = float(spec)
    elif (
        isinstance(spec, (tuple, list))
        and len(spec) == 2
        and spec[0] == "uniform"
        and isinstance(spec[1], (tuple, list))
        and len(spec[1]) == 2
    ):
        lo, hi = float(spec[1][0]), float(spec[1][1])
        if lo > hi:
            raise ValueError(
                f"{task}: timing[{period!r}] uniform bounds must satisfy low <= high, got {spec!r}"
            )
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] == "choice":
        options = [float(v) for v in spec[1]]
        if not options:
            raise ValueError(f"{task}: timing[{period!r}] 'choice' needs at least one duration")
        lo, hi = min(options), max(options)
    else:
        raise ValueError(
            f"{task}: timing[{period!r}] must be a number of ms, ('uniform', (low, high)) or "
            f"('choice', [ms, ...]); got {spec!r}"
        )
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0:
        raise ValueError(f"{task}: timing[{period!r}] must be finite and >= 0 ms, got {spec!r}")
    return lo, hi


# ----------------------------------------------------------------------------- base class


class CognitiveTask(TrialEnv):
    """Base class of the paper's cognitive tasks: a neurogym ``TrialEnv`` with declared epochs,
    conditions, inputs and answer.

    Parameters
    ----------
    dt : float
        Time step in ms (default 20 ms). Epoch durations are floored to whole steps.
    timing : dict, optional
        Overrides of :attr:`default_timing`, epoch name → duration in ms, ``("uniform", (lo,
        hi))`` or ``("choice", [ms, ...])``. Unknown epochs or negative durations raise
        ``ValueError``.
    seed : int, optional
        Seed of the task's random streams (see :meth:`seed`).

    Class attributes a task defines
    -------------------------------
    periods : epochs in order; default_timing : their durations (ms); scored_periods : epochs
    whose outputs are scored (the mask); answer : ``"categorical"`` or ``"continuous"``;
    input_names / n_outputs : input channels and output width; n_condition_draws : uniform
    draws per trial for the conditions; noise_channels : noisy input channels (one noise
    stream column each); criterion : metric → threshold that counts as "trained".
    """

    name: ClassVar[str]
    periods: ClassVar[tuple[str, ...]]
    default_timing: ClassVar[dict[str, Any]]
    scored_periods: ClassVar[tuple[str, ...]] = ("decision",)
    answer: ClassVar[str] = "categorical"
    input_names: ClassVar[tuple[str, ...]]
    output_names: ClassVar[tuple[str, ...]]
    n_condition_draws: ClassVar[int] = 1
    noise_channels: ClassVar[tuple[str, ...]] = ()
    criterion: ClassVar[dict[str, float]] = {"accuracy": 0.9}
    #: trial_info key used as the x axis of psychometric curves / accuracy by condition.
    condition_key: ClassVar[str] = ""

    metadata: ClassVar[dict] = {
        "paper_name": "Soo et al., Recurrent neural network dynamical systems for biological vision (NeurIPS 2024), Appendix B.3-B.4",
        "tags": ["supervised", "cordsneuro"],
        "render_modes": [],
    }

    def __init__(
        self, dt: float = 20.0, timing: Mapping[str, Any] | None = None, seed: int | None = None
    ):
        if (
            isinstance(dt, bool)
            or not isinstance(dt, (int, float))
            or not math.isfinite(dt)
            or dt <= 0
        ):
            raise ValueError(f"dt must be a positive number of ms (got {dt!r})")
        super().__init__(dt=dt)
        self.dt = float(dt)
        if timing is not None and not isinstance(timing, Mapping):
            raise TypeError(
                f"timing must be a dict of epoch → duration in ms (got {type(timing).__name__})"
            )
        timing = dict(timing or {})
        unknown = sorted(set(timing) - set(self.periods))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown epoch(s) {unknown} in timing; the epochs are {list(self.periods)}"
            )
        self.timing = {**self.default_timing, **timing}
        self._bounds = {p: _check_timing_spec(self.name, p, self.timing[p]) for p in self.periods}
        for p in self.scored_periods:
            if self._steps(self._bounds[p][0]) < 1:
                raise ValueError(
                    f"{self.name}: the scored epoch {p!r} must last at least one step "
                    f"(dt = {self.dt} ms), got timing {self.timing[p]!r}"
                )
        #: periods whose duration is random (one timing-stream draw per trial each).
        self.random_periods = tuple(
            p for p in self.periods if not isinstance(self.timing[p], (int, float))
        )
        #: longest possible trial in steps (noise is drawn for this many steps per trial).
        self.max_steps = sum(self._steps(self._bounds[p][1]) for p in self.periods)
        self.observation_space = spaces.Box(
            -np.inf, np.inf, shape=(self.n_inputs,), dtype=np.float32,
            name={n: i for i, n in enumerate(self.input_names)},
        )  # fmt: skip
        if self.answer == "categorical":
            self.action_space = spaces.Discrete(self.n_outputs)
        else:
            self.action_space = spaces.Box(
                -np.inf, np.inf, shape=(self.n_outputs,), dtype=np.float32
            )
        self.seed(seed)

    # -- sizes -----------------------------------------------------------------------------

    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def n_outputs(self) -> int:
        return len(self.output_names)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-ready), identifying the task in checkpoints."""
        return {
            "task": self.name,
            "dt": self.dt,
            "timing": {k: jsonable(v) for k, v in self.timing.items()},
        }

    @property
    def noise_scale(self) -> float:
        """``√(NOISE_DT / dt)``: the factor from a noise level stated at 20 ms to a sample's
        standard deviation at this task's ``dt`` (continuous-time white noise)."""
        return math.sqrt(NOISE_DT / self.dt)

    def _steps(self, ms: np.ndarray | float) -> np.ndarray | int:
        steps = np.floor(np.asarray(ms, dtype=np.float64) / self.dt + _EPS).astype(np.int64)
        return int(steps) if steps.ndim == 0 else steps

    # -- randomness ------------------------------------------------------------------------

    def seed(self, seed: int | None = None) -> list:
        """Reseed the task: three independent numpy streams (conditions, durations, noise)
        spawned from ``np.random.SeedSequence(seed)``."""
        super().seed(seed)
        children = np.random.SeedSequence(seed).spawn(3)
        self.streams = {
            name: np.random.Generator(np.random.PCG64(child))
            for name, child in zip(("conditions", "timing", "noise"), children)
        }
        return [seed]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.seed(seed)
        return super().reset(seed=seed, options=options)

    def rng_state(self) -> dict[str, Any]:
        """The streams' state (JSON-ready), to save with a checkpoint."""
        return {k: g.bit_generator.state for k, g in self.streams.items()}

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        for k, g in self.streams.items():
            g.bit_generator.state = state[k]

    # -- drawing trials (shared by new_trial and batches) --------------------------------------

    def sample(
        self, n: int, **fixed: Any
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
        """Draw ``n`` trials: conditions ``{name: (n,)}``, durations ``{period: (n,)}`` in steps
        and noise ``(n, max_steps, n_noise)``. Conditions given in ``fixed`` (a scalar or ``(n,)``)
        replace the drawn ones; the streams advance the same either way."""
        u = self.streams["conditions"].random((n, self.n_condition_draws))
        v = self.streams["timing"].random((n, len(self.random_periods)))
        noise = self.streams["noise"].standard_normal((n, self.max_steps, len(self.noise_channels)))
        unknown = sorted(set(fixed) - set(self.fixable))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown condition(s) {unknown}; you can fix {list(self.fixable)}"
            )
        fixed = {k: self._broadcast(k, val, n) for k, val in fixed.items()}
        conditions = self.conditions(u, fixed)
        durations = {}
        column = 0
        for p in self.periods:
            spec = self.timing[p]
            if isinstance(spec, (int, float)):
                durations[p] = np.full(n, self._steps(spec), dtype=np.int64)
                continue
            w = v[:, column]
            column += 1
            if spec[0] == "uniform":
                lo, hi = spec[1]
                durations[p] = self._steps(lo + (hi - lo) * w)
            else:  # choice
                durations[p] = self._steps(_pick([float(x) for x in spec[1]], w))
        return conditions, durations, noise

    @staticmethod
    def _broadcast(name: str, value: Any, n: int) -> np.ndarray:
        arr = np.asarray(value)
        if arr.ndim == 0:
            arr = np.full(n, arr.item())
        if arr.shape != (n,):
            raise ValueError(
                f"condition {name!r} must be a scalar or have shape ({n},), got {arr.shape}"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"condition {name!r} must be finite")
        return arr

    # -- what a task declares ----------------------------------------------------------------

    #: conditions a caller may fix (keyword arguments of new_trial / make_batch).
    fixable: ClassVar[tuple[str, ...]] = ()

    def conditions(self, u: np.ndarray, fixed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Trial conditions ``{name: (n,)}`` from uniform draws ``u`` of shape
        ``(n, n_condition_draws)`` and the caller's fixed values."""
        raise NotImplementedError

    def declare(self, c: dict[str, np.ndarray]) -> tuple[list[Stimulus], Answer]:
        """The inputs and the answer of trials with conditions ``c``."""
        raise NotImplementedError

    # -- the neurogym interface (one trial at a time) -------------------------------------------

    def _new_trial(self, **kwargs: Any) -> dict[str, Any]:
        conditions, durations, noise = self.sample(1, **kwargs)
        self.add_period(
            list(self.periods), duration=[float(durations[p][0]) * self.dt for p in self.periods]
        )
        stimuli, answer = self.declare(conditions)
        self.view_ob()  # build the (time, inputs) observation
        names = self.observation_space.name
        for stim in stimuli:
            where = [names[ch] for ch in stim.channels]
            where = where[0] if len(where) == 1 else where
            value = stim.value[0]
            for p in stim.periods:
                self.add_ob(value, period=p, where=where)
                if stim.noise_std > 0:
                    j = self.noise_channels.index(stim.channels[0])
                    self.add_ob(
                        stim.noise_std
                        * self.noise_scale
                        * noise[0, self.start_ind[p] : self.end_ind[p], j],
                        period=p,
                        where=where,
                    )
        self.set_groundtruth(answer.value[0], period=list(answer.periods))
        trial = {k: v[0].item() for k, v in conditions.items()}
        trial["durations"] = {p: float(durations[p][0]) * self.dt for p in self.periods}
        return trial

    def _step(self, action):
        """Step through the trial; reward 1 for a correct answer in a scored epoch (categorical)
        or minus the squared error (continuous)."""
        reward = 0.0
        gt = self.gt_now
        if any(self.in_period(p) for p in self.scored_periods):
            if self.answer == "categorical":
                reward = float(action == gt)
            else:
                reward = -float(np.sum((np.asarray(action) - gt) ** 2))
            self.performance = reward
        return self.ob_now, reward, False, False, {"new_trial": False, "gt": gt}

    # -- scoring ---------------------------------------------------------------------------

    def respond(self, outputs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The network's answer per trial: :func:`respond` (outputs averaged over the scored
        steps), ``(n, time, n_outputs)`` → ``(n, n_outputs)``."""
        return respond(outputs, mask)

    def score(self, response: np.ndarray, info: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Per-trial correctness and the task's metrics from :meth:`respond`'s answers.

        Returns a dict with ``correct (n,) bool``, ``choice`` or ``estimate`` per trial and the
        scalar metrics named in :attr:`criterion` (plus task-specific ones)."""
        choice = response.argmax(1)
        correct = choice == info["target"]
        return {"correct": correct, "choice": choice, "accuracy": float(correct.mean())}


# ----------------------------------------------------------------------------- helpers


def respond(outputs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The answer of each trial: ``outputs (n, time, n_outputs)`` averaged over the steps where
    ``mask (n, time)`` is True → ``(n, n_outputs)`` (zeros for a trial with no such step)."""
    weights = np.asarray(mask).astype(np.float64)
    counts = np.maximum(weights.sum(1, keepdims=True), 1.0)
    return np.einsum("nt,nto->no", weights, np.asarray(outputs, dtype=np.float64)) / counts


def _r2(estimate: np.ndarray, target: np.ndarray) -> float:
    ss_tot = float(np.sum((target - target.mean()) ** 2))
    return 1.0 - float(np.sum((estimate - target) ** 2)) / ss_tot if ss_tot > 0 else float("nan")


def _check_coherences(coherences: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(c) for c in coherences)
    if not values or not all(math.isfinite(c) and c != 0 for c in values):
        raise ValueError(
            f"coherences must be a non-empty sequence of finite non-zero numbers (got {coherences!r})"
        )
    return values


def _check_std(value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"noise_std must be a finite number >= 0 (got {value!r})")
    return float(value)
