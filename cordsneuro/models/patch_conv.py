"""A 2-D convolution whose weight gradient is one matrix product over the input patches, for
small grids on a CPU.

At batch 1 the deep areas of CordsNet are 14 × 14 and 7 × 7 grids of 256 and 512 channels.
There oneDNN's weight gradient runs far below a plain matrix product of the same multiply–adds
(7 × 7 × 512: 22 ms against 1.6 ms, measured on one core of a Xeon with AVX-512), which made
the weight gradients of those areas the largest cost of an eq. 4 training step; on 7 × 7 grids
its forward convolution also runs at about half the product's rate. :func:`patch_conv2d`
computes the weight gradient as

    grad_W = patches(x)ᵀ @ grad_out   (patches: every kernel-sized window, one row per output)

and, on grids of at most :data:`GEMM_FORWARD_MAX_POSITIONS` positions, the convolution itself
as ``patches(x) @ W`` and the input gradient as ``grad_out @ Wᵀ`` added back to the positions
of the patches (oneDNN's input gradient takes 7.9 ms there); elsewhere the library kernels.
The patches are taken again in the backward pass instead of being stored. Only the summation
order differs from ``F.conv2d`` (a test compares them in float64).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from cordsneuro._util import conv_output_size

__all__ = [
    "GEMM_FORWARD_MAX_POSITIONS",
    "PATCH_CONV_MAX_POSITIONS",
    "conv2d_backward",
    "output_positions",
    "patch_conv2d",
]

#: Output grids of at most this many positions (per image) take :func:`patch_conv2d` on a CPU
#: in CordsNet (the 14 × 14 and 7 × 7 areas at 224 × 224); on larger grids oneDNN's weight
#: gradient is as fast as the product or faster.
PATCH_CONV_MAX_POSITIONS = 196

#: Grids of at most this many positions also run the convolution and its input gradient as
#: products.
GEMM_FORWARD_MAX_POSITIONS = 64


def patch_conv2d(x: Tensor, weight: Tensor, stride: int = 1, padding: int = 1) -> Tensor:
    """``F.conv2d(x, weight, None, stride, padding)`` with the weight gradient (and, on small
    grids, the convolution) as one matrix product over patches.

    ``x``: ``(N, C_in, H, W)``; ``weight``: ``(C_out, C_in, k, k)``. Returns
    ``(N, C_out, H_out, W_out)`` in ``channels_last`` memory format."""
    return _PatchConv.apply(x, weight, stride, padding)


def _patches(x: Tensor, k: int, stride: int, padding: int) -> tuple[Tensor, int, int]:
    """Rows ``(N · H_out · W_out, k · k · C_in)``, ordered (tap row, tap column, channel)."""
    x = x.permute(0, 2, 3, 1)  # N H W C (a view for channels_last input)
    if padding:
        x = F.pad(x, (0, 0, padding, padding, padding, padding))
    x = x.contiguous()
    n, h, w, c = x.shape
    ho, wo = conv_output_size(h, k, stride), conv_output_size(w, k, stride)
    sn, sh, sw, sc = x.stride()
    windows = x.as_strided((n, ho, wo, k, k, c), (sn, sh * stride, sw * stride, sh, sw, sc))
    return windows.reshape(n * ho * wo, k * k * c), ho, wo


def _fold(cols: Tensor, shape: torch.Size, k: int, stride: int, padding: int) -> Tensor:
    """The adjoint of :func:`_patches`: add every row's entries back to the input positions
    they were taken from (the input gradient from the patches' gradient)."""
    n, c, h, w = shape
    ho, wo = conv_output_size(h, k, stride, padding), conv_output_size(w, k, stride, padding)
    taps = cols.view(n, ho, wo, k, k, c)
    grid = cols.new_zeros(n, h + 2 * padding, w + 2 * padding, c)
    for i in range(k):
        for j in range(k):
            rows = slice(i, i + stride * (ho - 1) + 1, stride)
            columns = slice(j, j + stride * (wo - 1) + 1, stride)
            grid[:, rows, columns, :] += taps[:, :, :, i, j, :]
    grid = grid[:, padding : padding + h, padding : padding + w, :]
    return grid.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)


def output_positions(x: Tensor, k: int, stride: int, padding: int) -> int:
    """Output positions per image of a ``k × k`` convolution of ``x``."""
    h, w = x.shape[-2:]
    return conv_output_size(h, k, stride, padding) * conv_output_size(w, k, stride, padding)


def _as_matrix(weight: Tensor) -> Tensor:
    """``(C_out, C_in, k, k)`` → ``(k · k · C_in, C_out)`` in the patches' order."""
    return weight.permute(2, 3, 1, 0).reshape(-1, weight.shape[0])


class _PatchConv(torch.autograd.Function):
    @staticmethod
    def forward(x, weight, stride, padding):
        k = weight.shape[-1]
        if output_positions(x, k, stride, padding) > GEMM_FORWARD_MAX_POSITIONS:
            return F.conv2d(x, weight, None, stride, padding)
        cols, ho, wo = _patches(x, k, stride, padding)
        out = cols @ _as_matrix(weight)  # (N · H_out · W_out, C_out)
        return out.view(x.shape[0], ho, wo, -1).permute(0, 3, 1, 2)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, stride, padding = inputs
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding

    @staticmethod
    def backward(ctx, grad_out):  # differentiable: Jacobian-vector products take a 2nd pass
        x, weight = ctx.saved_tensors
        return (
            *conv2d_backward(
                grad_out, x, weight, ctx.stride, ctx.padding,
                input_grad=ctx.needs_input_grad[0], weight_grad=ctx.needs_input_grad[1],
            ),
            None,
            None,
        )  # fmt: skip


def conv2d_backward(
    grad_out: Tensor,
    x: Tensor,
    weight: Tensor,
    stride: int,
    padding: int,
    *,
    input_grad: bool = True,
    weight_grad: bool = True,
) -> tuple[Tensor | None, Tensor | None]:
    """Gradients of ``F.conv2d(x, weight, None, stride, padding)`` with respect to ``x`` and
    ``weight`` given ``grad_out``: products over patches on a CPU for grids of at most
    :data:`PATCH_CONV_MAX_POSITIONS` (input gradient: :data:`GEMM_FORWARD_MAX_POSITIONS`)
    positions and 3 × 3 (or larger) kernels, the library kernel otherwise."""
    k = weight.shape[-1]
    positions = output_positions(x, k, stride, padding)
    small = x.device.type == "cpu" and k > 1
    grad_x = grad_weight = None
    rows = None
    if small and (weight_grad or positions <= GEMM_FORWARD_MAX_POSITIONS):
        rows = grad_out.permute(0, 2, 3, 1).reshape(-1, weight.shape[0])  # (N·H·W, C_out)
    gemm_input = small and positions <= GEMM_FORWARD_MAX_POSITIONS
    gemm_weight = small and positions <= PATCH_CONV_MAX_POSITIONS
    if input_grad and gemm_input:
        grad_x = _fold(rows @ _as_matrix(weight).T, x.shape, k, stride, padding)
    if weight_grad and gemm_weight:
        cols, _, _ = _patches(x, k, stride, padding)
        grad = (rows.T @ cols).view(weight.shape[0], k, k, weight.shape[1])
        grad_weight = grad.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    rest = [input_grad and not gemm_input, weight_grad and not gemm_weight, False]
    if any(rest):
        gx, gw, _ = torch.ops.aten.convolution_backward(
            grad_out, x, weight, None, [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], 1,
            rest,
        )  # fmt: skip
        grad_x = gx if rest[0] else grad_x
        grad_weight = gw if rest[1] else grad_weight
    return grad_x, grad_weight
