"""Evaluate a model on a task: accuracy overall and by condition, and the data of the
psychometric curves of Fig. S2A (:func:`cordsneuro.plotting.psychometric` draws them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cordsneuro.tasks.batching import Batch, describe, get_task, make_batch
from cordsneuro.tasks.cognitive import LOWER_IS_BETTER, CognitiveTask

__all__ = ["Evaluation", "evaluate", "criterion_met", "check_model_fits"]

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
        tasks, the fraction of "positive" choices (class 1).
    trial_info : dict of str → ndarray
        The trials' conditions ``(n,)``.
    response : ndarray
        ``(n, n_outputs)``: the outputs averaged over each trial's scored steps.
    per_trial : dict of str → ndarray
        ``correct (n,)`` and ``choice`` (categorical) or ``estimate`` (continuous) per trial.
    criterion : dict of str → float
        The task's criterion (metric → threshold).
    """

    task: str
    answer: str
    metrics: dict[str, float]
    by_condition: dict[str, Any]
    trial_info: dict[str, np.ndarray]
    response: np.ndarray
    per_trial: dict[str, np.ndarray] = field(default_factory=dict)
    criterion: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
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


def check_model_fits(model: Any, task: Any) -> None:
    """Raise ``ValueError`` if the model's input / output widths do not fit the task."""
    info = describe(task)
    n_in = getattr(model, "input_size", None)
    n_out = getattr(model, "output_size", None)
    if n_in is not None and n_in != info.n_inputs:
        raise ValueError(
            f"model has input_size {n_in}, but task {info.name} has {info.n_inputs} input(s): "
            f"build the model with input_size={info.n_inputs}"
        )
    model_dt, task_dt = getattr(model, "dt", None), info.config.get("dt")
    if model_dt is not None and task_dt is not None and abs(model_dt - task_dt) > 1e-9 * task_dt:
        raise ValueError(
            f"model dt ({model_dt} ms) differs from task {info.name}'s dt ({task_dt} ms): one "
            "model step must be one task step; build the task or the model with the same dt"
        )
    if n_out is not None and n_out != info.n_outputs:
        kind = "classes" if info.answer == "categorical" else "output dimensions"
        raise ValueError(
            f"model has output_size {n_out}, but task {info.name} has {info.n_outputs} {kind}: "
            f"build the model with output_size={info.n_outputs}"
        )


@torch.no_grad()
def run_model(
    model: Any, batch: Batch, *, chunk: int = 512, generator_seed: int | None = None
) -> np.ndarray:
    """The model's outputs ``(n, time, n_outputs)`` on a batch (in chunks of ``chunk`` trials,
    private noise from ``generator_seed``)."""
    device = next(model.parameters()).device
    generator = None
    if getattr(model, "noise_std", 0) > 0:
        generator = torch.Generator(device=device)
        generator.manual_seed(EVAL_SEED if generator_seed is None else int(generator_seed))
    outs = []
    for start in range(0, len(batch), chunk):
        inputs = batch.inputs[start : start + chunk].to(device)
        outs.append(model(inputs, generator=generator).outputs.float().cpu())
    return torch.cat(outs).numpy()


def score_outputs(
    task: Any, outputs: np.ndarray, batch: Batch
) -> tuple[np.ndarray, dict[str, Any]]:
    """Per-trial response and scores of outputs on a batch (any task)."""
    mask = batch.mask.cpu().numpy()
    info = batch.trial_info
    if isinstance(task, CognitiveTask):
        response = task.respond(outputs, mask)
        return response, task.score(response, info)
    spec = describe(task)
    if spec.answer == "categorical":
        # other envs: the answer is read in their decision period if they have one, else at the
        # last step of the trial
        n, n_time = mask.shape
        t = np.arange(n_time)[None, :]
        if "decision_start" in info:
            scored = (t >= info["decision_start"][:, None]) & (t < info["decision_end"][:, None])
        else:
            scored = t == (info["length"][:, None] - 1)
        weights = scored.astype(np.float64)
        response = np.einsum("nt,nto->no", weights, outputs) / np.maximum(
            weights.sum(1, keepdims=True), 1
        )
        choice = response.argmax(1)
        correct = choice == info["target"]
        return response, {"correct": correct, "choice": choice, "accuracy": float(correct.mean())}
    targets = batch.targets.cpu().numpy()
    err = ((outputs - targets) ** 2).sum(-1)
    weights = mask.astype(np.float64)
    mse = float((err * weights).sum() / max(weights.sum() * outputs.shape[-1], 1))
    response = np.einsum("nt,nto->no", weights, outputs) / np.maximum(
        weights.sum(1, keepdims=True), 1
    )
    return response, {
        "correct": np.zeros(len(mask), dtype=bool),
        "mse": mse,
        "accuracy": float("nan"),
    }


def evaluate(
    model: Any,
    task: Any,
    *,
    n_trials: int = 1000,
    seed: int = EVAL_SEED,
    batch: Batch | None = None,
    chunk: int = 512,
    **conditions: Any,
) -> Evaluation:
    """Score a model on held-out trials.

    Parameters
    ----------
    model : DynamicalRNN
        A model whose input / output widths fit the task.
    task : CognitiveTask, TrialEnv or str
        See :func:`cordsneuro.tasks.get_task`.
    n_trials : int
        Trials to draw (ignored when ``batch`` is given).
    seed : int
        Seed of the trials (and of the model's private noise, if it has any).
    batch : Batch, optional
        Score these trials instead of drawing new ones.
    **conditions
        Fixed conditions for every trial or one value per trial (e.g. a finer grid of
        ``coherence`` values for a psychometric curve).
    """
    task = get_task(task)
    check_model_fits(model, task)
    if batch is None:
        import copy

        batch = make_batch(copy.deepcopy(task), n_trials, seed=seed, **conditions)
    outputs = run_model(model, batch, chunk=chunk, generator_seed=seed)
    response, scores = score_outputs(task, outputs, batch)
    metrics = {k: v for k, v in scores.items() if np.ndim(v) == 0}
    per_trial = {k: v for k, v in scores.items() if np.ndim(v) > 0}
    spec = describe(task)
    ours = isinstance(task, CognitiveTask)
    key = task.condition_key if ours else ("coh" if "coh" in batch.trial_info else "")
    by_condition = _by_condition(batch.trial_info, per_trial, key, spec.n_outputs) if key else {}
    return Evaluation(
        task=spec.name,
        answer=spec.answer,
        metrics=metrics,
        by_condition=by_condition,
        trial_info=batch.trial_info,
        response=response,
        per_trial=per_trial,
        criterion=dict(task.criterion) if ours else {"accuracy": 0.9},
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
