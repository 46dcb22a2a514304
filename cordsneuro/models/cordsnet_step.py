"""One Euler step of every CordsNet area as one autograd node, its backward pass written out.

Autograd keeps, per area and step, the rates, their ReLU, the feedforward input ``h`` and
``σ(drive)``: four tensors of the area's size. The backward pass of a step needs only the rates
before the step (the rest is element-wise from them) and where the drive was positive, so this
node keeps those: the rates (kept anyway as the previous step's output) and one byte per unit.
For CordsNet-R8 at 224 × 224 that is 2.25 → 0.9 GiB (measured peak) over the 200 steps of an eq. 4 training
step, without recomputing any convolution (gradient checkpointing recomputes all of them).

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

__all__ = ["euler_step"]


def euler_step(model: Any, state: tuple[Tensor, ...], w: Any, drive, alphas) -> tuple[Tensor, ...]:
    """``model.update(state, model._preactivation(state, w, input_drive=drive))`` as one node.

    ``w``: the materialised weights; ``drive``: the image's input drive of areas 0 and 1 (or
    None during blanks); ``alphas``: ``dt/τ`` of each area (tensors without gradient)."""
    depth = len(state)
    drive = tuple(drive) if drive is not None else ()
    tensors = (
        *state, *w.recurrent, *w.feedforward[1:], *w.skip, *w.bias, *drive,
    )  # fmt: skip
    return _EulerStep.apply(model, w, depth, len(drive), alphas, *tensors)


class _EulerStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, model, w, depth, n_drive, alphas, *tensors):
        state = tensors[:depth]
        drive = tensors[len(tensors) - n_drive :] if n_drive else None
        pre = model._preactivation(state, w, input_drive=drive)
        new = model.update(state, pre, alpha=alphas, noise=False)
        ctx.model, ctx.depth, ctx.n_drive, ctx.alphas = model, depth, n_drive, alphas
        ctx.w = w
        ctx.save_for_backward(*state)
        ctx.positive = [p > 0 for p in pre]  # σ' of the ReLU: one byte per unit
        return new

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grad_new):
        model, depth, w = ctx.model, ctx.depth, ctx.w
        state = ctx.saved_tensors
        areas = model.wiring.areas
        x = [F.relu(r) for r in state]
        grads_r = []
        d = []  # dL/d(drive) of each area
        for i, (g, r) in enumerate(zip(grad_new, state)):
            a = ctx.alphas[i]
            if g is None:
                g = torch.zeros_like(r)
            d.append(g * a * ctx.positive[i])
            grads_r.append(g * (1 - a))
        grad_x = [None] * depth
        grad_rec, grad_ff, grad_skip = [None] * depth, [None] * depth, {}

        def add(lst, i, value):
            lst[i] = value if lst[i] is None else lst[i] + value

        for i in range(depth):
            gx, gw = conv2d_backward(d[i], state[i], w.recurrent[i], 1, 1)
            grads_r[i] = grads_r[i] + gx
            grad_rec[i] = gw
            if i == 1:
                gx, gw = conv2d_backward(d[1], x[0], w.feedforward[1], 1, 1)
                add(grad_x, 0, gx)
                grad_ff[1] = gw
            elif i >= 2:
                ff, sk = areas[i].feedforward, areas[i].skip
                k = (i - 3) // 2
                if sk is None:
                    h = x[i - 1] + x[i - 2]
                else:
                    skipped = F.conv2d(x[i - 2], w.skip[k], None, sk.stride, sk.padding)
                    h = x[i - 1] + skipped
                gh, gw = conv2d_backward(d[i], h, w.feedforward[i], ff.stride, ff.padding)
                grad_ff[i] = gw
                add(grad_x, i - 1, gh)
                if sk is None:
                    add(grad_x, i - 2, gh)
                else:
                    gx, gw = conv2d_backward(gh, x[i - 2], w.skip[k], sk.stride, sk.padding)
                    add(grad_x, i - 2, gx)
                    grad_skip[k] = gw
        for i in range(depth):
            if grad_x[i] is not None:
                grads_r[i] = grads_r[i] + grad_x[i] * (state[i] > 0)
        grad_bias = [di.sum(0, keepdim=True) for di in d]
        grad_drive = [d[0], d[1]][: ctx.n_drive]
        grads = (
            *grads_r, *grad_rec, *grad_ff[1:], *(grad_skip.get(k) for k in range(len(w.skip))),
            *grad_bias, *grad_drive,
        )  # fmt: skip
        return (None, None, None, None, None, *grads)
