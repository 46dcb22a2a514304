"""Shared helpers of cordsneuro._util that carry behaviour of their own."""

from __future__ import annotations

import pytest
import torch

from cordsneuro._util import flush_denormal, flushing_denormals
from cordsneuro.models import CordsNet, Epoch

SMALLEST_NORMAL = torch.finfo(torch.float32).tiny


def _subnormal_share(x: torch.Tensor) -> float:
    return float(((x != 0) & (x.abs() < SMALLEST_NORMAL)).float().mean())


@pytest.mark.parametrize("outside", [False, True])
def test_flush_denormal_flushes_inside_and_restores_the_mode(outside):
    if not torch.set_flush_denormal(outside) and outside:
        pytest.skip("this CPU cannot flush subnormals")
    try:
        tiny = torch.tensor([1e-30])
        assert flushing_denormals() is outside
        with flush_denormal():
            assert float(tiny * 1e-10) == 0.0  # 1e-40 is subnormal in fp32: flushed
        assert flushing_denormals() is outside
        assert (float(tiny * 1e-10) == 0.0) is outside
    finally:
        torch.set_flush_denormal(False)


def test_cordsnet_simulation_flushes_rates_decaying_into_subnormals():
    """A long blank after an image: rates decaying by (1 − α) per step pass below 1.2e-38
    after a few hundred steps. The step-by-step path (no flushing) keeps them as subnormals;
    the simulation flushes them to 0, and agrees with it to 1e-6 elsewhere."""
    torch.set_flush_denormal(False)
    model = CordsNet(2, num_classes=4, image_size=16, seed=0)
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    n_image, n_blank = 10, 500
    frames = torch.cat(
        [images[:, None].expand(-1, n_image, -1, -1, -1), torch.zeros(2, n_blank, 3, 16, 16)], 1
    )
    with torch.no_grad():
        fast = model.simulate(
            images, [Epoch.image(10 * model.dt), Epoch.blank(n_blank * model.dt)],
            start="zero", record_areas="all",
        )  # fmt: skip
        plain = model(frames, fast=False, state=model.initial_state(2))
    assert flushing_denormals() is False
    assert _subnormal_share(plain.rates[0][:, -1]) > 0.01
    assert _subnormal_share(fast.rates[0][:, -1]) == 0.0
    assert torch.allclose(fast.rates[0][:, -1], plain.rates[0][:, -1], rtol=0, atol=1e-30)
    assert torch.allclose(fast.outputs, plain.outputs, rtol=1e-5, atol=1e-6)


def test_cordsnet_backward_is_flushed_and_the_mode_restored_after(monkeypatch):
    """The backward pass through a simulation flushes too: every input gradient of the
    convolutions (here all products over patches, as for the 512-channel areas of R8 on a
    CPU) is computed with flushing on; the mode found before is back once the backward pass
    is done."""
    from cordsneuro.models import patch_conv
    from cordsneuro.training.vision import cordsnet_training_loss

    monkeypatch.setattr(patch_conv, "GEMM_FORWARD_MIN_CHANNELS", 1)
    seen: list[bool] = []
    fold = patch_conv._fold
    monkeypatch.setattr(
        patch_conv, "_fold", lambda *a: (seen.append(flushing_denormals()), fold(*a))[1]
    )
    torch.set_flush_denormal(False)
    model = CordsNet(2, num_classes=4, image_size=16, seed=0)
    images = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for segment in (None, 10):
        loss = cordsnet_training_loss(model, images, torch.tensor([2]), checkpoint_segment=segment)
        assert flushing_denormals() is False
        seen.clear()
        loss.backward()
        assert len(seen) > 100 and all(seen)
        assert flushing_denormals() is False
