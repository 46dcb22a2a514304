"""patch_conv2d: the same convolution and gradients as F.conv2d (float64, so that only the
summation order could differ)."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

import cordsneuro.models.patch_conv as patch_conv
from cordsneuro.models.patch_conv import patch_conv2d


@pytest.fixture(autouse=True, params=["products", "library"])
def _forward_path(request, monkeypatch):
    """Every test with the convolution and its gradients as products (as for CordsNet's
    512-channel areas) and through the library's kernels (as for narrow ones)."""
    channels = 1 if request.param == "products" else 10**9
    monkeypatch.setattr(patch_conv, "GEMM_FORWARD_MIN_CHANNELS", channels)
    monkeypatch.setattr(patch_conv, "PATCH_WEIGHT_GRAD_MIN_CHANNELS", channels)


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (1, 0), (2, 0)])
@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("batch", [1, 3])
def test_equals_conv2d_and_its_gradients(stride, padding, channels_last, batch):
    """9 × 8 inputs: stride 1 gives 56–72 output positions per image, stride 2 at most 20;
    at batch 3 stride 1 has more rows than the product forward takes (F.conv2d's)."""
    g = torch.Generator().manual_seed(stride * 10 + padding)
    x = torch.randn(batch, 6, 9, 8, generator=g, dtype=torch.float64)
    w = torch.randn(5, 6, 3, 3, generator=g, dtype=torch.float64)
    if channels_last:
        x, w = (
            x.contiguous(memory_format=torch.channels_last),
            w.contiguous(memory_format=torch.channels_last),
        )
    x.requires_grad_(True)
    w.requires_grad_(True)
    ours = patch_conv2d(x, w, stride, padding)
    reference = F.conv2d(x, w, None, stride, padding)
    assert ours.shape == reference.shape
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    seed = torch.randn(reference.shape, generator=g, dtype=torch.float64)
    ours_grads = torch.autograd.grad((ours * seed).sum(), (x, w))
    reference_grads = torch.autograd.grad((reference * seed).sum(), (x, w))
    for a, b in zip(ours_grads, reference_grads):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: patch_conv2d(a, b, 2, 1), (x, w))
    # twice differentiable (torch.autograd.functional.jvp differentiates the backward pass)
    assert torch.autograd.gradgradcheck(lambda a, b: patch_conv2d(a, b, 2, 1), (x, w))


def test_weight_only_and_input_only_gradients():
    x = torch.randn(1, 3, 7, 7, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    (gw,) = torch.autograd.grad(patch_conv2d(x, w).sum(), w)
    torch.testing.assert_close(gw, torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), w)[0])
    x.requires_grad_(True)
    (gx,) = torch.autograd.grad(patch_conv2d(x, w.detach()).sum(), x)
    torch.testing.assert_close(
        gx, torch.autograd.grad(F.conv2d(x, w.detach(), padding=1).sum(), x)[0]
    )
