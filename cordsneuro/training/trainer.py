"""``cordsneuro.train``: supervised training of any dynamical RNN on any trial-based task.

Masked loss on the scored steps (cross-entropy for categorical answers, mean squared error for
continuous ones), AdamW, gradient clipping, a fixed held-out evaluation set, a stopping
criterion, a learning curve, tqdm progress and resumable checkpoints.

Checkpoint layout (``checkpoint_dir/checkpoint/``, replaced atomically each time)::

    model/config.json, model/weights.safetensors   the model (DynamicalRNN.save format)
    state.safetensors                              optimizer tensors + torch noise generator
    trainer.json                                   step, settings, history, random states,
                                                   optimizer hyper-parameters (no pickle)

``resume=True`` restores all of it, so a run killed at any point and resumed gives the same
final weights as an uninterrupted run with the same seed (same machine, same threads).
"""

from __future__ import annotations

import copy
import json
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
from torch.nn import functional as F

from cordsneuro._atomic import atomic_path
from cordsneuro.dynamics import DynamicalRNN, load

__all__ = [
    "train",
    "TrainResult",
    "masked_loss",
    "DEFAULT_MAX_STEPS",
    "RECIPES",
    "recipe",
    "paper_model",
    "train_paper_task",
]

#: Step budget when only ``until`` is given.
DEFAULT_MAX_STEPS = 10_000


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
        Metrics of the last evaluation on the held-out set.
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


# ----------------------------------------------------------------------------- loss


def masked_loss(outputs: Tensor, targets: Tensor, mask: Tensor, answer: str) -> Tensor:
    """Loss on the scored steps only.

    ``outputs (batch, time, n_out)``; ``targets (batch, time)`` class indices with
    cross-entropy for ``answer="categorical"``, or ``(batch, time, n_out)`` with the mean
    squared error for ``"continuous"``; ``mask (batch, time)`` bool."""
    if answer == "categorical":
        return F.cross_entropy(outputs[mask], targets[mask])
    if answer == "continuous":
        return F.mse_loss(outputs[mask], targets[mask])
    raise ValueError(f"answer must be 'categorical' or 'continuous' (got {answer!r})")


# ----------------------------------------------------------------------------- train


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
    eval_every: int = 50,
    eval_trials: int = 512,
    eval_seed: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
    **task_kwargs: Any,
) -> TrainResult:
    """Train ``model`` on ``task``.

    Parameters
    ----------
    model : DynamicalRNN
        Any model of the library (FullRNN, LowRankRNN, SparseRNN, ConvRNN...), on any device;
        its ``input_size`` / ``output_size`` must fit the task. Trained in place.
    task : CognitiveTask, neurogym TrialEnv or str
        One of the paper's tasks (``"PDM"``, ``"cordsneuro/DMS-v0"``, ``"MemoryProRing"``), any
        neurogym env or id (``"PerceptualDecisionMaking-v0"``); an env object is copied, not
        modified. ``task_kwargs`` build a task given by name (``dt=20``, ``timing={...}``).
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
        Show a tqdm progress bar.
    callback : callable, optional
        Called as ``callback(step, loss)`` after every step (step counts from 1).

    Raises
    ------
    FloatingPointError
        When the loss or the gradient becomes NaN/Inf; the model keeps its last good weights
        and the last good checkpoint stays on disk.
    """
    from tqdm.auto import tqdm

    from cordsneuro.tasks.batching import describe, get_task, make_batch, rng_state, set_rng_state
    from cordsneuro.tasks.evaluation import check_model_fits, criterion_met, evaluate

    if not isinstance(model, DynamicalRNN):
        raise TypeError(f"model must be a cordsneuro DynamicalRNN, got {type(model).__name__}")
    task = get_task(task, **task_kwargs)
    if not isinstance(task, str):
        task = copy.deepcopy(task)
    info = describe(task)
    check_model_fits(model, task)
    _check_int("batch_size", batch_size, 1)
    _check_int("eval_every", eval_every, 1)
    _check_int("eval_trials", eval_trials, 1)
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0 (got {lr!r})")
    if not (
        isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0
    ):
        raise ValueError(f"weight_decay must be a finite number >= 0 (got {weight_decay!r})")
    if grad_clip is not None and not (math.isfinite(grad_clip) and grad_clip > 0):
        raise ValueError(f"grad_clip must be a finite number > 0 or None (got {grad_clip!r})")
    criterion = _criterion(until, task)
    if steps is None:
        if criterion is None:
            raise ValueError(
                "give steps (a number of optimisation steps) or until (a stopping criterion)"
            )
        steps = DEFAULT_MAX_STEPS
    _check_int("steps", steps, 1)
    if checkpoint_every is not None:
        _check_int("checkpoint_every", checkpoint_every, 1)
        if checkpoint_dir is None:
            raise ValueError("checkpoint_every needs a checkpoint_dir")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir")
    checkpoint_every = checkpoint_every or eval_every
    eval_seed = int(seed) + 1_000_003 if eval_seed is None else int(eval_seed)

    device = next(model.parameters()).device
    settings = {
        "task": info.config,
        "batch_size": int(batch_size),
        "lr": float(lr),
        "weight_decay": float(weight_decay),
        "grad_clip": grad_clip,
        "seed": int(seed),
        "eval_trials": int(eval_trials),
        "eval_seed": eval_seed,
        "eval_every": int(eval_every),
    }
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    noise = torch.Generator(device=device)
    noise.manual_seed(int(seed))
    _trial_env(task).seed(int(seed))
    eval_batch = make_batch(copy.deepcopy(task), eval_trials, seed=eval_seed)

    step, seconds = 0, 0.0
    history: dict[str, Any] = {"step": [], "loss": [], "evaluations": []}
    metrics: dict[str, float] = {}
    reached = False
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and (directory / "checkpoint").is_dir():
        step, seconds, history, reached = _load_checkpoint(
            directory / "checkpoint", model, optimizer, noise, task, settings, set_rng_state
        )
        metrics = {k: v for k, v in (history["evaluations"] or [{}])[-1].items() if k != "step"}

    def save() -> None:
        if directory is not None:
            _save_checkpoint(
                directory / "checkpoint", model, optimizer, noise, rng_state(task),
                settings, step, seconds, history, reached,
            )  # fmt: skip

    def run_eval() -> dict[str, float]:
        was_training = model.training
        model.eval()
        result = evaluate(model, task, batch=eval_batch, seed=eval_seed)
        model.train(was_training)
        return result.metrics

    finished = reached or step >= steps
    bar = tqdm(
        total=steps, initial=step, disable=not progress, desc=f"train {info.name}", leave=False
    )
    params = [p for p in model.parameters() if p.requires_grad]
    start = time.perf_counter()
    try:
        while not finished:
            batch = make_batch(task, batch_size, device=device)
            outputs = model(batch.inputs, generator=noise).outputs
            loss = masked_loss(outputs, batch.targets, batch.mask, info.answer)
            if not torch.isfinite(loss):
                raise FloatingPointError(_diverged("loss", loss.item(), step + 1, directory))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
            else:
                norm = torch.sqrt(
                    sum((p.grad.detach() ** 2).sum() for p in params if p.grad is not None)
                )
            if not torch.isfinite(norm):
                raise FloatingPointError(
                    _diverged("gradient norm", norm.item(), step + 1, directory)
                )
            optimizer.step()
            step += 1
            value = float(loss.detach())
            history["step"].append(step)
            history["loss"].append(value)
            bar.update(1)
            if callback is not None:
                callback(step, value)
            evaluated = step % eval_every == 0 or step >= steps
            if evaluated:
                metrics = run_eval()
                history["evaluations"].append({"step": step, **metrics})
                reached = criterion is not None and criterion_met(metrics, criterion)
                bar.set_postfix(loss=f"{value:.3g}", **{k: f"{v:.3g}" for k, v in metrics.items()})
            finished = reached or step >= steps
            if step % checkpoint_every == 0 or finished:
                seconds += time.perf_counter() - start
                start = time.perf_counter()
                save()
    finally:
        bar.close()
    seconds += time.perf_counter() - start
    return TrainResult(
        model=model,
        task=info.name,
        steps=step,
        seconds=seconds,
        reached=reached,
        stopped="criterion" if reached else "steps",
        metrics=metrics,
        history=history,
        checkpoint=directory / "checkpoint" if directory is not None else None,
    )


# ----------------------------------------------------------------------------- helpers


def _trial_env(task: Any):
    from cordsneuro.tasks.batching import _trial_source

    return _trial_source(task).unwrapped


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} (got {value!r})")


def _criterion(until: Any, task: Any) -> dict[str, float] | None:
    if until is None:
        return None
    if isinstance(until, str):
        if until != "criterion":
            raise ValueError(
                f"until must be 'criterion', a float accuracy or a dict (got {until!r})"
            )
        from cordsneuro.tasks.cognitive import CognitiveTask

        # other envs: accuracy >= 0.9
        return dict(task.criterion) if isinstance(task, CognitiveTask) else {"accuracy": 0.9}
    if isinstance(until, (int, float)) and not isinstance(until, bool):
        if not 0 < until <= 1:
            raise ValueError(f"until as a float is an accuracy in (0, 1] (got {until!r})")
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _save_checkpoint(
    path: Path,
    model: DynamicalRNN,
    optimizer: torch.optim.Optimizer,
    noise: torch.Generator,
    task_rng: dict,
    settings: dict,
    step: int,
    seconds: float,
    history: dict,
    reached: bool,
) -> None:
    """Write the checkpoint to a temporary directory, then swap it in (never half-written)."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        tmp.mkdir()
        model.save(tmp / "model")
        state = optimizer.state_dict()
        tensors: dict[str, Tensor] = {"rng.noise": noise.get_state().cpu()}
        scalars: dict[str, dict[str, Any]] = {}
        for index, entry in state["state"].items():
            for key, value in entry.items():
                if isinstance(value, Tensor):
                    tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars.setdefault(str(index), {})[key] = _jsonable(value)
        save_file(tensors, str(tmp / "state.safetensors"))
        record = {
            "format": "cordsneuro-train-checkpoint-1",
            "model": {"class": type(model).__name__, "arguments": model.config},
            "settings": settings,
            "step": step,
            "seconds": seconds,
            "reached": reached,
            "history": history,
            "task_rng": task_rng,
            "optimizer": {"param_groups": _jsonable(state["param_groups"]), "scalars": scalars},
        }
        (tmp / "trainer.json").write_text(json.dumps(record))


def _load_checkpoint(
    path: Path,
    model: DynamicalRNN,
    optimizer: torch.optim.Optimizer,
    noise: torch.Generator,
    task: Any,
    settings: dict,
    set_rng_state: Callable,
) -> tuple[int, float, dict, bool]:
    from safetensors.torch import load_file

    record_path = path / "trainer.json"
    if not record_path.is_file():
        raise FileNotFoundError(f"{record_path} is missing: not a cordsneuro training checkpoint")
    record = json.loads(record_path.read_text())
    saved = record["model"]
    mine = {"class": type(model).__name__, "arguments": json.loads(json.dumps(model.config))}
    if saved != mine:
        raise ValueError(
            f"checkpoint in {path} was saved from {saved['class']}({_args(saved['arguments'])}), "
            f"not from this {mine['class']}({_args(mine['arguments'])}); use another checkpoint_dir "
            "or the model it was made with"
        )
    current = json.loads(json.dumps(settings))
    differ = {
        k: (record["settings"].get(k), v)
        for k, v in current.items()
        if record["settings"].get(k) != v
    }
    if differ:
        detail = "; ".join(f"{k}: checkpoint {a!r}, now {b!r}" for k, (a, b) in differ.items())
        raise ValueError(f"cannot resume from {path}: the training settings differ ({detail})")
    device = next(model.parameters()).device
    weights = load(path / "model", map_location=device)
    model.load_state_dict(weights.state_dict())
    tensors = load_file(str(path / "state.safetensors"))
    noise.set_state(tensors.pop("rng.noise"))
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, entries in record["optimizer"]["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    optimizer.load_state_dict({"state": state, "param_groups": record["optimizer"]["param_groups"]})
    set_rng_state(task, record["task_rng"])
    return int(record["step"]), float(record["seconds"]), record["history"], bool(record["reached"])


def _args(arguments: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in list(arguments.items())[:6])


# ----------------------------------------------------------------------------- recipes

#: Hyper-parameters that train the Table S1 networks (N = 125) on the paper's tasks on 2 CPU
#: cores (``examples/cognitive_tasks_table.py`` reports the outcome). ``model`` entries go to
#: the model's constructor, the rest to :func:`train`. The paper swept lr ∈ {1e-2, 1e-3, 1e-4}
#: and ReLU / tanh / softplus (Appendix B.3); these are single settings that work here.
_TANH = {"activation": "tanh"}
RECIPES: dict[str, dict[str, Any]] = {
    "PDM": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 2000},
    "CDM": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 2000},
    "MDM": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 2000},
    # rank 2 holds f1 over the delay once its two modes start as a plane attractor (see
    # paper_model's ``lowrank_init``); from the random start it crawls (R² 0.82 in 3000 steps)
    "PWM": {
        "model": _TANH,
        "lr": 3e-3,
        "batch_size": 64,
        "steps": 3000,
        "architectures": {"lowrank": {"lowrank_init": 1.0}},
    },
    # DMS (an XOR held over a delay of up to 3 s) sits on a long loss plateau (ln 2) from a
    # gain-1 random start; a richer initial regime (gain 1.5) escapes it in ~100 steps. Rank 2
    # needs its plane-attractor start (lowrank_init) and a smaller lr.
    "DMS": {
        "model": {"activation": "tanh", "gain": 1.5},
        "lr": 1e-3,
        "batch_size": 64,
        "steps": 3000,
        "architectures": {"lowrank": {"model": _TANH, "lowrank_init": 1.0, "lr": 1e-3}},
    },
    "MemoryProRing": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 3000},
    "MemoryProLine": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 3000},
    "MemoryProPoints": {"model": _TANH, "lr": 3e-3, "batch_size": 64, "steps": 3000},
}


def recipe(task: str, architecture: str = "conv") -> dict[str, Any]:
    """The settings of :data:`RECIPES` for one task and architecture: ``model`` (constructor
    arguments) and the keyword arguments of :func:`train`."""
    if not isinstance(task, str):
        raise TypeError(
            f"task must be the name of one of the paper's tasks, got {type(task).__name__}"
        )
    lookup = {k.lower(): k for k in RECIPES}
    key = task.removeprefix("cordsneuro/").removesuffix("-v0").lower()
    if key not in lookup:
        raise ValueError(f"no recipe for task {task!r}; recipes exist for {sorted(RECIPES)}")
    base = {k: v for k, v in RECIPES[lookup[key]].items() if k != "architectures"}
    override = RECIPES[lookup[key]].get("architectures", {}).get(architecture, {})
    return {**base, **override}


def paper_model(
    task: str, architecture: str, n_neurons: int = 125, *, seed: int = 0, **overrides: Any
):
    """The Table S1 network (``architecture`` ∈ full / lowrank / sparse / conv) sized for one of
    the paper's tasks, with the settings of :data:`RECIPES` (``overrides`` go to the
    constructor). A recipe's ``lowrank_init = g`` re-initialises a low-rank network's Q as
    ``g · pinv(P)`` so that ``W = P Q`` starts with two real eigenvalues equal to g."""
    from cordsneuro.models.recurrent import table_s1
    from cordsneuro.tasks.batching import describe, get_task

    info = describe(get_task(task))
    settings = recipe(task, architecture)
    kwargs = {**settings["model"], **overrides}
    model = table_s1(n_neurons, architecture, info.n_inputs, info.n_outputs, seed=seed, **kwargs)
    if "lowrank_init" in settings:
        # W = P Q with Q = g P⁺ (pseudo-inverse): W = g · (projector on span P), whose two
        # non-zero eigenvalues are exactly g and real. g = 1 makes the rank-2 plane a
        # (linear-regime) plane attractor from the start: a continuous memory to shape.
        with torch.no_grad():
            model.q.copy_(float(settings["lowrank_init"]) * torch.linalg.pinv(model.p))
    return model


def train_paper_task(
    task: str,
    architecture: str = "conv",
    n_neurons: int = 125,
    *,
    seed: int = 0,
    **train_kwargs: Any,
) -> TrainResult:
    """Train a Table S1 network on one of the paper's tasks to its criterion with the settings
    of :data:`RECIPES` (deterministic for a given seed on one machine).

    A recipe may hold a ``curriculum``: a list of ``timing`` overrides trained in order, each to
    the criterion (seed ``seed + stage``), before the task itself. The returned result counts
    the steps and seconds of every stage; with ``checkpoint_dir`` each stage checkpoints to
    its own sub-directory (``stage_<i>``, ``final``), so ``resume=True`` works across stages.
    ``train_kwargs`` override the recipe (``steps``, ``lr``, ``progress``, ``checkpoint_dir``...).

    Example: a ConvRNN (125 neurons) storing a ring variable (MemoryPro ring, Appendix B.4)::

        result = train_paper_task("MemoryProRing", "conv", seed=0)
        result.model.save("memorypro_ring_conv")
    """
    from cordsneuro.tasks.cognitive import make

    model = paper_model(task, architecture, n_neurons, seed=seed)
    settings = recipe(task, architecture)
    kwargs = {k: v for k, v in settings.items() if k not in ("model", "curriculum", "lowrank_init")}
    kwargs.update(train_kwargs)
    kwargs.setdefault("until", "criterion")
    checkpoint_dir = kwargs.pop("checkpoint_dir", None)
    # a curriculum: earlier stages on easier timings (each to the criterion), then the task
    stages = [*settings.get("curriculum", []), None]
    steps, seconds, history = 0, 0.0, {"step": [], "loss": [], "evaluations": []}
    for index, timing in enumerate(stages):
        stage_task = task if timing is None else make(task, timing=timing)
        stage_dir = None
        if checkpoint_dir is not None:
            stage_dir = Path(checkpoint_dir) / ("final" if timing is None else f"stage_{index}")
        result = train(model, stage_task, seed=seed + index, checkpoint_dir=stage_dir, **kwargs)
        history["step"] += [steps + s for s in result.history["step"]]
        history["loss"] += result.history["loss"]
        history["evaluations"] += [
            {**e, "step": steps + e["step"]} for e in result.history["evaluations"]
        ]
        steps += result.steps
        seconds += result.seconds
    result.steps, result.seconds, result.history = steps, seconds, history
    return result
