"""Image-computable monkey experiments as neurogym ``TrialEnv`` s (paper Section 5, Fig. 5).

Each task is one of :class:`~cordsneuro.tasks.cognitive.CognitiveTask`: its epochs in order
with their durations in ms, its conditions, the answer and the scored epoch are declared the
same way, and :func:`~cordsneuro.tasks.make_batch`, :func:`~cordsneuro.train` and
:func:`~cordsneuro.tasks.evaluate` work unchanged. The difference: the observation at each
step is an image ``(C, H, W)`` in [0, 1] drawn by :mod:`cordsneuro.tasks.stimuli`, so batches
have inputs ``(batch, time, C, H, W)`` (feed them to a
:class:`~cordsneuro.models.multiarea.MultiAreaModel`).

=====================  =========================================================  ============
task                   epochs (default ms, from the cited study)                    answer
=====================  =========================================================  ============
:class:`Numerosity`    fixation 500, sample 800, delay 1000, test 600, decision      match /
                       600 (Nieder, Freedman & Miller 2002: the test display is      non-match
                       on for 1200 ms; the answer is scored in its second half)
:class:`Category`      fixation 500, sample 600, delay 1000, decision 500            cat / dog
                       (Freedman et al. 2001)
:class:`DelayedResponse`  fixation 1000, cue 500, delay 3000, response 500           8 positions
                       (Funahashi, Bruce & Goldman-Rakic 1989)                       or (cos, sin)
:class:`Motion`        fixed duration: fixation 500, motion 1000, decision 300;      left /
                       reaction time: fixation 500, motion 800, decision 400 with    right
                       the dots still on (Roitman & Shadlen 2002)
=====================  =========================================================  ============

Every trial carries a ``trial_seed``: its conditions and its pixels are drawn from it (and the
task's ``stimulus_seed``), so a trial can be redrawn exactly. With ``pool=n`` the trials are
drawn from a fixed set of ``n`` trial seeds, so the same image sequences come back epoch after
epoch (a finite training set, whose front-end activity a
:class:`~cordsneuro.models.multiarea.MultiAreaModel` caches); ``pool=None`` draws new stimuli
for every trial (use it for held-out evaluation).

The cognitive ``dt`` is 20 ms (each image is held for one 20 ms step; the random dots change
every step).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from neurogym.utils import spaces

from cordsneuro.tasks import stimuli as S
from cordsneuro.tasks.cognitive import (
    Answer,
    CognitiveTask,
    angular_score,
    build_from,
    register_environments,
)

__all__ = [
    "VisualTask",
    "Numerosity",
    "Category",
    "DelayedResponse",
    "Motion",
    "VISUAL_TASKS",
    "make_visual",
    "register_visual_environments",
    "reaction_times",
]


class VisualTask(CognitiveTask):
    """Base class of the image tasks: a :class:`CognitiveTask` whose observation is an image.

    Parameters
    ----------
    dt : float
        Time step in ms (default 20).
    timing : dict, optional
        Epoch durations in ms (see :class:`CognitiveTask`).
    seed : int, optional
        Seed of the task's random streams.
    image_size : int
        Height and width of the images in pixels (default 32).
    channels : int
        Image channels (1 grey, 3 for an RGB front end; the images are grey either way).
    pool : int, optional
        Draw trials from this many fixed trial seeds (a finite stimulus set); None: new
        stimuli every trial.
    stimulus_seed : int
        Seed mixed into every trial's seed: two tasks with different ``stimulus_seed`` draw
        different stimulus sets.
    """

    n_condition_draws = 1
    input_names = ()
    #: conditions a subclass draws per trial; the caller may fix any of them.
    trial_conditions: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        dt: float = 20.0,
        timing: Mapping[str, Any] | None = None,
        seed: int | None = None,
        *,
        image_size: int = 32,
        channels: int = 1,
        pool: int | None = None,
        stimulus_seed: int = 0,
    ):
        size = S._check_size(image_size)
        if size[0] != size[1]:
            raise ValueError(f"image_size must be one int (square images), got {image_size!r}")
        self.image_size = size[0]
        self.channels = S._check_channels(channels)
        if pool is not None and (
            isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1
        ):
            raise ValueError(f"pool must be None or an int >= 1 (got {pool!r})")
        self.pool = None if pool is None else int(pool)
        if isinstance(stimulus_seed, bool) or not isinstance(stimulus_seed, (int, np.integer)):
            raise ValueError(f"stimulus_seed must be an int (got {stimulus_seed!r})")
        self.stimulus_seed = int(stimulus_seed)
        self.fixable = (*self.trial_conditions, "trial_seed")
        super().__init__(dt=dt, timing=timing, seed=seed)
        shape = (self.channels, self.image_size, self.image_size)
        self.observation_space = spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)

    # -- sizes ---------------------------------------------------------------------------

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one observation."""
        return (self.channels, self.image_size, self.image_size)

    @property
    def n_inputs(self) -> int:
        """Values per observation, ``C · H · W``."""
        return math.prod(self.input_shape)

    @property
    def config(self) -> dict[str, Any]:
        return {
            **super().config,
            "image_size": self.image_size,
            "channels": self.channels,
            "pool": self.pool,
            "stimulus_seed": self.stimulus_seed,
        }

    # -- conditions ----------------------------------------------------------------------

    def _rng(self, trial_seed: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.stimulus_seed, int(trial_seed), stream])

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """One trial's conditions (scalars) from its own generator."""
        raise NotImplementedError

    def check_condition(self, name: str, value: Any) -> None:
        """Raise ``ValueError`` for a fixed condition outside its range (subclasses)."""

    def target(self, c: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The answer of trials with conditions ``c``: ``{"target": (n,)}`` (and more)."""
        raise NotImplementedError

    def conditions(self, u, fixed):
        n = len(u)
        if "trial_seed" in fixed:
            seeds = fixed["trial_seed"].astype(np.int64)
        elif self.pool is not None:
            seeds = np.minimum((u[:, 0] * self.pool).astype(np.int64), self.pool - 1)
        else:
            seeds = (u[:, 0] * 2**31).astype(np.int64) + 2**31  # disjoint from any pool
        for name, values in fixed.items():
            for v in np.unique(values):
                self.check_condition(name, v.item())
        rows = []
        for i in range(n):
            row = self.draw(self._rng(seeds[i], 0))
            row.update({k: v[i].item() for k, v in fixed.items() if k != "trial_seed"})
            rows.append(row)
        c = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        c["trial_seed"] = seeds
        c.update(self.target(c))
        return c

    # -- images --------------------------------------------------------------------------

    def frames(self, c: Mapping[str, Any], steps: Mapping[str, int], rng) -> np.ndarray:
        """The images of one trial ``(time, C, H, W)``; ``c`` its conditions (scalars),
        ``steps`` the number of steps of each epoch, ``rng`` its stimulus generator."""
        raise NotImplementedError

    def _blank(self) -> np.ndarray:
        return np.zeros(self.input_shape, dtype=np.float32)

    def _epochs(self, steps: Mapping[str, int], images: Mapping[str, np.ndarray]) -> np.ndarray:
        """Hold ``images[epoch]`` (or a blank screen) for each epoch's steps."""
        return np.concatenate(
            [
                np.broadcast_to(images.get(p, self._blank()), (steps[p], *self.input_shape))
                for p in self.periods
            ]
        )

    def render_inputs(
        self, c: Mapping[str, np.ndarray], info: Mapping[str, np.ndarray], n_time: int
    ) -> np.ndarray:
        """Inputs of a batch ``(n, n_time, C, H, W)`` float32 (zero past each trial's end);
        called by :func:`~cordsneuro.tasks.make_batch`."""
        n = len(c["trial_seed"])
        out = np.zeros((n, n_time, *self.input_shape), dtype=np.float32)
        for i in range(n):
            row = {k: v[i].item() for k, v in c.items()}
            steps = {p: int(info[f"{p}_end"][i] - info[f"{p}_start"][i]) for p in self.periods}
            images = self.frames(row, steps, self._rng(row["trial_seed"], 1))
            out[i, : len(images)] = images
        return out

    def declare(self, c):
        return [], self.answer_of(c)

    def answer_of(self, c) -> Answer:
        return Answer(c["target"], self.scored_periods)

    def _new_trial(self, **kwargs: Any) -> dict[str, Any]:
        conditions, durations, _ = self.sample(1, **kwargs)
        self.add_period(
            list(self.periods), duration=[float(durations[p][0]) * self.dt for p in self.periods]
        )
        info = {}
        start = 0
        for p in self.periods:
            info[f"{p}_start"] = np.array([start])
            start += int(durations[p][0])
            info[f"{p}_end"] = np.array([start])
        self.ob = self.render_inputs(conditions, info, start)[0]
        answer = self.answer_of(conditions)
        self.set_groundtruth(answer.value[0], period=list(answer.periods))
        trial = {k: v[0].item() for k, v in conditions.items()}
        trial["durations"] = {p: float(durations[p][0]) * self.dt for p in self.periods}
        return trial


# ----------------------------------------------------------------------------- the tasks


class Numerosity(VisualTask):
    """Delayed match-to-numerosity (Nieder, Freedman & Miller 2002; Fig. 5A).

    A sample display of 1–5 dots, a delay on a black screen, then a test display; the network
    answers match (class 1) when the test shows the same number of dots, non-match (class 0)
    otherwise. Sample and test are drawn independently (positions, sizes and control set), so
    only number identifies a match; half the trials match, non-match tests show any other
    number. The control sets (``controls``) are those of the study (see
    :func:`~cordsneuro.tasks.stimuli.numerosity`). The test display stays on through the
    decision epoch (the second half of the study's 1200 ms test period), where the answer is
    scored.
    """

    name = "Numerosity"
    periods = ("fixation", "sample", "delay", "test", "decision")
    default_timing = {"fixation": 500, "sample": 800, "delay": 1000, "test": 600, "decision": 600}
    output_names = ("non_match", "match")
    trial_conditions = ("sample", "test", "sample_control", "test_control")
    condition_key = "sample"
    criterion = {"accuracy": 0.8}

    def __init__(self, dt=20.0, timing=None, seed=None, *, controls=S.CONTROL_SETS, **kwargs):
        controls = tuple(controls)
        bad = [c for c in controls if c not in S.CONTROL_SETS]
        if not controls or bad:
            raise ValueError(f"controls must be a non-empty subset of {S.CONTROL_SETS} (got {bad})")
        self.controls = controls
        super().__init__(dt=dt, timing=timing, seed=seed, **kwargs)

    @property
    def config(self):
        return {**super().config, "controls": list(self.controls)}

    def check_condition(self, name, value):
        if name in ("sample", "test"):
            S._check_n(value)
        if name.endswith("_control") and value not in S.CONTROL_SETS:
            raise ValueError(f"condition {name!r} must be one of {S.CONTROL_SETS} (got {value!r})")

    def draw(self, rng):
        sample = int(rng.integers(1, 6))
        match = rng.random() < 0.5
        others = [k for k in S.NUMEROSITIES if k != sample]
        test = sample if match else int(rng.choice(others))
        return {
            "sample": sample,
            "test": test,
            "sample_control": str(rng.choice(self.controls)),
            "test_control": str(rng.choice(self.controls)),
        }

    def target(self, c):
        return {"target": (c["sample"] == c["test"]).astype(np.int64)}

    def frames(self, c, steps, rng):
        kw = {"image_size": self.image_size, "channels": self.channels, "seed": rng}
        sample = S.numerosity(c["sample"], c["sample_control"], **kw).image
        test = S.numerosity(c["test"], c["test_control"], **kw).image
        return self._epochs(steps, {"sample": sample, "test": test, "decision": test})


class Category(VisualTask):
    """Cat / dog categorisation of morphs (Freedman, Riesenhuber, Poggio & Miller 2001;
    Fig. 5B).

    A sample image — a morph between one of ``n_prototypes`` cats and one of as many dogs at a
    level of :data:`~cordsneuro.tasks.stimuli.MORPH_LEVELS` (0–100 % dog, boundary 50 %) — a
    delay, then the network reports the sample's category (cat: class 0, dog: class 1) in the
    decision epoch. The study's monkeys reported it by a delayed match-to-category against a
    test image; here the category is reported directly, which keeps the categorical curve
    (fraction "dog" against morph level, ``Evaluation.by_condition``) directly readable.
    ``prototypes=(cats, dogs)`` replaces the built-in drawings by user images ``(k, H, W)`` or
    ``(k, C, H, W)`` in [0, 1] (morphed by cross-dissolve).
    """

    name = "Category"
    periods = ("fixation", "sample", "delay", "decision")
    default_timing = {"fixation": 500, "sample": 600, "delay": 1000, "decision": 500}
    output_names = ("cat", "dog")
    trial_conditions = ("level", "cat", "dog")
    condition_key = "level"
    criterion = {"accuracy": 0.85}

    def __init__(
        self,
        dt=20.0,
        timing=None,
        seed=None,
        *,
        levels: Sequence[float] = S.MORPH_LEVELS,
        n_prototypes: int = 3,
        prototypes: tuple[np.ndarray, np.ndarray] | None = None,
        **kwargs,
    ):
        self.levels = tuple(S._check_level(v) for v in levels)
        if not self.levels or 50.0 in self.levels:
            raise ValueError(
                "levels must be non-empty and exclude the 50 % boundary (its category is undefined)"
            )
        if prototypes is None:
            self.cats, self.dogs = S.prototypes(n_prototypes)
            self.user_prototypes = False
        else:
            cats, dogs = (np.asarray(p, dtype=np.float32) for p in prototypes)
            if cats.ndim == 3:
                cats, dogs = cats[:, None], dogs[:, None]
            if cats.ndim != 4 or cats.shape[1:] != dogs.shape[1:] or not len(cats) or not len(dogs):
                raise ValueError(
                    "prototypes must be (cats, dogs), each (k, H, W) or (k, C, H, W) images"
                )
            self.cats, self.dogs = cats, dogs
            self.user_prototypes = True
        super().__init__(dt=dt, timing=timing, seed=seed, **kwargs)
        if self.user_prototypes and self.cats.shape[1:] != (
            self.cats.shape[1],
            self.image_size,
            self.image_size,
        ):
            raise ValueError(
                f"prototype images are {self.cats.shape[2:]}, the task's image_size is "
                f"{self.image_size}"
            )

    @property
    def config(self):
        return {**super().config, "levels": list(self.levels), "n_prototypes": len(self.cats)}

    def check_condition(self, name, value):
        if name == "level":
            S._check_level(value)
        if name in ("cat", "dog") and not 0 <= value < len(self.cats):
            raise ValueError(f"condition {name!r} must be in 0…{len(self.cats) - 1} (got {value})")

    def draw(self, rng):
        return {
            "level": float(rng.choice(self.levels)),
            "cat": int(rng.integers(len(self.cats))),
            "dog": int(rng.integers(len(self.dogs))),
        }

    def target(self, c):
        return {"target": (c["level"] > 50).astype(np.int64)}

    def frames(self, c, steps, rng):
        cat, dog = self.cats[c["cat"]], self.dogs[c["dog"]]
        image = S.category_morph(
            c["level"], cat=cat, dog=dog, image_size=self.image_size, channels=self.channels
        )
        if image.shape[0] != self.channels:
            image = np.repeat(image[:1], self.channels, axis=0)
        return self._epochs(steps, {"sample": image})


class DelayedResponse(VisualTask):
    """Oculomotor delayed response (Funahashi, Bruce & Goldman-Rakic 1989; Fig. 5C).

    A central fixation point, a cue at one of 8 positions (every 45°) for 500 ms, a 3 s delay
    with only the fixation point, then the fixation point goes off (the go signal) and the
    network reports where the cue was: one of 8 classes (``response="choice"``) or the 2-D
    direction ``(cos θ, sin θ)`` (``response="position"``, scored by the angular error;
    ``correct`` within ``tolerance_deg`` = 22.5°, i.e. nearer the right position than any
    other).
    """

    name = "DelayedResponse"
    periods = ("fixation", "cue", "delay", "response")
    default_timing = {"fixation": 1000, "cue": 500, "delay": 3000, "response": 500}
    scored_periods = ("response",)
    trial_conditions = ("position",)
    condition_key = "position"
    criterion = {"accuracy": 0.9}

    def __init__(self, dt=20.0, timing=None, seed=None, *, response: str = "choice", **kwargs):
        if response not in ("choice", "position"):
            raise ValueError(f"response must be 'choice' or 'position' (got {response!r})")
        self.response = response
        if response == "choice":
            self.output_names = tuple(f"position_{k}" for k in range(S.N_POSITIONS))
            self.answer = "categorical"
        else:
            self.output_names = ("cos", "sin")
            self.answer = "continuous"
        self.tolerance_deg = 180.0 / S.N_POSITIONS
        super().__init__(dt=dt, timing=timing, seed=seed, **kwargs)

    @property
    def config(self):
        return {**super().config, "response": self.response}

    def check_condition(self, name, value):
        if name == "position" and not (
            isinstance(value, (int, np.integer)) and 0 <= value < S.N_POSITIONS
        ):
            raise ValueError(f"condition 'position' must be an int in 0…7 (got {value!r})")

    def draw(self, rng):
        return {"position": int(rng.integers(S.N_POSITIONS))}

    def target(self, c):
        theta = 2 * np.pi * c["position"] / S.N_POSITIONS
        return {"target": c["position"].astype(np.int64), "theta": theta}

    def answer_of(self, c):
        if self.response == "choice":
            return Answer(c["target"], self.scored_periods)
        return Answer(np.stack([np.cos(c["theta"]), np.sin(c["theta"])], 1), self.scored_periods)

    def frames(self, c, steps, rng):
        kw = {"image_size": self.image_size, "channels": self.channels}
        fixation = S.odr_frame(True, **kw)
        return self._epochs(
            steps,
            {
                "fixation": fixation,
                "cue": S.odr_frame(True, c["position"], **kw),
                "delay": fixation,
            },
        )

    def score(self, response, info):
        if self.response == "choice":
            return super().score(response, info)
        return angular_score(response, info["theta"], self.tolerance_deg)


class Motion(VisualTask):
    """Random-dot motion direction discrimination (Roitman & Shadlen 2002; Fig. 5D).

    A fixation point, then a random-dot kinematogram (a new frame every step) whose dots move
    left or right at a coherence of :data:`~cordsneuro.tasks.stimuli.COHERENCES_MOTION`
    (0–51.2 %); the network reports the direction (left: class 0, right: class 1).

    * ``variant="fixed"``: fixation 500 ms, motion 1000 ms, then the dots and the fixation
      point go off and the answer is scored in a 300 ms decision epoch.
    * ``variant="reaction_time"``: fixation 500 ms, then the dots stay on to the end of the
      trial (no fixation point: the monkey may answer at any time); the answer is scored in
      the last 400 ms, and :func:`reaction_times` reads when the outputs commit.

    At 0 % coherence the direction (and so the target) is drawn at random.
    """

    name = "Motion"
    periods = ("fixation", "motion", "decision")
    default_timing = {"fixation": 500, "motion": 1000, "decision": 300}
    output_names = ("left", "right")
    trial_conditions = ("coherence", "direction")
    condition_key = "signed_coherence"
    criterion = {"accuracy": 0.8}

    def __init__(
        self,
        dt=20.0,
        timing=None,
        seed=None,
        *,
        variant: str = "fixed",
        coherences: Sequence[float] = S.COHERENCES_MOTION,
        density: float = 0.02,
        **kwargs,
    ):
        if variant not in ("fixed", "reaction_time"):
            raise ValueError(f"variant must be 'fixed' or 'reaction_time' (got {variant!r})")
        self.variant = variant
        self.coherences = tuple(S._check_coherence(c) for c in coherences)
        if not self.coherences:
            raise ValueError("coherences must not be empty")
        self.density = float(density)
        if variant == "reaction_time":
            self.default_timing = {"fixation": 500, "motion": 800, "decision": 400}
        super().__init__(dt=dt, timing=timing, seed=seed, **kwargs)

    @property
    def config(self):
        return {
            **super().config,
            "variant": self.variant,
            "coherences": list(self.coherences),
            "density": self.density,
        }

    def check_condition(self, name, value):
        if name == "coherence":
            S._check_coherence(value)
        if name == "direction" and value not in (-1, 1):
            raise ValueError(f"condition 'direction' must be -1 (left) or +1 (right) (got {value})")

    def draw(self, rng):
        return {
            "coherence": float(rng.choice(self.coherences)),
            "direction": int(rng.choice([-1, 1])),
        }

    def target(self, c):
        return {
            "target": (c["direction"] > 0).astype(np.int64),
            "signed_coherence": c["coherence"] * c["direction"],
        }

    def frames(self, c, steps, rng):
        kw = {"image_size": self.image_size, "channels": self.channels}
        fixation = S.odr_frame(True, **kw)
        moving = steps["motion"] + (steps["decision"] if self.variant == "reaction_time" else 0)
        dots = S.random_dots(
            c["coherence"], int(c["direction"]), max(moving, 1),
            density=self.density, seed=rng, **kw,
        ).frames  # fmt: skip
        if self.variant == "fixed":
            dots = np.maximum(dots, fixation)  # the fixation point stays on with the dots
            decision = np.zeros((steps["decision"], *self.input_shape), dtype=np.float32)
        else:
            decision = dots[steps["motion"] :]
        first = np.broadcast_to(fixation, (steps["fixation"], *self.input_shape))
        return np.concatenate([first, dots[: steps["motion"]], decision])


# ----------------------------------------------------------------------------- helpers


def reaction_times(
    outputs: np.ndarray, onset: np.ndarray, threshold: float = 1.0, dt: float = 20.0
) -> np.ndarray:
    """Reaction times (ms) of a two-choice task: the first step after ``onset`` (steps,
    per trial) at which ``|output_1 − output_0|`` exceeds ``threshold``; NaN if never.

    ``outputs (n, time, 2)``, ``onset (n,)`` → ``(n,)``."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 3 or outputs.shape[2] != 2:
        raise ValueError(f"outputs must be (trials, time, 2), got {outputs.shape}")
    diff = np.abs(outputs[..., 1] - outputs[..., 0])
    t = np.arange(outputs.shape[1])[None]
    crossed = (diff > threshold) & (t >= np.asarray(onset)[:, None])
    first = np.where(crossed.any(1), crossed.argmax(1), -1)
    rt = (first - np.asarray(onset) + 1) * dt
    return np.where(first >= 0, rt, np.nan).astype(np.float64)


#: Task name → class (and keyword arguments): the ids ``cordsneuro/<name>-v0``.
VISUAL_TASKS: dict[str, tuple[type[VisualTask], dict[str, Any]]] = {
    "Numerosity": (Numerosity, {}),
    "Category": (Category, {}),
    "DelayedResponse": (DelayedResponse, {}),
    "DelayedResponsePosition": (DelayedResponse, {"response": "position"}),
    "Motion": (Motion, {}),
    "MotionRT": (Motion, {"variant": "reaction_time"}),
}


def make_visual(name: str, **kwargs: Any) -> VisualTask:
    """Build an image task by name (``"Numerosity"``, ``"cordsneuro/Motion-v0"``...)."""
    return build_from(VISUAL_TASKS, name, "the image tasks", **kwargs)


def register_visual_environments() -> None:
    """Register every image task with gymnasium as ``cordsneuro/<name>-v0`` (idempotent)."""
    register_environments(VISUAL_TASKS)
