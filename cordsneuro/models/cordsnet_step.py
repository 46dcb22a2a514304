"""One Euler step of every CordsNet area as one autograd node, its backward pass written out.

Autograd keeps, per area and step, the rates, their ReLU, the feedforward input ``h`` and
``σ(drive)``: four tensors of the area's size. The backward pass of a step needs only the rates
before the step (the rest is element-wise from them) and where the drive was positive, so this
node keeps those, in one tensor of the area's size: rates of the ReLU network are never
negative (from a start without sign bits, with 0 < α ≤ 1, each step is a convex combination of
non-negative numbers), so the sign bit of each kept rate is free and records where the drive
was not positive. For CordsNet-R8 at 224 × 224 that is 2.25 → 0.7 GiB (measured peak) over the
200 steps of an eq. 4 training step, without recomputing any convolution (gradient
checkpointing recomputes all of them). A start state with a sign bit set, or α > 1, keeps the
rates and one byte per unit instead.

The kernels' and biases' gradients are summed over time by :class:`TimeSummedGradients`
instead of being returned by every step: on the small grids of the deep areas one step's
weight gradient is a product with as few rows as output positions (49 on 7 × 7), which runs
below the CPU's peak, and autograd would add every step's gradient of every kernel (44 MB for
CordsNet-R8) into its running sum.

The forward pass is the model's own ``_preactivation`` and ``update`` (eq. 3 and eq. 9), so the
states are bitwise those of the autograd path; a test compares every gradient with it in
float64. Used by the fast path for the ReLU network without private noise; other cases keep
autograd.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cordsneuro.models.patch_conv import conv2d_backward

__all__ = [
    "ROWS_PER_PRODUCT",
    "TimeSummedGradients",
    "euler_step",
    "pooled_rates",
    "rates_stay_nonnegative",
]

#: Steps' weight gradients are stacked until they have this many rows (output positions ×
#: batch × steps): 42 steps of a 7 × 7 area at batch 1, 11 of a 14 × 14 one, 4 of an 8 × 8 one
#: at batch 8. One core (AVX-512): a 7 × 7 × 512 weight gradient of one step (49 rows) runs at
#: 60–70 % of the peak, of 11 steps at the peak; at CordsNet-R2 32 × 32, batch 8, 2048 rows
#: make the training step 6 % faster than 512.
ROWS_PER_PRODUCT = 2048


def euler_step(
    model: Any,
    state: tuple[Tensor, ...],
    w: Any,
    drive,
    alphas,
    sums: TimeSummedGradients,
    first: bool,
    nonnegative: bool = False,
    flushed: bool = False,
) -> tuple[Tensor, ...]:
    """``model.update(state, model._preactivation(state, w, input_drive=drive))`` as one node.

    ``w``: the materialised weights; ``drive``: the image's input drive of areas 0 and 1 (or
    None during blanks); ``alphas``: ``dt/τ`` of each area (tensors without gradient);
    ``sums``: one :class:`TimeSummedGradients` shared by the steps of a simulation;
    ``first``: whether this is the simulation's first step, whose backward pass runs last and
    returns the kernels' and biases' gradients summed over all steps; ``nonnegative``: no rate
    of this simulation has its sign bit set (see :func:`rates_stay_nonnegative`), so the mask
    of the ReLU is kept in the rates' sign bits; ``flushed``: the forward pass runs with
    subnormal floats flushed to zero (CPU), so no drive is a positive subnormal."""
    depth = len(state)
    drive = tuple(drive) if drive is not None else ()
    tensors = (
        *state, *w.recurrent, *w.feedforward[1:], *w.skip, *w.bias, *drive,
    )  # fmt: skip
    flags = (first, nonnegative, flushed)
    return _EulerStep.apply(model, w, depth, len(drive), alphas, sums, flags, *tensors)


def rates_stay_nonnegative(state: tuple[Tensor, ...], alphas) -> bool:
    """Whether every rate of a ReLU simulation from ``state`` keeps its sign bit clear: the
    start has none set (no negative number, no −0.0) and every ``α = dt/τ`` lies in (0, 1], so
    that each Euler step ``r + α (ReLU(drive) − r)`` is a convex combination of non-negative
    numbers, which rounding keeps non-negative. One pass over the start state."""
    alphas_ok = all(bool(((a > 0) & (a <= 1)).all()) for a in map(torch.as_tensor, alphas))
    return alphas_ok and not any(bool(torch.signbit(r).any()) for r in state)


def pooled_rates(last: Tensor, second_last: Tensor) -> Tensor:
    """``(ReLU(last) + ReLU(second_last)).mean((2, 3))``, the readout's pooling (Table S3), as
    one autograd node that keeps where the two inputs are positive, one byte per unit.

    Autograd would keep both ReLUs (8 MB over the 30 read-out steps of eq. 4 at
    CordsNet-R2 32 × 32, batch 8, a tenth of the training step's memory, instead of 2 MB)."""
    if torch.is_grad_enabled() and (last.requires_grad or second_last.requires_grad):
        return _PooledRates.apply(last, second_last)
    return torch.relu(last).add_(torch.relu(second_last)).mean((2, 3))


class _PooledRates(torch.autograd.Function):
    @staticmethod
    def forward(ctx, last, second_last):
        ctx.positive = (last > 0, second_last > 0)
        return torch.relu(last).add_(torch.relu(second_last)).mean((2, 3))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        return tuple(
            torch.mul(grad[:, :, None, None], positive).div_(positive.shape[2] * positive.shape[3])
            if ctx.needs_input_grad[k]
            else None
            for k, positive in enumerate(ctx.positive)
        )


class TimeSummedGradients:
    """The kernel and bias gradients of one simulation's steps, summed over time.

    Each step's backward pass leaves the gradient of a convolution's output and the
    convolution's input here (:meth:`add`); once the stacked steps have
    :data:`ROWS_PER_PRODUCT` rows their weight gradient is one product (one library
    convolution gradient on large grids) added to a running sum, and :meth:`take` returns the
    sums. Backward passes are told apart by autograd's graph task, so a retained graph can be
    backpropagated twice, or by two threads."""

    def __init__(self) -> None:
        self._passes: dict[int, dict[Any, _Sum]] = {}

    def add(
        self,
        name: Any,
        grad_out: Tensor,
        x: Tensor | None,
        weight: Tensor | None = None,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        """One step's part of the gradient of ``F.conv2d(x, weight, None, stride, padding)``
        with respect to ``weight`` (with ``weight=None``: of a bias added to the output)."""
        entries = self._passes.setdefault(_graph_task(), {})
        entry = entries.get(name)
        if entry is None:
            entry = entries[name] = _Sum(weight, stride, padding)
        entry.grads.append(grad_out)
        entry.inputs.append(x)
        entry.rows += grad_out.shape[0] * grad_out.shape[2] * grad_out.shape[3]
        if entry.rows >= ROWS_PER_PRODUCT:
            entry.flush()

    def take(self) -> dict[Any, Tensor]:
        """The sums of this backward pass (and forget them)."""
        entries = self._passes.pop(_graph_task(), {})
        for entry in entries.values():
            entry.flush()
        return {name: entry.total for name, entry in entries.items()}


class _Sum:
    __slots__ = ("weight", "stride", "padding", "grads", "inputs", "rows", "total")

    def __init__(self, weight: Tensor | None, stride: int, padding: int) -> None:
        self.weight, self.stride, self.padding = weight, stride, padding
        self.grads: list[Tensor] = []
        self.inputs: list[Tensor | None] = []
        self.rows = 0
        self.total: Tensor | None = None

    def flush(self) -> None:
        if not self.grads:
            return
        g = self.grads[0] if len(self.grads) == 1 else torch.cat(self.grads)
        if self.weight is None:  # a bias of the output's shape, broadcast over the batch
            part = g.sum(0, keepdim=True)
        else:
            x = self.inputs[0] if len(self.inputs) == 1 else torch.cat(self.inputs)
            _, part = conv2d_backward(
                g, x, self.weight, self.stride, self.padding, input_grad=False
            )  # fmt: skip
        self.total = part if self.total is None else self.total.add_(part)
        self.grads, self.inputs, self.rows = [], [], 0


def _graph_task() -> int:
    current = getattr(torch._C, "_current_graph_task_id", None)  # torch >= 2.2
    return current() if current is not None else 0


def _below(p: Tensor, flushed: bool) -> Tensor:
    if flushed:
        return p - torch.finfo(p.dtype).tiny
    return torch.nextafter(p, torch.tensor(-torch.inf, dtype=p.dtype, device=p.device))


class _EulerStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model, w, depth, n_drive, alphas, sums, flags, *tensors):
        first, nonnegative, flushed = flags
        state = tensors[:depth]
        drive = tensors[len(tensors) - n_drive :] if n_drive else None
        pre = model._preactivation(state, w, input_drive=drive)
        new = model.update(state, pre, alpha=alphas, noise=False)
        ctx.model, ctx.depth, ctx.n_drive, ctx.alphas = model, depth, n_drive, alphas
        ctx.w, ctx.sums, ctx.first = w, sums, first
        if nonnegative:
            # σ' of the ReLU in the sign bit: a float below p whose sign bit is clear exactly
            # where p > 0 (also for p = ±0.0): p − (smallest normal) when p cannot be a
            # positive subnormal, else the float just below p (a slower, scalar pass)
            ctx.save_for_backward(
                *(torch.copysign(r, _below(p, flushed)) for p, r in zip(pre, state))
            )
            ctx.positive = None
        else:
            ctx.save_for_backward(*state)
            ctx.positive = [p > 0 for p in pre]  # one byte per unit
        return new

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grad_new):
        model, depth, w, sums = ctx.model, ctx.depth, ctx.w, ctx.sums
        areas = model.wiring.areas
        if ctx.positive is None:
            signed = ctx.saved_tensors
            state = [r.abs() for r in signed]
            one = torch.ones((), dtype=signed[0].dtype, device=signed[0].device)
            positive = [torch.copysign(one, r) for r in signed]  # +1 where drive > 0, else −1
            x = state  # ReLU(r) = r: no rate is negative
        else:
            state = ctx.saved_tensors
            positive = [p.to(state[0].dtype) for p in ctx.positive]  # 1 or 0
            x = [F.relu(r) for r in state]
        n_skip = len(w.skip)
        # which parameters want a gradient: (recurrent, feedforward[1:], skip, bias)
        need = ctx.needs_input_grad[7 + depth :]
        need_rec, need_ff = need[:depth], (False, *need[depth : 2 * depth - 1])
        need_skip = need[2 * depth - 1 : 2 * depth - 1 + n_skip]
        need_bias = need[2 * depth - 1 + n_skip : 3 * depth - 1 + n_skip]

        grads_r = []
        d = []  # dL/d(drive) of each area
        for i, (g, r) in enumerate(zip(grad_new, state)):
            g = torch.zeros_like(r) if g is None else g
            # g where the drive was positive (the float ops run 4× faster than a bool mask's)
            d.append(torch.ops.aten.threshold_backward(g, positive[i], 0).mul_(ctx.alphas[i]))
            grads_r.append(g)  # × (1 − α) where the recurrent input gradient is added
        grad_x = [None] * depth

        def add(lst, i, value):
            lst[i] = value if lst[i] is None else lst[i] + value

        for i in range(depth):
            gx, _ = conv2d_backward(d[i], state[i], w.recurrent[i], 1, 1, weight_grad=False)
            grads_r[i] = torch.addcmul(gx, grads_r[i], 1 - ctx.alphas[i])
            if need_rec[i]:
                sums.add(("recurrent", i), d[i], state[i], w.recurrent[i], 1, 1)
            if need_bias[i]:
                sums.add(("bias", i), d[i], None)
            if i == 1:
                gx, _ = conv2d_backward(d[1], x[0], w.feedforward[1], 1, 1, weight_grad=False)
                add(grad_x, 0, gx)
                if need_ff[1]:
                    sums.add(("feedforward", 1), d[1], x[0], w.feedforward[1], 1, 1)
            elif i >= 2:
                ff, sk = areas[i].feedforward, areas[i].skip
                k = (i - 3) // 2
                if sk is None:
                    h = x[i - 1] + x[i - 2]
                else:
                    skipped = F.conv2d(x[i - 2], w.skip[k], None, sk.stride, sk.padding)
                    h = x[i - 1] + skipped
                gh, _ = conv2d_backward(
                    d[i], h, w.feedforward[i], ff.stride, ff.padding, weight_grad=False
                )  # fmt: skip
                if need_ff[i]:
                    sums.add(("feedforward", i), d[i], h, w.feedforward[i], ff.stride, ff.padding)
                add(grad_x, i - 1, gh)
                if sk is None:
                    add(grad_x, i - 2, gh)
                else:
                    gx, _ = conv2d_backward(
                        gh, x[i - 2], w.skip[k], sk.stride, sk.padding, weight_grad=False
                    )  # fmt: skip
                    add(grad_x, i - 2, gx)
                    if need_skip[k]:
                        sums.add(("skip", k), gh, x[i - 2], w.skip[k], sk.stride, sk.padding)
        for i in range(depth):
            if grad_x[i] is not None:  # through the ReLU between areas
                grads_r[i] += torch.ops.aten.threshold_backward(grad_x[i], state[i], 0)

        # the kernels' and biases' gradients: summed over time, returned by the first step
        totals = sums.take() if ctx.first else {}
        grad_drive = [d[0], d[1]][: ctx.n_drive]
        grads = (
            *grads_r,
            *(totals.get(("recurrent", i)) for i in range(depth)),
            *(totals.get(("feedforward", i)) for i in range(1, depth)),
            *(totals.get(("skip", k)) for k in range(n_skip)),
            *(totals.get(("bias", i)) for i in range(depth)),
            *grad_drive,
        )
        return (None,) * 7 + grads
