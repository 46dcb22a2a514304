"""A 2-D convolution whose weight gradient is one matrix product over the input patches, for
small grids of many channels on a CPU.

At batch 1 the deepest areas of CordsNet-R8 are 7 × 7 grids of 512 channels. There oneDNN's
weight gradient runs far below a plain matrix product of the same multiply–adds (22 ms against
1.6 ms, measured on one core of a Xeon with AVX-512), and its forward convolution and input
gradient at 60–70 % of the product's rate. :func:`patch_conv2d` computes the weight gradient as

    grad_W = patches(x)ᵀ @ grad_out   (patches: every kernel-sized window, one row per output)

and, for wide kernels on few rows (:func:`gemm_forward`), the convolution itself as
``patches(x) @ W`` and the input gradient as ``grad_out @ Wᵀ`` added back to the positions of
the patches; elsewhere, where oneDNN is as fast or faster (narrower kernels, larger grids or
batches), the library kernels (:func:`uses_products` says which). The patches are taken again
in the backward pass instead of being stored. Only the summation order differs from
``F.conv2d`` (a test compares them in float64).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from cordsneuro._util import conv_output_size

__all__ = [
    "GEMM_FORWARD_MAX_ROWS",
    "GEMM_FORWARD_MIN_CHANNELS",
    "PATCH_CONV_MAX_POSITIONS",
    "PATCH_WEIGHT_GRAD_MIN_CHANNELS",
    "conv2d",
    "conv2d_backward",
    "gemm_forward",
    "keep_forward_matrix",
    "output_positions",
    "patch_conv2d",
    "patch_weight_grad",
    "uses_products",
]

#: The weight gradient is a product over patches where the output grid has at most this many
#: positions per image and at least :data:`PATCH_WEIGHT_GRAD_MIN_CHANNELS` channels (the 7 × 7
#: areas of CordsNet at 224 × 224). With time steps stacked to 512 rows (see
#: :mod:`cordsneuro.models.cordsnet_step`), one core: 7 × 7 × 512 17 ms against oneDNN's 21 ms,
#: 4 × 4 × 512 16 against 34 ms; with 64 or 128 channels oneDNN is the faster (8 × 8 × 64:
#: 0.32 against 0.41 ms), and from 14 × 14 on as fast (the patches cost a copy).
PATCH_CONV_MAX_POSITIONS = 64
PATCH_WEIGHT_GRAD_MIN_CHANNELS = 256

#: The convolution and its input gradient run as products where the output has at most this
#: many rows (batch × positions) and at least :data:`GEMM_FORWARD_MIN_CHANNELS` channels.
#: Measured on one core (AVX-512), batch 1: oneDNN runs a 512-channel 3 × 3 convolution on
#: 7 × 7 at 2.0 ms, its input gradient at 2.3 ms, the products at 1.6 ms each (1.4 ms at the
#: core's peak); with 256 channels, 64 channels at 8 × 8, or 392 rows (batch 8 on 7 × 7) oneDNN
#: is the faster, by up to 2× (8 × 8 × 64: 40 µs against 78 µs).
GEMM_FORWARD_MAX_ROWS = 128
GEMM_FORWARD_MIN_CHANNELS = 512


def patch_weight_grad(positions: int, channels: int) -> bool:
    """Whether the weight gradient of a convolution with ``positions`` output positions per
    image and ``channels`` output channels is a product over patches."""
    return positions <= PATCH_CONV_MAX_POSITIONS and channels >= PATCH_WEIGHT_GRAD_MIN_CHANNELS


def uses_products(x: Tensor, weight: Tensor, stride: int, padding: int) -> bool:
    """Whether :func:`patch_conv2d` computes anything of this convolution as a product (else
    ``F.conv2d`` is the same, and cheaper to call): CPU, channels-last kernels, k > 1."""
    k = weight.shape[-1]
    if x.device.type != "cpu" or k == 1:
        return False
    if not weight.is_contiguous(memory_format=torch.channels_last):
        return False
    positions = output_positions(x, k, stride, padding)
    return patch_weight_grad(positions, weight.shape[0]) or gemm_forward(
        x.shape[0] * positions, weight.shape[0]
    )


def gemm_forward(rows: int, channels: int) -> bool:
    """Whether a convolution with ``rows`` output rows (batch × positions) and ``channels``
    output channels runs (and takes its input gradient) as a product over patches."""
    return rows <= GEMM_FORWARD_MAX_ROWS and channels >= GEMM_FORWARD_MIN_CHANNELS


def conv2d(x: Tensor, weight: Tensor, stride: int = 1, padding: int = 1) -> Tensor:
    """``F.conv2d(x, weight, None, stride, padding)``: :func:`patch_conv2d` where
    :func:`uses_products` says, the library kernel otherwise. ``x`` is cast to the kernel's
    dtype first (reduced-precision kernels, ``precision="bf16"``)."""
    x = x if x.dtype == weight.dtype else x.to(weight.dtype)
    if uses_products(x, weight, stride, padding):
        return patch_conv2d(x, weight, stride, padding)
    return F.conv2d(x, weight, None, stride, padding)


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


def keep_forward_matrix(weight: Tensor) -> Tensor:
    """Store on ``weight`` (and return it) the contiguous ``(k · k · C_in, C_out)`` matrix
    that the product forward multiplies by: that layout runs 20–30 % faster than the kernel's
    own (a transposed view). For kernels that are convolved many times and never changed, such
    as those the CordsNet fast path materialises once per simulation; a change of ``weight``
    in place (its version counter) drops the stored matrix. Only kernels that
    :func:`uses_products` may multiply (CPU, channels-last, wide) get one."""
    wide = gemm_forward(0, weight.shape[0])
    if (
        wide
        and weight.device.type == "cpu"
        and weight.is_contiguous(memory_format=torch.channels_last)
    ):
        with torch.no_grad():
            weight._cordsneuro_forward_matrix = (weight._version, _as_matrix(weight).contiguous())
    return weight


def _forward_matrix(weight: Tensor) -> Tensor:
    kept = getattr(weight, "_cordsneuro_forward_matrix", None)
    return kept[1] if kept is not None and kept[0] == weight._version else _as_matrix(weight)


class _PatchConv(torch.autograd.Function):
    @staticmethod
    def forward(x, weight, stride, padding):
        k = weight.shape[-1]
        rows = x.shape[0] * output_positions(x, k, stride, padding)
        if not gemm_forward(rows, weight.shape[0]):
            return F.conv2d(x, weight, None, stride, padding)
        cols, ho, wo = _patches(x, k, stride, padding)
        out = cols @ _forward_matrix(weight)  # (N · H_out · W_out, C_out)
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
    ``weight`` given ``grad_out``: products over patches on a CPU for 3 × 3 (or larger)
    kernels where :func:`patch_weight_grad` (input gradient: :func:`gemm_forward`) says, the
    library kernel otherwise."""
    k = weight.shape[-1]
    positions = output_positions(x, k, stride, padding)
    small = x.device.type == "cpu" and k > 1
    grad_x = grad_weight = None
    gemm_input = small and gemm_forward(x.shape[0] * positions, weight.shape[0])
    gemm_weight = small and patch_weight_grad(positions, weight.shape[0])
    if (input_grad and gemm_input) or (weight_grad and gemm_weight):
        rows = grad_out.permute(0, 2, 3, 1).reshape(-1, weight.shape[0])  # (N·H·W, C_out)
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
