"""Exact dense matrices of 2-D convolutions (Appendix B.1): a convolution on a given input grid
is a linear map, and :func:`conv_matrix` writes it out by scattering each kernel tap to its
(output, input) positions. Used by :class:`~cordsneuro.models.recurrent.ConvRNN` and by the
spectra of :mod:`cordsneuro.analyses.spectra` (which re-exports these functions)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from cordsneuro._util import conv_output_size, pair

__all__ = ["conv_matrix", "conv_output_shape"]

Padding = int | str | Sequence[int]


def _output_size(
    h: int, w: int, pad: tuple[int, ...], span: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int]:
    """Output height and width of a convolution; ``pad`` is (left, right, top, bottom) and
    ``span`` the dilated kernel extent minus one."""
    return (
        conv_output_size(h, span[0] + 1, stride[0], (pad[2], pad[3])),
        conv_output_size(w, span[1] + 1, stride[1], (pad[0], pad[1])),
    )


def _conv_geometry(
    kernel: Tensor | nn.Conv2d,
    input_shape: Sequence[int],
    stride: int | Sequence[int],
    padding: Padding,
    padding_mode: str,
    dilation: int | Sequence[int],
) -> tuple[
    Tensor, tuple[int, int], tuple[int, int], tuple[int, int, int, int], str, tuple[int, int]
]:
    """Normalise a convolution's description: kernel, (H, W), stride, F.pad-order padding
    ``(left, right, top, bottom)``, mode, dilation."""
    if isinstance(kernel, nn.Conv2d):
        conv = kernel
        if conv.groups != 1:
            raise ValueError(f"grouped convolutions are not supported (groups={conv.groups})")
        kernel, stride, dilation = conv.weight, conv.stride, conv.dilation
        padding = conv.padding if isinstance(conv.padding, str) else tuple(conv.padding)
        padding_mode = conv.padding_mode
    if not isinstance(kernel, Tensor) or kernel.ndim != 4:
        raise ValueError(
            "kernel must be a (C_out, C_in, kh, kw) tensor or an nn.Conv2d "
            f"(got {type(kernel).__name__} of shape {tuple(getattr(kernel, 'shape', ()))})"
        )
    if len(input_shape) != 2 or min(int(s) for s in input_shape) < 1:
        raise ValueError(
            f"input_shape must be (height, width) with positive sizes (got {input_shape!r})"
        )
    h, w = int(input_shape[0]), int(input_shape[1])
    stride, dilation = pair(stride, "stride", 1), pair(dilation, "dilation", 1)
    if padding_mode not in ("zeros", "circular"):
        raise ValueError(f"padding_mode must be 'zeros' or 'circular' (got {padding_mode!r})")
    kh, kw = kernel.shape[2:]
    span_h, span_w = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError("padding='same' needs stride 1")
        pad = (span_w // 2, span_w - span_w // 2, span_h // 2, span_h - span_h // 2)
    elif padding == "valid":
        pad = (0, 0, 0, 0)
    elif isinstance(padding, int) and not isinstance(padding, bool):
        pad = (padding,) * 4
    elif isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) == 2:
        pad = (int(padding[1]), int(padding[1]), int(padding[0]), int(padding[0]))
    elif isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) == 4:
        pad = tuple(int(p) for p in padding)
    else:
        raise ValueError(
            "padding must be an int, (pad_h, pad_w), (left, right, top, bottom) as in F.pad, "
            f"'same' or 'valid' (got {padding!r})"
        )
    if min(pad) < 0:
        raise ValueError(f"padding must be >= 0 (got {padding!r})")
    h_out, w_out = _output_size(h, w, pad, (span_h, span_w), stride)
    if h_out < 1 or w_out < 1:
        raise ValueError(f"the kernel does not fit the padded input {h}×{w} (padding {pad})")
    return kernel, (h, w), stride, pad, padding_mode, dilation


def conv_output_shape(
    kernel: Tensor | nn.Conv2d,
    input_shape: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    padding_mode: str = "zeros",
    dilation: int | Sequence[int] = 1,
) -> tuple[int, int, int]:
    """``(C_out, H_out, W_out)`` of the convolution on an ``input_shape = (H, W)`` grid."""
    kernel, (h, w), stride, pad, _, dilation = _conv_geometry(
        kernel, input_shape, stride, padding, padding_mode, dilation
    )
    kh, kw = kernel.shape[2:]
    span = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
    return (kernel.shape[0], *_output_size(h, w, pad, span, stride))


def conv_matrix(
    kernel: Tensor | nn.Conv2d,
    input_shape: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    padding_mode: str = "zeros",
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """Exact dense matrix of a 2-D convolution (Appendix B.1, eq. 1–2, with channels).

    Built by scattering each kernel tap to its (output, input) positions, so its cost is the
    number of non-zeros, not one forward pass per unit vector. Rows are output neurons and
    columns input neurons, both flattened in ``(channel, row, column)`` order, the order of
    ``tensor.reshape(batch, -1)`` on ``(batch, C, H, W)``.

    Parameters
    ----------
    kernel : Tensor or nn.Conv2d
        ``(C_out, C_in, kh, kw)`` weights, or a module (its stride, padding, dilation and
        padding mode are used; bias is ignored: the matrix is the linear part).
    input_shape : (int, int)
        ``(H, W)`` of the input grid.
    stride, dilation : int or (int, int)
    padding : int, (pad_h, pad_w), (left, right, top, bottom), "same" or "valid"
        The 4-tuple follows :func:`torch.nn.functional.pad` (asymmetric padding of even kernels,
        as :class:`~cordsneuro.models.recurrent.ConvRNN` uses).
    padding_mode : {"zeros", "circular"}

    Returns
    -------
    Tensor
        ``(C_out·H_out·W_out, C_in·H·W)``, dtype and device of the kernel (differentiable in it).
    """
    kernel, (h, w), stride, pad, mode, dilation = _conv_geometry(
        kernel, input_shape, stride, padding, padding_mode, dilation
    )
    c_out, c_in, kh, kw = kernel.shape
    _, h_out, w_out = conv_output_shape(
        kernel, (h, w), stride=stride, padding=pad, dilation=dilation
    )
    device = kernel.device
    oy = torch.arange(h_out, device=device)
    ox = torch.arange(w_out, device=device)
    ty = torch.arange(kh, device=device)
    tx = torch.arange(kw, device=device)
    # input coordinate of every (tap, output position): (kh, kw, H_out, W_out)
    iy = (oy[None, :] * stride[0] + ty[:, None] * dilation[0] - pad[2])[:, None, :, None]
    ix = (ox[None, :] * stride[1] + tx[:, None] * dilation[1] - pad[0])[None, :, None, :]
    iy, ix = torch.broadcast_tensors(iy, ix)
    if mode == "circular":
        iy, ix = iy % h, ix % w
        valid = torch.ones_like(iy, dtype=torch.bool)
    else:
        valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    out_pix = (oy[:, None] * w_out + ox[None, :]).expand(kh, kw, h_out, w_out)[valid]
    in_pix = (iy * w + ix)[valid]
    tap = (ty[:, None] * kw + tx[None, :])[:, :, None, None].expand(kh, kw, h_out, w_out)[valid]
    values = kernel.reshape(c_out, c_in, kh * kw)[:, :, tap]  # (C_out, C_in, entries)
    matrix = kernel.new_zeros(c_out, h_out * w_out, c_in, h * w)
    index = (
        torch.arange(c_out, device=device)[:, None, None],
        out_pix[None, None, :],
        torch.arange(c_in, device=device)[None, :, None],
        in_pix[None, None, :],
    )
    matrix = matrix.index_put(index, values, accumulate=True)
    return matrix.reshape(c_out * h_out * w_out, c_in * h * w)
