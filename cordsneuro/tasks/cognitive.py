"""The catalogue of the paper's cognitive tasks (Appendix B.3 and B.4), each a
:class:`~cordsneuro.tasks.base.CognitiveTask` declared like its methods section.

Where Appendix B.3 is silent, each choice is documented in the task's docstring and exposed as
a parameter; ``variant="dubreuil2022"`` switches every such choice to the setting of the
low-rank RNN study the tasks follow (Dubreuil et al. 2022, Nat. Neurosci., and its code):

============================  ===========================  ==================================
choice                        ``variant="paper"`` (ours)    ``variant="dubreuil2022"``
============================  ===========================  ==================================
PWM input                     ``f / f_max``                 ``(f − f_mid) / (f_max − f_min)``
CDM/MDM cue amplitude         0.1 (Appendix B.3)            1
CDM/MDM cue in the decision   shown                         off
epochs with input noise       the stimulus epoch            the whole trial
sign tasks' answer            2 classes, cross-entropy      1 output, MSE to ±1
============================  ===========================  ==================================
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numpy as np

from cordsneuro.tasks.base import (
    Answer,
    CognitiveTask,
    Stimulus,
    _check_coherences,
    _check_std,
    _pick,
    _r2,
)

__all__ = [
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
    "register_environments",
]

#: Signal means of the decision-making tasks (Appendix B.3): drawn uniformly from {±0.4, ±0.2, ±0.1}.
COHERENCES = (-0.4, -0.2, -0.1, 0.1, 0.2, 0.4)

#: Settings of the choices the paper leaves open: ours ("paper") and Dubreuil et al. (2022).
VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {
        "input_scaling": "max", "cue_amplitude": 0.1, "cue_in_decision": True,
        "noise_epochs": "stimulus", "answer_format": "classes",
    },
    "dubreuil2022": {
        "input_scaling": "centred", "cue_amplitude": 1.0, "cue_in_decision": False,
        "noise_epochs": "trial", "answer_format": "signed",
    },
}  # fmt: skip


def _setting(variant: str, name: str, value: Any) -> Any:
    """``value`` if given, else the variant's setting of ``name``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)} (got {variant!r})")
    return VARIANTS[variant][name] if value is None else value


class _SignTask(CognitiveTask):
    """Shared by the tasks whose answer is the sign of a signal (PDM, CDM, MDM).

    ``answer_format="classes"`` (ours): two outputs (class 0 negative, class 1 positive) and
    cross-entropy. ``"signed"`` (Dubreuil et al. 2022): one output trained with the mean squared
    error towards ±1; the choice is the output's sign. ``noise_epochs``: ``"stimulus"`` (noise
    only while the signals are shown) or ``"trial"`` (every epoch, as Dubreuil et al.).
    """

    noise_epochs_options = ("stimulus", "trial")

    def _configure(
        self, variant: str, coherences, noise_std: float, noise_epochs, answer_format
    ) -> None:
        self.variant = variant
        self.coherences = _check_coherences(coherences)
        self.noise_std = _check_std(noise_std)
        self.noise_epochs = _setting(variant, "noise_epochs", noise_epochs)
        if self.noise_epochs not in self.noise_epochs_options:
            raise ValueError(
                f"noise_epochs must be one of {self.noise_epochs_options} (got {self.noise_epochs!r})"
            )
        self.answer_format = _setting(variant, "answer_format", answer_format)
        if self.answer_format == "classes":
            self.output_names = ("negative", "positive")
            self.answer = "categorical"
        elif self.answer_format == "signed":
            self.output_names = ("sign",)
            self.answer = "continuous"
        else:
            raise ValueError(
                f"answer_format must be 'classes' or 'signed' (got {self.answer_format!r})"
            )

    @property
    def config(self):
        return {
            **super().config,
            "variant": self.variant,
            "coherences": list(self.coherences),
            "noise_std": self.noise_std,
            "noise_epochs": self.noise_epochs,
            "answer_format": self.answer_format,
        }

    def _signal(self, channel: str, mean: np.ndarray) -> list[Stimulus]:
        """A signal of mean ``mean`` in the stimulus epoch, with noise in ``noise_epochs``."""
        if self.noise_epochs == "stimulus":
            return [Stimulus((channel,), mean, ("stimulus",), self.noise_std)]
        return [
            Stimulus((channel,), mean, ("stimulus",)),
            Stimulus((channel,), np.zeros_like(mean), self.periods, self.noise_std),
        ]

    def _answer(self, target: np.ndarray) -> Answer:
        if self.answer_format == "classes":
            return Answer(target, ("decision",))
        return Answer((2.0 * target - 1.0)[:, None], ("decision",))

    def score(self, response, info):
        if self.answer_format == "classes":
            return super().score(response, info)
        choice = (response[:, 0] > 0).astype(np.int64)
        correct = choice == info["target"]
        return {"correct": correct, "choice": choice, "accuracy": float(correct.mean())}


# ----------------------------------------------------------------------------- the tasks


class PDM(_SignTask):
    """Perceptual decision-making (Appendix B.3; Britten et al. 1992).

    Fixation 100 ms, stimulus 800 ms, delay 100 ms, decision 20 ms. During the stimulus a
    noisy signal of mean ``coherence`` ∈ {±0.4, ±0.2, ±0.1} with white noise (sd 0.1 per 20 ms
    sample) is the single input. In the decision epoch the network reports the signal's sign
    (class 0: negative, class 1: positive).

    Parameters
    ----------
    coherences : sequence of float
        Signal means to draw from (default :data:`COHERENCES`).
    noise_std : float
        Standard deviation of the input noise per 20 ms sample (default 0.1, Appendix B.3);
        scaled by √(20 ms / dt) at other steps (see :data:`~cordsneuro.tasks.base.NOISE_DT`).
    variant : {"paper", "dubreuil2022"}
        The setting of the choices the paper leaves open (see :data:`VARIANTS`).
    noise_epochs, answer_format :
        Override one choice of the variant (see :class:`_SignTask`).
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
        self, dt: float = 20.0, timing=None, seed=None, *, coherences=COHERENCES,
        noise_std: float = 0.1, variant: str = "paper", noise_epochs: str | None = None,
        answer_format: str | None = None,
    ):  # fmt: skip
        self._configure(variant, coherences, noise_std, noise_epochs, answer_format)
        super().__init__(dt=dt, timing=timing, seed=seed)

    def conditions(self, u, fixed):
        coherence = fixed.get("coherence", _pick(self.coherences, u[:, 0])).astype(np.float64)
        return {"coherence": coherence, "target": (coherence > 0).astype(np.int64)}

    def declare(self, c):
        return self._signal("signal", c["coherence"]), self._answer(c["target"])


class _ContextBase(_SignTask):
    """Shared structure of CDM and MDM: fixation 100 ms, context 350 ms, stimulus 800 ms,
    second context 500 ms, decision 20 ms (Appendix B.3). Inputs: two context cues (the cued
    one at ``cue_amplitude``, the other 0) and two noisy signals (sd 0.1 per 20 ms sample).

    Durations are whole steps (floored): at the default dt = 20 ms the 350 ms context epoch
    lasts 340 ms; use ``dt=10`` for the exact durations.

    Choices the paper leaves open (each a parameter; ``variant="dubreuil2022"`` takes Dubreuil
    et al.'s):

    * ``cue_amplitude``: 0.1 as Appendix B.3 states (Dubreuil et al.: 1).
    * ``cue_in_decision``: the paper does not say in which epochs the cue is shown; ours shows
      it from the context epoch to the end of the trial (context, stimulus, context_2,
      decision), so the two context epochs are the cue-only periods before and after the
      signals. ``False`` turns it off in the decision epoch (Dubreuil et al.).
    * ``noise_epochs`` and ``answer_format``: see :class:`_SignTask`.
    """

    periods = ("fixation", "context", "stimulus", "context_2", "decision")
    default_timing = {
        "fixation": 100,
        "context": 350,
        "stimulus": 800,
        "context_2": 500,
        "decision": 20,
    }  # Appendix B.3
    input_names = ("cue_1", "cue_2", "signal_1", "signal_2")
    output_names = ("negative", "positive")
    noise_channels = ("signal_1", "signal_2")
    n_condition_draws = 3
    fixable = ("context", "coherence_1", "coherence_2")
    condition_key = "coherence"

    def __init__(
        self, dt: float = 20.0, timing=None, seed=None, *, coherences=COHERENCES,
        noise_std: float = 0.1, variant: str = "paper", cue_amplitude: float | None = None,
        cue_in_decision: bool | None = None, noise_epochs: str | None = None,
        answer_format: str | None = None,
    ):  # fmt: skip
        self._configure(variant, coherences, noise_std, noise_epochs, answer_format)
        cue_amplitude = _setting(variant, "cue_amplitude", cue_amplitude)
        if isinstance(cue_amplitude, bool) or not isinstance(cue_amplitude, (int, float)):
            raise ValueError(f"cue_amplitude must be a number (got {cue_amplitude!r})")
        if not math.isfinite(cue_amplitude):
            raise ValueError(f"cue_amplitude must be finite (got {cue_amplitude!r})")
        self.cue_amplitude = float(cue_amplitude)
        self.cue_in_decision = bool(_setting(variant, "cue_in_decision", cue_in_decision))
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {
            **super().config,
            "cue_amplitude": self.cue_amplitude,
            "cue_in_decision": self.cue_in_decision,
        }

    def declare(self, c):
        cue = np.stack([c["context"] == 0, c["context"] == 1], axis=1) * self.cue_amplitude
        shown = ("context", "stimulus", "context_2", "decision")[: 4 if self.cue_in_decision else 3]
        stimuli = [Stimulus(("cue_1", "cue_2"), cue, shown)]
        stimuli += self._signal("signal_1", c["coherence_1"])
        stimuli += self._signal("signal_2", c["coherence_2"])
        return stimuli, self._answer(c["target"])


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

    Normalisation (the paper says only "normalised difference"): with ``input_scaling="max"``
    (ours) the input during a stimulus epoch is ``f / f_max`` (in [0.29, 1], so every stimulus
    is visible); ``"centred"`` (Dubreuil et al. 2022; ``variant="dubreuil2022"``) feeds
    ``(f − f_mid) / (f_max − f_min)`` with ``f_mid = (f_min + f_max) / 2``, in [−0.5, 0.5]. The
    target during the decision epoch is ``(f1 − f2) / (f_max − f_min)``, in [−1, 1], in both.
    Scores:
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
        self, dt: float = 20.0, timing=None, seed=None, *, f_min: int = 10, f_max: int = 34,
        variant: str = "paper", input_scaling: str | None = None,
    ):  # fmt: skip
        if not (isinstance(f_min, int) and isinstance(f_max, int) and 0 < f_min < f_max):
            raise ValueError(
                f"f_min and f_max must be ints with 0 < f_min < f_max (got {f_min!r}, {f_max!r})"
            )
        self.f_min, self.f_max = f_min, f_max
        self.variant = variant
        self.input_scaling = _setting(variant, "input_scaling", input_scaling)
        if self.input_scaling not in ("max", "centred"):
            raise ValueError(
                f"input_scaling must be 'max' or 'centred' (got {self.input_scaling!r})"
            )
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {
            **super().config, "f_min": self.f_min, "f_max": self.f_max,
            "variant": self.variant, "input_scaling": self.input_scaling,
        }  # fmt: skip

    def _input(self, f: np.ndarray) -> np.ndarray:
        if self.input_scaling == "max":
            return f / self.f_max
        return (f - (self.f_min + self.f_max) / 2) / (self.f_max - self.f_min)

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
                Stimulus(("stimulus",), self._input(c["f1"]), ("stimulus_1",)),
                Stimulus(("stimulus",), self._input(c["f2"]), ("stimulus_2",)),
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
    """Memory-pro delayed response (Appendix B.4; Yang et al. 2019; Driscoll et al. 2024): the
    epochs and the go cue shared by :class:`MemoryProRing`, :class:`MemoryProLine` and
    :class:`MemoryProPoints` (build one of those).

    Fixation uniform in [300, 700] ms, stimulus in [200, 1600] ms, delay in [200, 1600] ms,
    response in [300, 700] ms. A fixation input is 1 until the response epoch (the go cue:
    without it the network could not know when to answer, since every epoch is random). In the
    response epoch the network reproduces the stimulus it saw.
    """

    name = "MemoryPro"
    periods = ("fixation", "stimulus", "delay", "response")
    default_timing = {
        "fixation": ("uniform", (300, 700)), "stimulus": ("uniform", (200, 1600)),
        "delay": ("uniform", (200, 1600)), "response": ("uniform", (300, 700)),
    }  # fmt: skip  # Appendix B.4
    scored_periods = ("response",)

    def __init__(self, dt: float = 20.0, timing=None, seed=None):
        if type(self) is MemoryPro:
            raise TypeError(
                "MemoryPro is three tasks: build MemoryProRing, MemoryProLine or MemoryProPoints"
            )
        super().__init__(dt=dt, timing=timing, seed=seed)

    def _declare(self, c, shown: np.ndarray, answer: np.ndarray) -> tuple[list, Answer]:
        """The go cue, ``shown`` on the stimulus channels and ``answer`` in the response."""
        n = len(shown)
        fixation = Stimulus(("fixation",), np.ones(n), ("fixation", "stimulus", "delay"))
        return (
            [fixation, Stimulus(self.input_names[1:], shown, ("stimulus",))],
            Answer(answer, ("response",)),
        )


class MemoryProRing(MemoryPro):
    """Memory-pro on a ring (Appendix B.4): an angle θ uniform in [0, 2π), shown and answered
    as ``(cos θ, sin θ)``. Scored by the mean absolute angular error in degrees (``mae_deg``,
    criterion ≤ 10°); ``correct`` when the error is below ``tolerance_deg`` (default 10°)."""

    name = "MemoryProRing"
    input_names = ("fixation", "cos", "sin")
    output_names = ("cos", "sin")
    answer = "continuous"
    fixable = ("theta",)
    condition_key = "theta"
    criterion = {"mae_deg": 10.0}

    def __init__(self, dt: float = 20.0, timing=None, seed=None, *, tolerance_deg: float = 10.0):
        self.tolerance_deg = float(tolerance_deg)
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {**super().config, "tolerance_deg": self.tolerance_deg}

    def conditions(self, u, fixed):
        theta = np.mod(fixed.get("theta", 2 * np.pi * u[:, 0]).astype(np.float64), 2 * np.pi)
        return {"theta": theta, "target_cos": np.cos(theta), "target_sin": np.sin(theta)}

    def declare(self, c):
        value = np.stack([c["target_cos"], c["target_sin"]], axis=1)
        return self._declare(c, value, value)

    def score(self, response, info):
        estimate = np.mod(np.arctan2(response[:, 1], response[:, 0]), 2 * np.pi)
        error = np.degrees(np.abs(np.angle(np.exp(1j * (estimate - np.asarray(info["theta"]))))))
        correct = error < self.tolerance_deg
        return {
            "correct": correct,
            "estimate": estimate,
            "error_deg": error,
            "mae_deg": float(error.mean()),
            "accuracy": float(correct.mean()),
        }


class MemoryProLine(MemoryPro):
    """Memory-pro on a line (Appendix B.4): a value x uniform in [−1, 1] on one input, answered
    on one output. Scored by ``r2`` (criterion ≥ 0.95); ``correct`` when ``|error| <
    tolerance`` (default 0.1)."""

    name = "MemoryProLine"
    input_names = ("fixation", "value")
    output_names = ("value",)
    answer = "continuous"
    fixable = ("value",)
    condition_key = "value"
    criterion = {"r2": 0.95}

    def __init__(self, dt: float = 20.0, timing=None, seed=None, *, tolerance: float = 0.1):
        self.tolerance = float(tolerance)
        super().__init__(dt=dt, timing=timing, seed=seed)

    @property
    def config(self):
        return {**super().config, "tolerance": self.tolerance}

    def conditions(self, u, fixed):
        value = fixed.get("value", -1.0 + 2.0 * u[:, 0]).astype(np.float64)
        return {"value": value, "target": value}

    def declare(self, c):
        return self._declare(c, c["value"], c["value"][:, None])

    def score(self, response, info):
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


class MemoryProPoints(MemoryPro):
    """Memory-pro on discrete points (Appendix B.4): one of 8 states, one-hot on 8 inputs,
    answered by 8 class outputs. Scored by ``accuracy`` (criterion ≥ 0.95)."""

    name = "MemoryProPoints"
    n_points = 8
    input_names = ("fixation", *(f"point_{i}" for i in range(n_points)))
    output_names = tuple(f"point_{i}" for i in range(n_points))
    fixable = ("point",)
    condition_key = "point"
    criterion = {"accuracy": 0.95}

    def conditions(self, u, fixed):
        point = fixed.get("point", _pick(np.arange(self.n_points), u[:, 0])).astype(np.int64)
        if ((point < 0) | (point >= self.n_points)).any():
            raise ValueError(f"condition 'point' must be in [0, {self.n_points})")
        return {"point": point, "target": point}

    def declare(self, c):
        return self._declare(c, np.eye(self.n_points)[c["point"]], c["point"])


#: The paper's tasks, name → class: the ids ``cordsneuro/<name>-v0``.
TASKS: dict[str, type[CognitiveTask]] = {
    "PDM": PDM,
    "PWM": PWM,
    "CDM": CDM,
    "MDM": MDM,
    "DMS": DMS,
    "MemoryProRing": MemoryProRing,
    "MemoryProLine": MemoryProLine,
    "MemoryProPoints": MemoryProPoints,
}


def register_environments() -> None:
    """Register every task with gymnasium as ``cordsneuro/<name>-v0`` (idempotent)."""
    for name, cls in TASKS.items():
        env_id = f"cordsneuro/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=f"{cls.__module__}:{cls.__name__}",
                disable_env_checker=True,
            )
