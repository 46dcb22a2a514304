"""The cognitive tasks of the paper as neurogym ``TrialEnv`` s (Appendix B.3 and B.4).

Every task is declared once, like a methods section: its epochs in order with their durations
in ms (:attr:`CognitiveTask.default_timing`), how a trial's conditions are drawn
(:meth:`CognitiveTask.conditions`) and what the network sees and must answer in each epoch
(:meth:`CognitiveTask.declare`, a list of :class:`Stimulus` and one :class:`Answer`). Two
interpreters read that declaration:

* the environment's own :meth:`~neurogym.TrialEnv.new_trial`, one trial at a time through
  neurogym's ``add_period`` / ``add_ob`` / ``set_groundtruth`` (so every neurogym tool works);
* :func:`cordsneuro.tasks.batching.make_batch`, which builds a whole batch at once (vectorised
  numpy) and gives exactly the same trials for the same seed.

Randomness comes from three numpy streams (conditions, epoch durations, input noise) spawned
from the seed; every draw uses a fixed amount of each stream per trial, so drawing ``n`` trials
at once or one at a time gives the same trials.

Time step
---------
The environments use a cognitive ``dt`` (default 20 ms, matching the single-area RNNs' default
τ = 100 ms, dt = 20 ms). Durations are floored to whole steps, as neurogym does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium
import numpy as np
from neurogym.core import TrialEnv
from neurogym.utils import spaces

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
]

#: Signal means of the decision-making tasks (Appendix B.3): drawn uniformly from {±0.4, ±0.2, ±0.1}.
COHERENCES = (-0.4, -0.2, -0.1, 0.1, 0.2, 0.4)

#: Metrics for which smaller is better (criteria compare them with ``<=``).
LOWER_IS_BETTER = frozenset({"mae_deg", "mae", "mse", "loss"})

_EPS = 1e-9


# ----------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Stimulus:
    """What the network sees: ``value`` on input ``channels`` during ``periods``.

    ``value`` has shape ``(n,)`` (one channel) or ``(n, len(channels))``; ``noise_std`` adds
    Gaussian noise of that standard deviation (per time step, i.e. per sample at the task's dt)
    on a single channel, drawn from the task's noise stream.
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
            "timing": {k: _jsonable(v) for k, v in self.timing.items()},
        }

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
                        stim.noise_std * noise[0, self.start_ind[p] : self.end_ind[p], j],
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
        """The network's answer per trial: its outputs averaged over the scored steps.

        ``outputs (n, time, n_outputs)``, ``mask (n, time)`` → ``(n, n_outputs)``."""
        weights = mask.astype(np.float64)
        counts = np.maximum(weights.sum(1, keepdims=True), 1.0)
        return np.einsum("nt,nto->no", weights, outputs.astype(np.float64)) / counts

    def score(self, response: np.ndarray, info: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Per-trial correctness and the task's metrics from :meth:`respond`'s answers.

        Returns a dict with ``correct (n,) bool``, ``choice`` or ``estimate`` per trial and the
        scalar metrics named in :attr:`criterion` (plus task-specific ones)."""
        choice = response.argmax(1)
        correct = choice == info["target"]
        return {"correct": correct, "choice": choice, "accuracy": float(correct.mean())}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


# ----------------------------------------------------------------------------- the tasks


class PDM(CognitiveTask):
    """Perceptual decision-making (Appendix B.3; Britten et al. 1992).

    Fixation 100 ms, stimulus 800 ms, delay 100 ms, decision 20 ms. During the stimulus a
    noisy signal of mean ``coherence`` ∈ {±0.4, ±0.2, ±0.1} and Gaussian noise of sd 0.1 (per
    time step) is the single input. In the decision epoch the network reports the signal's sign
    with two outputs (class 0: negative, class 1: positive).

    Parameters
    ----------
    coherences : sequence of float
        Signal means to draw from (default :data:`COHERENCES`).
    noise_std : float
        Standard deviation of the input noise per time step (default 0.1).
    """

    name = "PDM"
    periods = ("fixation", "stimulus", "delay", "decision")
    default_timing = {
        "fixation": 100,
        "stimulus": 800,
        "delay": 100,
        "decision": 20,
    }  # Appendix B.3
    input_names = ("signal",)
    output_names = ("negative", "positive")
    noise_channels = ("signal",)
    fixable = ("coherence",)
    condition_key = "coherence"

    def __init__(
        self,
        dt: float = 20.0,
        timing=None,
        seed=None,
        *,
        coherences=COHERENCES,
        noise_std: float = 0.1,
    ):
        self.coherences = _check_coherences(coherences)
        self.noise_std = _check_std(noise_std)
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {**super().config, "coherences": list(self.coherences), "noise_std": self.noise_std}

    def conditions(self, u, fixed):
        coherence = fixed.get("coherence", _pick(self.coherences, u[:, 0])).astype(np.float64)
        return {"coherence": coherence, "target": (coherence > 0).astype(np.int64)}

    def declare(self, c):
        return (
            [Stimulus(("signal",), c["coherence"], ("stimulus",), self.noise_std)],
            Answer(c["target"], ("decision",)),
        )


class _ContextBase(CognitiveTask):
    """Shared structure of CDM and MDM: fixation 100 ms, context 350 ms, stimulus 800 ms,
    second context 500 ms, decision 20 ms (Appendix B.3). Inputs: two context cues (the cued
    one at ``cue_amplitude`` = 0.1, the other 0) and two noisy signals (sd 0.1 per step).

    Durations are whole steps (floored): at the default dt = 20 ms the 350 ms context epoch
    lasts 340 ms; use ``dt=10`` for the exact durations.

    The paper does not say in which epochs the cue is shown; here it is on from the context
    epoch to the end of the trial (context, stimulus, context_2, decision), which makes the
    two context epochs the cue-only periods before and after the signals.
    """

    periods = ("fixation", "context", "stimulus", "context_2", "decision")
    default_timing = {
        "fixation": 100,
        "context": 350,
        "stimulus": 800,
        "context_2": 500,
        "decision": 20,
    }
    input_names = ("cue_1", "cue_2", "signal_1", "signal_2")
    output_names = ("negative", "positive")
    noise_channels = ("signal_1", "signal_2")
    n_condition_draws = 3
    fixable = ("context", "coherence_1", "coherence_2")
    condition_key = "coherence"

    def __init__(
        self, dt: float = 20.0, timing=None, seed=None, *, coherences=COHERENCES,
        noise_std: float = 0.1, cue_amplitude: float = 0.1,
    ):  # fmt: skip
        self.coherences = _check_coherences(coherences)
        self.noise_std = _check_std(noise_std)
        if not math.isfinite(cue_amplitude):
            raise ValueError(f"cue_amplitude must be finite (got {cue_amplitude!r})")
        self.cue_amplitude = float(cue_amplitude)
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {
            **super().config,
            "coherences": list(self.coherences),
            "noise_std": self.noise_std,
            "cue_amplitude": self.cue_amplitude,
        }

    def declare(self, c):
        cue = np.stack([c["context"] == 0, c["context"] == 1], axis=1) * self.cue_amplitude
        shown = ("context", "stimulus", "context_2", "decision")
        return (
            [
                Stimulus(("cue_1", "cue_2"), cue, shown),
                Stimulus(("signal_1",), c["coherence_1"], ("stimulus",), self.noise_std),
                Stimulus(("signal_2",), c["coherence_2"], ("stimulus",), self.noise_std),
            ],
            Answer(c["target"], ("decision",)),
        )


class CDM(_ContextBase):
    """Contextual decision-making (Appendix B.3; Mante et al. 2013).

    Two independent noisy signals with means in {±0.4, ±0.2, ±0.1}; the cue says which one
    matters (``context`` 0: signal 1, 1: signal 2) and the network reports the sign of the cued
    signal. ``coherence`` in the trial info is the cued signal's mean.
    """

    name = "CDM"

    def conditions(self, u, fixed):
        context = fixed.get("context", (u[:, 0] >= 0.5).astype(np.int64)).astype(np.int64)
        if not np.isin(context, (0, 1)).all():
            raise ValueError("condition 'context' must be 0 or 1")
        c1 = fixed.get("coherence_1", _pick(self.coherences, u[:, 1])).astype(np.float64)
        c2 = fixed.get("coherence_2", _pick(self.coherences, u[:, 2])).astype(np.float64)
        cued = np.where(context == 0, c1, c2)
        return {
            "context": context, "coherence_1": c1, "coherence_2": c2,
            "coherence": cued, "target": (cued > 0).astype(np.int64),
        }  # fmt: skip


class MDM(_ContextBase):
    """Multi-sensory decision-making (Appendix B.3; Raposo et al. 2014).

    As :class:`CDM` (same epochs and inputs) but the two signals share their sign; the network
    reports that sign. ``coherence_2`` draws its magnitude from the coherences' magnitudes and
    takes the sign of ``coherence_1``. ``coherence`` in the trial info is the mean of the two.
    """

    name = "MDM"

    def conditions(self, u, fixed):
        context = fixed.get("context", (u[:, 0] >= 0.5).astype(np.int64)).astype(np.int64)
        if not np.isin(context, (0, 1)).all():
            raise ValueError("condition 'context' must be 0 or 1")
        c1 = fixed.get("coherence_1", _pick(self.coherences, u[:, 1])).astype(np.float64)
        magnitudes = sorted({abs(c) for c in self.coherences})
        c2 = fixed.get("coherence_2", np.sign(c1) * _pick(magnitudes, u[:, 2])).astype(np.float64)
        if (np.sign(c1) * np.sign(c2) < 0).any():
            raise ValueError("MDM: coherence_1 and coherence_2 must share their sign")
        total = c1 + c2
        return {
            "context": context, "coherence_1": c1, "coherence_2": c2,
            "coherence": total / 2, "target": (total > 0).astype(np.int64),
        }  # fmt: skip


class PWM(CognitiveTask):
    """Parametric working memory (Appendix B.3; Romo et al. 1999).

    Fixation 100 ms, stimulus 1 100 ms, delay uniform in [500, 2000] ms, stimulus 2 100 ms,
    decision 100 ms. ``f1, f2`` are drawn uniformly from {10, 11, …, 34}.

    Normalisation (the paper says only "normalised difference"): the input during a stimulus
    epoch is ``f / f_max`` (in [0.29, 1], so every stimulus is visible), and the target during
    the decision epoch is ``(f1 − f2) / (f_max − f_min)``, which lies in [−1, 1]. Scores:
    ``r2`` of the answer against that target over trials, and ``sign_accuracy`` of
    ``sign(answer)`` against ``sign(f1 − f2)`` over the trials with ``f1 ≠ f2`` (when they are
    equal the sign is undefined). ``correct`` is the sign test (``False`` when f1 = f2).
    """

    name = "PWM"
    periods = ("fixation", "stimulus_1", "delay", "stimulus_2", "decision")
    default_timing = {
        "fixation": 100, "stimulus_1": 100, "delay": ("uniform", (500, 2000)),
        "stimulus_2": 100, "decision": 100,
    }  # fmt: skip  # Appendix B.3
    answer = "continuous"
    input_names = ("stimulus",)
    output_names = ("difference",)
    n_condition_draws = 2
    fixable = ("f1", "f2")
    condition_key = "difference"
    criterion = {"sign_accuracy": 0.9, "r2": 0.9}

    def __init__(
        self, dt: float = 20.0, timing=None, seed=None, *, f_min: int = 10, f_max: int = 34
    ):
        if not (isinstance(f_min, int) and isinstance(f_max, int) and 0 < f_min < f_max):
            raise ValueError(
                f"f_min and f_max must be ints with 0 < f_min < f_max (got {f_min!r}, {f_max!r})"
            )
        self.f_min, self.f_max = f_min, f_max
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {**super().config, "f_min": self.f_min, "f_max": self.f_max}

    def conditions(self, u, fixed):
        freqs = np.arange(self.f_min, self.f_max + 1, dtype=np.float64)
        f1 = fixed.get("f1", _pick(freqs, u[:, 0])).astype(np.float64)
        f2 = fixed.get("f2", _pick(freqs, u[:, 1])).astype(np.float64)
        return {
            "f1": f1,
            "f2": f2,
            "difference": f1 - f2,
            "target": (f1 - f2) / (self.f_max - self.f_min),
        }

    def declare(self, c):
        return (
            [
                Stimulus(("stimulus",), c["f1"] / self.f_max, ("stimulus_1",)),
                Stimulus(("stimulus",), c["f2"] / self.f_max, ("stimulus_2",)),
            ],
            Answer(c["target"][:, None], ("decision",)),
        )

    def score(self, response, info):
        estimate = response[:, 0]
        target = np.asarray(info["target"], dtype=np.float64)
        differs = target != 0
        correct = differs & (np.sign(estimate) == np.sign(target))
        return {
            "correct": correct,
            "estimate": estimate,
            "sign_accuracy": float(correct[differs].mean()) if differs.any() else float("nan"),
            "r2": _r2(estimate, target),
            "mse": float(np.mean((estimate - target) ** 2)),
            "accuracy": float(correct[differs].mean()) if differs.any() else float("nan"),
        }


class DMS(CognitiveTask):
    """Delayed match-to-sample (Appendix B.3; Miyashita 1988).

    Fixation 100 ms, sample 500 ms, delay uniform in [500, 3000] ms, test 500 ms, decision
    1000 ms. Sample and test are each one of two stimuli (one-hot on two inputs); in the decision
    epoch the network answers non-match (class 0) or match (class 1). Scored on the decision
    epoch; ``accuracy ≥ 0.95`` is the criterion.
    """

    name = "DMS"
    periods = ("fixation", "sample", "delay", "test", "decision")
    default_timing = {
        "fixation": 100, "sample": 500, "delay": ("uniform", (500, 3000)), "test": 500, "decision": 1000,
    }  # fmt: skip  # Appendix B.3
    input_names = ("stimulus_A", "stimulus_B")
    output_names = ("non_match", "match")
    n_condition_draws = 2
    fixable = ("sample", "test")
    condition_key = "delay_ms"
    criterion = {"accuracy": 0.95}

    def conditions(self, u, fixed):
        sample = fixed.get("sample", (u[:, 0] >= 0.5).astype(np.int64)).astype(np.int64)
        test = fixed.get("test", (u[:, 1] >= 0.5).astype(np.int64)).astype(np.int64)
        if not (np.isin(sample, (0, 1)).all() and np.isin(test, (0, 1)).all()):
            raise ValueError("conditions 'sample' and 'test' must be 0 or 1")
        return {"sample": sample, "test": test, "target": (sample == test).astype(np.int64)}

    def declare(self, c):
        eye = np.eye(2)
        return (
            [
                Stimulus(("stimulus_A", "stimulus_B"), eye[c["sample"]], ("sample",)),
                Stimulus(("stimulus_A", "stimulus_B"), eye[c["test"]], ("test",)),
            ],
            Answer(c["target"], ("decision",)),
        )


class MemoryPro(CognitiveTask):
    """Memory-pro delayed response (Appendix B.4; Yang et al. 2019; Driscoll et al. 2024).

    Fixation uniform in [300, 700] ms, stimulus in [200, 1600] ms, delay in [200, 1600] ms,
    response in [300, 700] ms. A fixation input is 1 until the response epoch (the go cue:
    without it the network could not know when to answer, since every epoch is random). In the
    response epoch the network reproduces the stimulus it saw:

    * ``"ring"``: an angle θ uniform in [0, 2π), shown and answered as ``(cos θ, sin θ)``;
      scored by the mean absolute angular error in degrees (``mae_deg``, criterion ≤ 10°);
      ``correct`` when the error is below ``tolerance_deg`` (default 10°).
    * ``"line"``: a value x uniform in [−1, 1] on one input, answered on one output; scored by
      ``r2`` (criterion ≥ 0.95); ``correct`` when ``|error| < tolerance`` (default 0.1).
    * ``"points"``: one of 8 discrete states, one-hot on 8 inputs, answered by 8 class outputs;
      scored by ``accuracy`` (criterion ≥ 0.95).
    """

    name = "MemoryPro"
    periods = ("fixation", "stimulus", "delay", "response")
    default_timing = {
        "fixation": ("uniform", (300, 700)), "stimulus": ("uniform", (200, 1600)),
        "delay": ("uniform", (200, 1600)), "response": ("uniform", (300, 700)),
    }  # fmt: skip  # Appendix B.4
    scored_periods = ("response",)
    kinds = ("ring", "line", "points")
    n_points = 8

    def __init__(
        self, dt: float = 20.0, timing=None, seed=None, *, stimulus: str = "ring",
        tolerance_deg: float = 10.0, tolerance: float = 0.1,
    ):  # fmt: skip
        if stimulus not in self.kinds:
            raise ValueError(f"stimulus must be one of {self.kinds} (got {stimulus!r})")
        self.stimulus = stimulus
        self.tolerance_deg = float(tolerance_deg)
        self.tolerance = float(tolerance)
        if stimulus == "ring":
            self.input_names = ("fixation", "cos", "sin")
            self.output_names = ("cos", "sin")
            self.answer = "continuous"
            self.fixable = ("theta",)
            self.condition_key = "theta"
            self.criterion = {"mae_deg": 10.0}
        elif stimulus == "line":
            self.input_names = ("fixation", "value")
            self.output_names = ("value",)
            self.answer = "continuous"
            self.fixable = ("value",)
            self.condition_key = "value"
            self.criterion = {"r2": 0.95}
        else:
            self.input_names = ("fixation", *(f"point_{i}" for i in range(self.n_points)))
            self.output_names = tuple(f"point_{i}" for i in range(self.n_points))
            self.answer = "categorical"
            self.fixable = ("point",)
            self.condition_key = "point"
            self.criterion = {"accuracy": 0.95}
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {
            **super().config,
            "stimulus": self.stimulus,
            "tolerance_deg": self.tolerance_deg,
            "tolerance": self.tolerance,
        }

    def conditions(self, u, fixed):
        if self.stimulus == "ring":
            theta = np.mod(fixed.get("theta", 2 * np.pi * u[:, 0]).astype(np.float64), 2 * np.pi)
            return {"theta": theta, "target_cos": np.cos(theta), "target_sin": np.sin(theta)}
        if self.stimulus == "line":
            value = fixed.get("value", -1.0 + 2.0 * u[:, 0]).astype(np.float64)
            return {"value": value, "target": value}
        point = fixed.get("point", _pick(np.arange(self.n_points), u[:, 0])).astype(np.int64)
        if ((point < 0) | (point >= self.n_points)).any():
            raise ValueError(f"condition 'point' must be in [0, {self.n_points})")
        return {"point": point, "target": point}

    def declare(self, c):
        n = len(next(iter(c.values())))
        fixation = Stimulus(("fixation",), np.ones(n), ("fixation", "stimulus", "delay"))
        channels = self.input_names[1:]
        if self.stimulus == "ring":
            value = np.stack([c["target_cos"], c["target_sin"]], axis=1)
            return [fixation, Stimulus(channels, value, ("stimulus",))], Answer(
                value, ("response",)
            )
        if self.stimulus == "line":
            return (
                [fixation, Stimulus(channels, c["value"], ("stimulus",))],
                Answer(c["value"][:, None], ("response",)),
            )
        onehot = np.eye(self.n_points)[c["point"]]
        return [fixation, Stimulus(channels, onehot, ("stimulus",))], Answer(
            c["point"], ("response",)
        )

    def score(self, response, info):
        if self.stimulus == "points":
            return super().score(response, info)
        if self.stimulus == "line":
            estimate = response[:, 0]
            target = np.asarray(info["target"], dtype=np.float64)
            error = estimate - target
            correct = np.abs(error) < self.tolerance
            return {
                "correct": correct,
                "estimate": estimate,
                "r2": _r2(estimate, target),
                "mae": float(np.abs(error).mean()),
                "accuracy": float(correct.mean()),
            }
        return angular_score(response, info["theta"], self.tolerance_deg)


# ----------------------------------------------------------------------------- helpers


def angular_score(response: np.ndarray, theta: np.ndarray, tolerance_deg: float) -> dict:
    """Scores of answers ``(cos, sin)`` ``(n, 2)`` against true angles ``theta (n,)`` (rad):
    the angle read out, its absolute error in degrees, ``correct`` below ``tolerance_deg``."""
    estimate = np.mod(np.arctan2(response[:, 1], response[:, 0]), 2 * np.pi)
    error = np.degrees(np.abs(np.angle(np.exp(1j * (estimate - np.asarray(theta))))))
    correct = error < tolerance_deg
    return {
        "correct": correct,
        "estimate": estimate,
        "error_deg": error,
        "mae_deg": float(error.mean()),
        "accuracy": float(correct.mean()),
    }


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


#: Task name → class (and keyword arguments): the ids ``cordsneuro/<name>-v0``.
TASKS: dict[str, tuple[type[CognitiveTask], dict[str, Any]]] = {
    "PDM": (PDM, {}),
    "PWM": (PWM, {}),
    "CDM": (CDM, {}),
    "MDM": (MDM, {}),
    "DMS": (DMS, {}),
    "MemoryPro": (MemoryPro, {}),
    "MemoryProRing": (MemoryPro, {"stimulus": "ring"}),
    "MemoryProLine": (MemoryPro, {"stimulus": "line"}),
    "MemoryProPoints": (MemoryPro, {"stimulus": "points"}),
}


def make(name: str, **kwargs: Any) -> CognitiveTask:
    """Build one of the paper's tasks by name (``"PDM"``, ``"cordsneuro/PDM-v0"``,
    ``"MemoryProRing"``...), with keyword arguments passed to its constructor."""
    return build_from(TASKS, name, "the cognitive tasks", **kwargs)


def build_from(table: Mapping[str, tuple[type, dict]], name: str, what: str, **kwargs: Any):
    """Build the task ``name`` (case-insensitive, with or without ``cordsneuro/`` and
    ``-v0``) of a name → (class, keyword arguments) table."""
    key = name
    if isinstance(key, str) and key.startswith("cordsneuro/"):
        key = key[len("cordsneuro/") :]
    if isinstance(key, str) and key.endswith("-v0"):
        key = key[: -len("-v0")]
    lookup = {k.lower(): k for k in table}
    if not isinstance(key, str) or key.lower() not in lookup:
        raise ValueError(f"unknown task {name!r}; {what} are {sorted(table)}")
    cls, defaults = table[lookup[key.lower()]]
    return cls(**{**defaults, **kwargs})


def register_environments(table: Mapping[str, tuple[type, dict]] | None = None) -> None:
    """Register every task of ``table`` (default: the paper's, :data:`TASKS`) with gymnasium
    as ``cordsneuro/<name>-v0`` (idempotent)."""
    for name, (cls, defaults) in (TASKS if table is None else table).items():
        env_id = f"cordsneuro/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=f"{cls.__module__}:{cls.__name__}",
                kwargs=dict(defaults),
                disable_env_checker=True,
            )
