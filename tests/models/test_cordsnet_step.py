"""The fused CordsNet step (one autograd node per Euler step, backward written out) against
autograd's own backward pass through the same operations, in float64."""

from __future__ import annotations

import pytest
import torch

import cordsneuro.models.cordsnet_engine as engine
from cordsneuro.models import CordsNet, Epoch
from cordsneuro.training.vision import cordsnet_training_loss


def _gradients(model, fused: bool, monkeypatch, **kwargs):
    monkeypatch.setattr(engine, "FUSED_STEP", fused)
    model.zero_grad()
    model._spontaneous_cache.clear()
    g = torch.Generator().manual_seed(1)
    images = torch.randn(2, 3, 32, 32, generator=g, dtype=torch.float64)
    trajectory = model.simulate(
        images, [Epoch.image(8 * model.dt), Epoch.blank(4 * model.dt)],
        record_areas="all", **kwargs,
    )  # fmt: skip
    seed = torch.Generator().manual_seed(2)
    loss = (trajectory.outputs * torch.randn(trajectory.outputs.shape, generator=seed,
            dtype=torch.float64)).sum()  # fmt: skip
    for rates in trajectory.rates:
        loss = loss + (rates**2).mean()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}, trajectory


@pytest.mark.parametrize("depth", [2, 4, 8])
@pytest.mark.parametrize("checkpoint_segment", [None, 3])
def test_fused_step_gives_autograds_states_and_gradients(depth, checkpoint_segment, monkeypatch):
    model = CordsNet(depth, num_classes=5, image_size=32, seed=0).double()
    with torch.no_grad():
        for b in model.area_bias:
            b.normal_(0, 0.1, generator=torch.Generator().manual_seed(3))
    ours, a = _gradients(model, True, monkeypatch, checkpoint_segment=checkpoint_segment)
    reference, b = _gradients(model, False, monkeypatch, checkpoint_segment=checkpoint_segment)
    for x, y in zip(a.rates, b.rates):
        assert torch.equal(x, y)
    _assert_close(ours, reference)


def _assert_close(ours: dict, reference: dict) -> None:
    assert set(ours) == set(reference)
    for name, grad in ours.items():
        scale = reference[name].abs().max().clamp_min(1e-300)
        assert float((grad - reference[name]).abs().max() / scale) < 1e-10, name


@pytest.mark.parametrize("passes", [1, 2])
def test_eq4_training_loss_gradients_match(passes, monkeypatch):
    """The eq. 4 loss of a training step; with ``passes=2`` a retained graph is
    backpropagated twice (twice the gradients)."""
    model = CordsNet(2, num_classes=5, image_size=32, seed=0).double()
    images = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64)  # fmt: skip
    grads = []
    for fused in (True, False):
        monkeypatch.setattr(engine, "FUSED_STEP", fused)
        model.zero_grad()
        loss = cordsnet_training_loss(model, images, torch.tensor([3]))
        for k in range(passes):
            loss.backward(retain_graph=k < passes - 1)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    _assert_close(*grads)
