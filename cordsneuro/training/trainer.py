"""``cordsneuro.train``: supervised training of any dynamical RNN on any trial-based task.

Per-step weighted loss (cross-entropy for categorical answers, squared error for continuous
ones; the task's :meth:`~cordsneuro.tasks.Task.loss_weights`), optional regularisers (L1 / L2
on weights, L2 on rates) or a loss of your own, AdamW, gradient clipping, a fixed held-out
evaluation set, a stopping criterion, a learning curve, tqdm progress and resumable checkpoints
(:mod:`cordsneuro.training.checkpoint`).

``resume=True`` restores everything, so a run killed at any point and resumed gives the same
final weights as an uninterrupted run with the same seed (same machine, same threads).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cordsneuro._util import make_generator
from cordsneuro.dynamics import DynamicalRNN
from cordsneuro.training.checkpoint import Progress, load_checkpoint, save_checkpoint
from cordsneuro.training.loss import rate_penalty, weight_penalty, weighted_loss

__all__ = ["train", "TrainResult", "DEFAULT_MAX_STEPS"]

#: Step budget when only ``until`` is given.
DEFAULT_MAX_STEPS = 10_000

#: A loss of your own: ``loss(outputs, targets, weights) -> scalar Tensor`` with outputs
#: ``(batch, time, n_out)``, the batch's targets and the per-step weights ``(batch, time)``.
LossFunction = Callable[[Tensor, Tensor, Tensor], Tensor]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : DynamicalRNN
        The trained model (the same object that was passed in, trained in place).
    task : str
        Task name.
    steps : int
        Optimisation steps done (over all resumed sessions).
    seconds : float
        Wall-clock training time (over all resumed sessions), evaluations included.
    reached : bool
        Whether the stopping criterion was met.
    stopped : str
        ``"criterion"`` or ``"steps"``.
    metrics : dict
        Metrics of the last evaluation on the held-out set (``accuracy``,
        ``response_accuracy``...).
    history : dict
        The learning curve: ``step`` and ``loss`` of every step, and ``evaluations``, a list of
        ``{"step": ..., **metrics}``.
    checkpoint : Path or None
        The checkpoint directory, if checkpoints were written.
    """

    model: DynamicalRNN
    task: str
    steps: int
    seconds: float
    reached: bool
    stopped: str
    metrics: dict[str, float]
    history: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None


def train(
    model: DynamicalRNN,
    task: Any,
    *,
    steps: int | None = None,
    until: str | float | Mapping[str, float] | None = None,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    weight_decay: float = 0.0,
    grad_clip: float | None = 1.0,
    loss_weights: Any = None,
    loss: LossFunction | None = None,
    l1_weights: float = 0.0,
    l2_weights: float = 0.0,
    l2_rates: float = 0.0,
    eval_every: int = 50,
    eval_trials: int = 512,
    eval_seed: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` on ``task``.

    Parameters
    ----------
    model : DynamicalRNN
        Any model of the library (FullRNN, LowRankRNN, SparseRNN, ConvRNN...), on any device;
        its ``input_size`` / ``output_size`` and ``dt`` must fit the task. Trained in place.
    task : str, TrialEnv, trial_task or Task
        One of the paper's tasks (``"PDM"``, ``"cordsneuro/DMS-v0"``, ``"MemoryProRing"``), any
        neurogym env or id (``"GoNogo-v0"``, ``"yang19.go-v0"``), a
        :func:`~cordsneuro.tasks.trial_task` or a :class:`~cordsneuro.tasks.Task`; resolved once
        (:func:`cordsneuro.tasks.resolve`) and copied, never modified.
    steps : int, optional
        Number of optimisation steps (the maximum when ``until`` is given; default
        :data:`DEFAULT_MAX_STEPS` then).
    until : "criterion", float or dict, optional
        Stop when the held-out evaluation meets a criterion: ``"criterion"`` (the task's own,
        e.g. accuracy ≥ 0.9 for PDM), a float (accuracy ≥ it) or ``{metric: threshold}``
        (``<=`` for error metrics such as ``mae_deg``).
    lr, weight_decay : float
        AdamW learning rate and decoupled weight decay.
    batch_size : int
        Trials per step (>= 1).
    seed : int
        Seeds the training trials and the model's private noise.
    grad_clip : float or None
        Clip the global gradient norm to this value (None: no clipping).
    loss_weights : LossWeights, "yang2019" or dict, optional
        Weight of each step in the loss (:class:`~cordsneuro.tasks.LossWeights`; a dict names
        epochs). Default: the task's — the scored epoch only for the paper's tasks (their loss),
        Yang et al. (2019)'s weights for neurogym envs (response ×5 after 100 ms of grace,
        other steps ×1), the mask for a trial function.
    loss : callable, optional
        ``loss(outputs, targets, weights) -> Tensor`` replacing the weighted
        cross-entropy / squared error (:func:`~cordsneuro.training.loss.weighted_loss`).
    l1_weights, l2_weights : float
        Coefficients of the mean |W| and mean W² of every weight matrix / kernel, added to
        the loss (:func:`~cordsneuro.training.loss.weight_penalty`).
    l2_rates : float
        Coefficient of the mean squared rate (:func:`~cordsneuro.training.loss.rate_penalty`).
    eval_every, eval_trials, eval_seed :
        Evaluate every ``eval_every`` steps on a fixed held-out set of ``eval_trials`` trials
        drawn once with ``eval_seed`` (default: derived from ``seed``).
    checkpoint_dir : path, optional
        Where checkpoints go; written every ``checkpoint_every`` steps (default: at each
        evaluation) and at the end.
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` if there is one (exactly where it
        stopped). The checkpoint must come from the same kind of model, task and settings.
    progress : bool
        Show a tqdm progress bar (loss, accuracy and response-step accuracy).
    callback : callable, optional
        Called as ``callback(step, loss)`` after every step (step counts from 1).
    task_kwargs : dict, optional
        Settings of a task given by name (``{"dt": 20, "timing": {...}}``), as in
        :func:`cordsneuro.tasks.evaluate`.

    Raises
    ------
    FloatingPointError
        When the loss or the gradient becomes NaN/Inf; the model keeps its last good weights
        and the last good checkpoint stays on disk.
    """
    run, steps, checkpoint_every, directory = _prepare(**locals())
    return run.loop(steps, checkpoint_every, directory)


def _prepare(
    model, task, *, steps, until, lr, batch_size, seed, weight_decay, grad_clip, loss_weights,
    loss, l1_weights, l2_weights, l2_rates, eval_every, eval_trials, eval_seed, checkpoint_dir,
    checkpoint_every, resume, progress, callback, task_kwargs,
) -> tuple[_Run, int, int, Path | None]:  # fmt: skip
    """Check :func:`train`'s arguments and set up its run (restored when resuming): the run,
    the step budget, the checkpoint cadence and the checkpoint directory."""
    from cordsneuro.tasks.task import LossWeights, resolve

    if not isinstance(model, DynamicalRNN):
        raise TypeError(f"model must be a cordsneuro DynamicalRNN, got {type(model).__name__}")
    task = resolve(task, task_kwargs).copy()
    task.check_model(model)
    weights = task.default_loss_weights if loss_weights is None else LossWeights.of(loss_weights)
    if loss is not None and not callable(loss):
        raise TypeError("loss must be a function (outputs, targets, weights) -> Tensor")
    for name, value in (
        ("lr", lr), ("weight_decay", weight_decay), ("l1_weights", l1_weights),
        ("l2_weights", l2_weights), ("l2_rates", l2_rates),
    ):  # fmt: skip
        _check_number(name, value, positive=name == "lr")
    if grad_clip is not None:
        _check_number("grad_clip", grad_clip, positive=True)
    for name, value in (
        ("batch_size", batch_size), ("eval_every", eval_every), ("eval_trials", eval_trials),
    ):  # fmt: skip
        _check_int(name, value, 1)
    criterion = _criterion(until, task)
    if steps is None and criterion is None:
        raise ValueError(
            "give steps (a number of optimisation steps) or until (a stopping criterion)"
        )
    steps = DEFAULT_MAX_STEPS if steps is None else steps
    _check_int("steps", steps, 1)
    if checkpoint_every is not None:
        _check_int("checkpoint_every", checkpoint_every, 1)
        if checkpoint_dir is None:
            raise ValueError("checkpoint_every needs a checkpoint_dir")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir")
    settings = {
        "task": task.config,
        "batch_size": int(batch_size),
        "lr": float(lr),
        "weight_decay": float(weight_decay),
        "grad_clip": grad_clip,
        "seed": int(seed),
        "eval_trials": int(eval_trials),
        "eval_seed": int(seed) + 1_000_003 if eval_seed is None else int(eval_seed),
        "eval_every": int(eval_every),
        "loss_weights": weights.as_dict(),
        "regularisers": {"l1_weights": l1_weights, "l2_weights": l2_weights, "l2_rates": l2_rates},
        "custom_loss": getattr(loss, "__qualname__", None) if loss is not None else None,
    }
    run = _Run(model, task, settings, weights, loss, criterion, progress, callback)
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and (directory / "checkpoint").is_dir():
        run.restore(directory / "checkpoint")
    return run, steps, checkpoint_every or eval_every, directory


class _Run:
    """The state of one training run and its loop."""

    def __init__(self, model, task, settings, weights, loss, criterion, progress, callback):
        self.model, self.task, self.settings = model, task, settings
        self.weights, self.custom_loss, self.criterion = weights, loss, criterion
        self.show, self.callback = progress, callback
        self.device = next(model.parameters()).device
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"]
        )
        self.noise = make_generator(settings["seed"], self.device)
        task.seed(settings["seed"])
        self.eval_batch = task.copy().batch(settings["eval_trials"], seed=settings["eval_seed"])
        self.state = Progress(0, 0.0, {"step": [], "loss": [], "evaluations": []}, False)
        self.metrics: dict[str, float] = {}
        self.params = [p for p in model.parameters() if p.requires_grad]

    def restore(self, path: Path) -> None:
        self.state, task_rng = load_checkpoint(
            path, self.model, self.optimizer, self.noise, self.settings
        )
        self.task.set_rng_state(task_rng)
        last = (self.state.history["evaluations"] or [{}])[-1]
        self.metrics = {k: v for k, v in last.items() if k != "step"}

    def loss(self, batch) -> Tensor:
        trajectory = self.model(batch.inputs, generator=self.noise)
        weights = self.task.loss_weights(batch, self.weights)
        if self.custom_loss is not None:
            value = self.custom_loss(trajectory.outputs, batch.targets, weights)
        else:
            value = weighted_loss(trajectory.outputs, batch.targets, weights, self.task.answer)
        reg = self.settings["regularisers"]
        if reg["l1_weights"] or reg["l2_weights"]:
            named = self.model.named_parameters()
            value = value + weight_penalty(named, reg["l1_weights"], reg["l2_weights"])
        if reg["l2_rates"]:
            value = value + rate_penalty(trajectory.rates, reg["l2_rates"])
        return value

    def step(self, directory: Path | None) -> float:
        batch = self.task.batch(self.settings["batch_size"], device=self.device)
        loss = self.loss(batch)
        at = self.state.step + 1
        if not torch.isfinite(loss):
            raise FloatingPointError(_diverged("loss", loss.item(), at, directory))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.settings["grad_clip"]
        norm = torch.nn.utils.clip_grad_norm_(self.params, math.inf if clip is None else clip)
        if not torch.isfinite(norm):
            raise FloatingPointError(_diverged("gradient norm", norm.item(), at, directory))
        self.optimizer.step()
        return float(loss.detach())

    def evaluate(self) -> dict[str, float]:
        from cordsneuro.tasks.evaluation import evaluate

        was_training = self.model.training
        self.model.eval()
        result = evaluate(
            self.model, self.task, batch=self.eval_batch, seed=self.settings["eval_seed"]
        )
        self.model.train(was_training)
        return result.metrics

    def save(self, directory: Path | None) -> None:
        """Write the checkpoint into ``directory / "checkpoint"`` (nothing when None)."""
        if directory is not None:
            save_checkpoint(
                directory / "checkpoint", self.model, self.optimizer, self.noise,
                self.task.rng_state(), self.settings, self.state,
            )  # fmt: skip

    def result(self, directory: Path | None) -> TrainResult:
        """What the run has reached, as :func:`train` returns it."""
        return TrainResult(
            model=self.model,
            task=self.task.name,
            steps=self.state.step,
            seconds=self.state.seconds,
            reached=self.state.reached,
            stopped="criterion" if self.state.reached else "steps",
            metrics=self.metrics,
            history=self.state.history,
            checkpoint=directory / "checkpoint" if directory is not None else None,
        )

    def loop(self, steps: int, checkpoint_every: int, directory: Path | None) -> TrainResult:
        from tqdm.auto import tqdm

        from cordsneuro.tasks.evaluation import criterion_met

        state, history = self.state, self.state.history
        eval_every = self.settings["eval_every"]

        bar = tqdm(
            total=steps, initial=state.step, disable=not self.show,
            desc=f"train {self.task.name}", leave=False,
        )  # fmt: skip
        start = time.perf_counter()
        try:
            while not (state.reached or state.step >= steps):
                value = self.step(directory)
                state.step += 1
                history["step"].append(state.step)
                history["loss"].append(value)
                bar.update(1)
                if self.callback is not None:
                    self.callback(state.step, value)
                if state.step % eval_every == 0 or state.step >= steps:
                    self.metrics = self.evaluate()
                    history["evaluations"].append({"step": state.step, **self.metrics})
                    state.reached = self.criterion is not None and criterion_met(
                        self.metrics, self.criterion
                    )
                    bar.set_postfix(loss=f"{value:.3g}", **_shown(self.metrics))
                if state.step % checkpoint_every == 0 or state.reached or state.step >= steps:
                    now = time.perf_counter()
                    state.seconds += now - start
                    start = now
                    self.save(directory)
        finally:
            bar.close()
        state.seconds += time.perf_counter() - start
        return self.result(directory)


# ----------------------------------------------------------------------------- helpers


def _shown(metrics: Mapping[str, float]) -> dict[str, str]:
    """The metrics in the progress bar (response_accuracy as ``resp_acc``)."""
    short = {"response_accuracy": "resp_acc", "fixation_accuracy": "fix_acc"}
    return {short.get(k, k): f"{v:.3g}" for k, v in metrics.items()}


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} (got {value!r})")


def _check_number(name: str, value: Any, *, positive: bool) -> None:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise ValueError(
            f"{name} must be a finite number {'>' if positive else '>='} 0 (got {value!r})"
        )


def _criterion(until: Any, task: Any) -> dict[str, float] | None:
    if until is None:
        return None
    if isinstance(until, str):
        if until != "criterion":
            raise ValueError(
                f"until must be 'criterion', a float accuracy or a dict (got {until!r})"
            )
        if not task.criterion:
            raise ValueError(
                f"task {task.name} has no criterion of its own; give until={{metric: threshold}}"
            )
        return dict(task.criterion)
    if isinstance(until, (int, float)) and not isinstance(until, bool):
        if not 0 < until <= 1:
            raise ValueError(f"until as a float is an accuracy in (0, 1] (got {until!r})")
        if task.no_accuracy is not None:
            raise ValueError(task.no_accuracy)
        return {"accuracy": float(until)}
    if isinstance(until, Mapping) and until:
        return {str(k): float(v) for k, v in until.items()}
    raise ValueError(
        f"until must be 'criterion', a float accuracy or a non-empty dict (got {until!r})"
    )


def _diverged(what: str, value: float, step: int, directory: Path | None) -> str:
    kept = (
        f"the last good checkpoint is kept in {directory / 'checkpoint'}"
        if directory is not None and (directory / "checkpoint").is_dir()
        else "no checkpoint was written"
    )
    return (
        f"training stopped: the {what} became {value} at step {step} (try a smaller lr, "
        f"gradient clipping or a smaller gain); the model keeps the weights of step {step - 1}; {kept}"
    )
