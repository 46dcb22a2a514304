"""``train_many``: K networks of one architecture and size trained together as one batched model.

The K networks' weights are stacked along a new first axis and one vectorised forward /
backward pass (:func:`torch.func.vmap` over :meth:`~cordsneuro.models.SingleAreaRNN.run_trials`)
trains them all per step. Everything else stays per network, exactly as :func:`~cordsneuro.train`
would do it for that network alone: its own task copy and data stream (seeded by its own
``seed``), held-out set, loss weights, learning rate and weight decay, AdamW moments, gradient
clipping (each network's own global norm), stopping criterion, divergence check, learning curve
and checkpoint (the format of :func:`~cordsneuro.train`, so ``train(..., resume=True)``
continues any of them alone).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from cordsneuro.training.loss import weighted_loss
from cordsneuro.training.trainer import TrainResult, _diverged, _prepare

__all__ = ["train_many"]

#: AdamW constants: torch's defaults, which :func:`~cordsneuro.train` uses.
_BETAS, _EPS = (0.9, 0.999), 1e-8


def train_many(
    models: Sequence[Any],
    tasks: Any,
    *,
    steps: int | None = None,
    until: Any = None,
    lr: float | Sequence[float] = 1e-3,
    batch_size: int = 64,
    seed: int | Sequence[int] = 0,
    weight_decay: float | Sequence[float] = 0.0,
    grad_clip: float | None | Sequence[float | None] = 1.0,
    loss_weights: Any = None,
    eval_every: int = 50,
    eval_trials: int = 512,
    checkpoint_dirs: Sequence[Any] | None = None,
    checkpoint_every: int | None = None,
    progress: bool = True,
    task_kwargs: Any = None,
) -> list[TrainResult]:
    """Train K networks at once; each ends as :func:`~cordsneuro.train` would have left it.

    Parameters
    ----------
    models : sequence of SingleAreaRNN
        K networks of one class (FullRNN, LowRankRNN, SparseRNN or ConvRNN) with parameters and
        buffers of the same shapes, the same ``dt``, activation and ``prelu_slope``, and no
        private noise (``noise_std = 0``). They may differ in their weights (seed, gain), time
        constants or sparsity masks. Trained in place.
    tasks : task or sequence of K tasks
        One task for all (each network draws its own trials from its own copy) or one per
        network; anything :func:`~cordsneuro.train` takes. The tasks must have the same
        input / output widths and kind of answer; trials of different lengths are padded at
        the end with zero loss weight (which changes nothing before the padding).
    lr, seed, weight_decay, grad_clip : scalar or sequence of K
        As in :func:`~cordsneuro.train`, one value for all or one per network.
    steps, until, batch_size, loss_weights, eval_every, eval_trials, task_kwargs
        As in :func:`~cordsneuro.train` (the same for all networks).
    checkpoint_dirs : sequence of K paths, optional
        One checkpoint directory per network (the format of :func:`~cordsneuro.train`),
        written every ``checkpoint_every`` steps (default: at each evaluation) and at the end.
    progress : bool
        One tqdm bar for the batch (networks still training, best loss).

    Returns
    -------
    list of TrainResult
        One per network, in order. ``stopped`` is ``"criterion"``, ``"steps"`` or
        ``"diverged"``: a network whose loss or gradient becomes NaN/Inf stops alone, keeps
        its weights of the step before, and ``history["diverged"]`` says why; the others go
        on. ``seconds`` is the wall-clock time of the whole batch.

    Notes
    -----
    Same seed, same result as training alone, up to floating-point rounding: the batched matrix
    products and the per-network gradient norm sum in another order (measured: weights equal
    to ~1e-6 relative after 30 steps on PDM, ``tests/training/test_many.py``). Each step is one
    batched product per Euler step for all K (the fused trial loop's vmap rule,
    :func:`cordsneuro.models.scan.euler_scan`). That pays where one network leaves the
    processor idle (a GPU); on a CPU core a 125-neuron network at batch 64 already keeps it
    busy, and K = 20 take about as long as K runs one after another
    (``benchmarks/train_speed.py``).
    """
    from torch.func import functional_call, stack_module_state, vmap
    from tqdm.auto import tqdm

    from cordsneuro.models.recurrent import SingleAreaRNN
    from cordsneuro.tasks.evaluation import criterion_met

    models = list(models)
    k = len(models)
    if k < 1:
        raise ValueError("models must hold at least one network")
    _check_alike(models, SingleAreaRNN)
    tasks = list(tasks) if isinstance(tasks, (list, tuple)) else [tasks] * k
    lrs, seeds, decays, clips = (
        _per_network(name, value, k)
        for name, value in (("lr", lr), ("seed", seed), ("weight_decay", weight_decay),
                            ("grad_clip", grad_clip))
    )  # fmt: skip
    for name, value in (("tasks", tasks), ("checkpoint_dirs", checkpoint_dirs)):
        if value is not None and len(value) != k:
            raise ValueError(f"{name} must give one entry per model ({k}), got {len(value)}")
    dirs = list(checkpoint_dirs) if checkpoint_dirs is not None else [None] * k
    runs, every, directories = [], None, []
    for i in range(k):
        run, steps_i, every, directory = _prepare(
            models[i], tasks[i], steps=steps, until=until, lr=lrs[i], batch_size=batch_size,
            seed=seeds[i], weight_decay=decays[i], grad_clip=clips[i], loss_weights=loss_weights,
            loss=None, l1_weights=0.0, l2_weights=0.0, l2_rates=0.0, eval_every=eval_every,
            eval_trials=eval_trials, eval_seed=None, checkpoint_dir=dirs[i],
            checkpoint_every=checkpoint_every, resume=False, progress=False, callback=None,
            task_kwargs=task_kwargs,
        )  # fmt: skip
        runs.append(run)
        directories.append(directory)
    _check_tasks([r.task for r in runs])
    answer = runs[0].task.answer

    # One stacked leaf per parameter; each model's parameter becomes a view of its slice, so
    # evaluation and checkpoints of a network see the current weights without copies.
    params, buffers = stack_module_state(models)
    params = {name: p.detach().requires_grad_() for name, p in params.items()}
    for i, model in enumerate(models):
        for name, p in model.named_parameters():
            p.data = params[name].data[i]
    moments = {name: (torch.zeros_like(p), torch.zeros_like(p)) for name, p in params.items()}
    device = params[next(iter(params))].device
    lr_t, decay_t, clip_t = (
        torch.tensor(v, dtype=torch.float64, device=device)
        for v in (lrs, decays, [math.inf if c is None else c for c in clips])
    )
    base = models[0]
    state0 = base.initial_state(batch_size)

    class _Trials(nn.Module):  # what functional_call runs: outputs of validated inputs
        def __init__(self) -> None:
            super().__init__()
            self.model = base

        def forward(self, inputs: Tensor) -> Tensor:
            return self.model.run_trials(inputs, state0).outputs

    wrapper = _Trials()

    def one_loss(p: dict, b: dict, inputs: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
        named = {f"model.{n}": v for n, v in {**p, **b}.items()}
        outputs = functional_call(wrapper, named, (inputs,))
        return weighted_loss(outputs, targets, weights, answer)

    losses_of = vmap(one_loss)
    active = [True] * k
    last = [None] * k  # each network's latest batch (a stopped one keeps its last)
    bar = tqdm(total=steps_i, disable=not progress, desc=f"train_many ×{k}", leave=False)
    start = time.perf_counter()
    try:
        while any(active):
            for i, run in enumerate(runs):
                if active[i]:
                    batch = run.task.batch(batch_size, device=device)
                    last[i] = (batch, run.task.loss_weights(batch, run.weights))
            inputs, targets, weights = _stack(last)
            losses = losses_of(params, buffers, inputs, targets, weights)
            values = losses.detach().tolist()
            for i, run in enumerate(runs):
                if active[i] and not math.isfinite(values[i]):
                    _stop(run, "loss", values[i], directories[i])
                    active[i] = False
            mask = torch.tensor(active, device=device)
            if not mask.any():
                break
            for p in params.values():
                p.grad = None
            torch.where(mask, losses, torch.zeros_like(losses)).sum().backward()
            norms = _grad_norms(params)
            for i, run in enumerate(runs):
                if active[i] and not math.isfinite(norms[i]):
                    _stop(run, "gradient norm", norms[i], directories[i])
                    active[i] = False
            mask = torch.tensor(active, device=device)
            step = runs[mask.nonzero()[0, 0]].state.step + 1 if mask.any() else 0
            _adamw(params, moments, mask, step, lr_t, decay_t, clip_t, norms)
            for i, run in enumerate(runs):
                if not active[i]:
                    continue
                state, history = run.state, run.state.history
                state.step += 1
                history["step"].append(state.step)
                history["loss"].append(values[i])
                if state.step % every == 0 or state.step >= steps_i:
                    run.metrics = run.evaluate()
                    history["evaluations"].append({"step": state.step, **run.metrics})
                    state.reached = run.criterion is not None and criterion_met(
                        run.metrics, run.criterion
                    )
                ends = state.reached or state.step >= steps_i
                if directories[i] is not None and (state.step % every == 0 or ends):
                    state.seconds = time.perf_counter() - start
                    _optimizer_state(run.optimizer, models[i], moments, i, step)
                    run.save(directories[i])
                active[i] = not ends
            bar.update(1)
            bar.set_postfix(training=sum(active), loss=f"{min(values):.3g}")
    finally:
        bar.close()
        for i, model in enumerate(models):  # the models own their weights again
            for name, p in model.named_parameters():
                p.data = params[name].data[i].clone()
    seconds = time.perf_counter() - start
    results = []
    for run, directory in zip(runs, directories):
        run.state.seconds = seconds
        result = run.result(directory)
        if "diverged" in run.state.history:
            result.stopped = "diverged"
        results.append(result)
    return results


def _per_network(name: str, value: Any, k: int) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != k:
            raise ValueError(f"{name} must be one value or one per model ({k}), got {len(value)}")
        return list(value)
    return [value] * k


def _check_alike(models: list, base_class: type) -> None:
    first = models[0]
    if not isinstance(first, base_class):
        raise TypeError(
            f"train_many takes single-area networks (FullRNN, LowRankRNN, SparseRNN, ConvRNN), "
            f"got {type(first).__name__}"
        )
    shapes = {n: p.shape for n, p in first.state_dict().items()}
    for i, m in enumerate(models):
        if type(m) is not type(first):
            raise ValueError(
                f"models must share one class: models[0] is {type(first).__name__}, "
                f"models[{i}] is {type(m).__name__}"
            )
        mine = {n: p.shape for n, p in m.state_dict().items()}
        if mine != shapes:
            raise ValueError(f"models[{i}] has other parameter shapes than models[0]")
        for attr in ("dt", "activation", "prelu_slope"):
            if getattr(m, attr) != getattr(first, attr):
                raise ValueError(
                    f"models must share {attr}: models[0] has {getattr(first, attr)!r}, "
                    f"models[{i}] has {getattr(m, attr)!r}"
                )
        if m.noise_std > 0:
            raise ValueError(
                f"models[{i}] has noise_std={m.noise_std}: train_many trains noiseless networks "
                "(train them one by one with train)"
            )
        if len({p.data_ptr() for p in m.parameters()} & _pointers(models[:i])):
            raise ValueError(f"models[{i}] shares parameters with an earlier model")


def _pointers(models: list) -> set[int]:
    return {p.data_ptr() for m in models for p in m.parameters()}


def _check_tasks(tasks: list) -> None:
    first = tasks[0]
    for i, t in enumerate(tasks):
        ours = (t.n_inputs, t.n_outputs, t.answer)
        theirs = (first.n_inputs, first.n_outputs, first.answer)
        if ours != theirs:
            raise ValueError(
                f"tasks must share (n_inputs, n_outputs, answer): tasks[0] has {theirs}, "
                f"tasks[{i}] ({t.name}) has {ours}"
            )


def _stack(last: list) -> tuple[Tensor, Tensor, Tensor]:
    """Stack the K batches ``(K, batch, time, ...)``, padded at the end to the longest trial
    with zero inputs, targets and loss weights."""
    n_time = max(b.inputs.shape[1] for b, _ in last)

    def padded(x: Tensor) -> Tensor:
        extra = n_time - x.shape[1]
        if extra == 0:
            return x
        pad = torch.zeros(x.shape[0], extra, *x.shape[2:], dtype=x.dtype, device=x.device)
        return torch.cat([x, pad], dim=1)

    inputs = torch.stack([padded(b.inputs) for b, _ in last])
    targets = torch.stack([padded(b.targets) for b, _ in last])
    weights = torch.stack([padded(w) for _, w in last])
    return inputs, targets, weights


def _stop(run: Any, what: str, value: float, directory: Any) -> None:
    run.state.history["diverged"] = _diverged(what, value, run.state.step + 1, directory)


def _optimizer_state(optimizer: Any, model: Any, moments: dict, i: int, step: int) -> None:
    """Network ``i``'s AdamW moments as its own ``torch.optim.AdamW`` state (for its checkpoint)."""
    for name, p in model.named_parameters():
        m, v = moments[name]
        optimizer.state[p] = {
            "step": torch.tensor(float(step)), "exp_avg": m[i], "exp_avg_sq": v[i],
        }  # fmt: skip


def _grad_norms(params: dict[str, Tensor]) -> list[float]:
    """Each network's global gradient norm (as ``clip_grad_norm_`` computes it alone)."""
    per_param = [torch.linalg.vector_norm(p.grad.flatten(1), dim=1) for p in params.values()]
    return torch.linalg.vector_norm(torch.stack(per_param, 1), dim=1).tolist()


@torch.no_grad()
def _adamw(params, moments, mask, step, lr, decay, clip, norms) -> None:
    """One AdamW step of every active network, as ``torch.optim.AdamW`` (single-tensor path)
    does it for one, after clipping each network's gradient to its own ``grad_clip``."""
    beta1, beta2 = _BETAS
    coef = (clip / (torch.tensor(norms, dtype=torch.float64) + 1e-6)).clamp(max=1.0)
    correction1, correction2 = 1 - beta1**step, math.sqrt(1 - beta2**step)
    for name, p in params.items():
        view = (-1,) + (1,) * (p.dim() - 1)
        g = p.grad * coef.to(p.dtype).view(view)
        m, v = moments[name]
        keep = mask.view(view)
        m.copy_(torch.where(keep, m.lerp(g, 1 - beta1), m))
        v.copy_(torch.where(keep, v * beta2 + (1 - beta2) * g * g, v))
        decayed = p * (1 - (lr * decay).to(p.dtype).view(view))
        denom = v.sqrt() / correction2 + _EPS
        new = decayed - (lr / correction1).to(p.dtype).view(view) * (m / denom)
        p.copy_(torch.where(keep, new, p))
