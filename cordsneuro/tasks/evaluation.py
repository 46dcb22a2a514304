"""Evaluate a model on a task: accuracy overall and by condition, and the data of the
psychometric curves of Fig. S2A (:func:`cordsneuro.plotting.psychometric` draws them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cordsneuro._util import make_generator
from cordsneuro.tasks.base import LOWER_IS_BETTER
from cordsneuro.tasks.batching import Batch
from cordsneuro.tasks.task import resolve

__all__ = ["Evaluation", "evaluate", "criterion_met", "run_model"]

#: Held-out trials are drawn with this seed unless told otherwise (far from training seeds).
EVAL_SEED = 2_024_1210


@dataclass
class Evaluation:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    task : str
        Task name.
    answer : str
        ``"categorical"`` or ``"continuous"``.
    metrics : dict of str → float
        ``accuracy`` (fraction of correct trials) and the task's own metrics (``r2``,
        ``sign_accuracy``, ``mae_deg``...).
    by_condition : dict
        For each value of the task's condition (PDM: coherence, PWM: f1 − f2, DMS: delay,
        MemoryPro points: the state) the number of trials, their accuracy and, for two-choice
        tasks, the fraction of "positive" choices (class 1). Tasks with a ``context`` (CDM,
        MDM) add ``by_context``: the same table for each context.
    trial_info : dict of str → ndarray
        The trials' conditions ``(n,)``.
    response : ndarray
        ``(n, n_outputs)``: the outputs averaged over each trial's scored steps.
    per_trial : dict of str → ndarray
        ``correct (n,)`` and ``choice`` (categorical) or ``estimate`` (continuous) per trial.
    criterion : dict of str → float
        The task's criterion (metric → threshold).
    no_accuracy : str or None
        Why the task reports no per-trial accuracy (None when it does).
    """

    task: str
    answer: str
    metrics: dict[str, float]
    by_condition: dict[str, Any]
    trial_info: dict[str, np.ndarray]
    response: np.ndarray
    per_trial: dict[str, np.ndarray] = field(default_factory=dict)
    criterion: dict[str, float] = field(default_factory=dict)
    no_accuracy: str | None = None

    @property
    def accuracy(self) -> float:
        """Fraction of correct trials; ``ValueError`` for a task where it means nothing."""
        if self.no_accuracy is not None:
            raise ValueError(self.no_accuracy)
        return self.metrics.get("accuracy", float("nan"))

    def passed(self, criterion: Mapping[str, float] | None = None) -> bool:
        """Whether the metrics meet ``criterion`` (default: the task's)."""
        return criterion_met(self.metrics, self.criterion if criterion is None else criterion)

    def summary(self) -> str:
        parts = [f"{k} = {v:.4g}" for k, v in self.metrics.items()]
        return f"{self.task}: " + ", ".join(parts)


def criterion_met(metrics: Mapping[str, float], criterion: Mapping[str, float]) -> bool:
    """True when every metric of ``criterion`` reaches its threshold (``>=``, or ``<=`` for
    error metrics such as ``mae_deg``)."""
    if not criterion:
        return False
    for name, threshold in criterion.items():
        if name not in metrics:
            raise ValueError(
                f"criterion names metric {name!r}, but the evaluation has {sorted(metrics)}"
            )
        value = metrics[name]
        if not np.isfinite(value):
            return False
        if (value > threshold) if name in LOWER_IS_BETTER else (value < threshold):
            return False
    return True


@torch.no_grad()
def run_model(
    model: Any, batch: Batch, *, chunk: int = 512, generator_seed: int | None = None
) -> np.ndarray:
    """The model's outputs ``(n, time, n_outputs)`` on a batch, without gradient (in chunks of
    ``chunk`` trials, private noise from ``generator_seed``)."""
    device = next(model.parameters()).device
    generator = None
    if getattr(model, "noise_std", 0) > 0:
        generator = make_generator(EVAL_SEED if generator_seed is None else generator_seed, device)
    outs = []
    for start in range(0, len(batch), chunk):
        inputs = batch.inputs[start : start + chunk].to(device)
        outs.append(model(inputs, generator=generator).outputs.float().cpu())
    return torch.cat(outs).numpy()


def evaluate(
    model: Any,
    task: Any,
    *,
    n_trials: int = 1000,
    seed: int = EVAL_SEED,
    batch: Batch | None = None,
    chunk: int = 512,
    task_kwargs: Mapping[str, Any] | None = None,
    **conditions: Any,
) -> Evaluation:
    """Score a model on held-out trials (without gradient).

    Parameters
    ----------
    model : DynamicalRNN
        A model whose input / output widths and dt fit the task.
    task : str, TrialEnv or Task
        See :func:`cordsneuro.tasks.resolve`.
    n_trials : int
        Trials to draw (ignored when ``batch`` is given).
    seed : int
        Seed of the trials (and of the model's private noise, if it has any).
    batch : Batch, optional
        Score these trials instead of drawing new ones.
    task_kwargs : dict, optional
        Settings of a task given by name (``{"dt": 20}``), as in :func:`cordsneuro.train`.
    **conditions
        Fixed trial conditions for every trial or one value per trial (e.g. a finer grid of
        ``coherence`` values for a psychometric curve).
    """
    task = resolve(task, task_kwargs)
    task.check_model(model)
    if batch is None:
        batch = task.copy().batch(n_trials, seed=seed, **conditions)
    outputs = run_model(model, batch, chunk=chunk, generator_seed=seed)
    response, scores = task.score(outputs, batch)
    metrics = {k: v for k, v in scores.items() if np.ndim(v) == 0}
    per_trial = {k: v for k, v in scores.items() if np.ndim(v) > 0}
    key = task.condition_key if task.condition_key in batch.trial_info else ""
    by_condition = _by_condition(batch.trial_info, per_trial, key, task.n_outputs) if key else {}
    if key and "context" in batch.trial_info and "p_positive" in by_condition:
        by_condition["by_context"] = {
            int(c): _by_condition(
                {key: batch.trial_info[key][sel]},
                {k: v[sel] for k, v in per_trial.items()},
                key,
                task.n_outputs,
            )
            for c in np.unique(batch.trial_info["context"])
            for sel in [batch.trial_info["context"] == c]
        }
    return Evaluation(
        task=task.name,
        answer=task.answer,
        metrics=metrics,
        by_condition=by_condition,
        trial_info=batch.trial_info,
        response=response,
        per_trial=per_trial,
        criterion=dict(task.criterion),
        no_accuracy=task.no_accuracy,
    )


def _by_condition(
    info: Mapping[str, np.ndarray], per_trial: Mapping[str, np.ndarray], key: str, n_out: int
):
    values = np.asarray(info[key])
    if values.dtype.kind == "f" and len(np.unique(values)) > 25:
        edges = np.quantile(values, np.linspace(0, 1, 9))
        centres = (edges[:-1] + edges[1:]) / 2
        groups = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(centres) - 1)
        levels = [(float(c), groups == i) for i, c in enumerate(centres)]
    else:
        levels = [(v.item(), values == v) for v in np.unique(values)]
    table: dict[str, Any] = {"key": key, "value": [], "n": [], "accuracy": []}
    if "choice" in per_trial and n_out == 2:
        table["p_positive"] = []
    for value, sel in levels:
        if not sel.any():
            continue
        table["value"].append(value)
        table["n"].append(int(sel.sum()))
        table["accuracy"].append(float(per_trial["correct"][sel].mean()))
        if "p_positive" in table:
            table["p_positive"].append(float((per_trial["choice"][sel] == 1).mean()))
    return table
