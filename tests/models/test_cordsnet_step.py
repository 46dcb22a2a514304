"""The fused CordsNet step (one autograd node per Euler step, backward written out) against
autograd's own backward pass through the same operations, in float64."""

from __future__ import annotations

import pytest
import torch

import cordsneuro.models.cordsnet_engine as engine
from cordsneuro.models import CordsNet, Epoch
from cordsneuro.models.cordsnet_step import pooled_rates, rates_stay_nonnegative
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
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return grads, trajectory


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


@pytest.mark.parametrize("start", ["zero", "negative", "negative zero"])
def test_fused_step_from_any_start(start, monkeypatch):
    """The ReLU's mask lives in the kept rates' sign bits only when no rate can have one set.
    From zeros with zero biases, deep areas see a drive of exactly +0.0 (σ' = 0, as in
    autograd); negative rates and −0.0 in the start keep the mask in bytes."""
    model = CordsNet(4, num_classes=5, image_size=32, seed=0).double()
    with torch.no_grad():
        for b in model.area_bias:
            b.zero_()
    state = model.initial_state(2)
    if start == "negative":
        g = torch.Generator().manual_seed(4)
        state = tuple(-torch.rand(r.shape, generator=g, dtype=r.dtype) for r in state)
    elif start == "negative zero":
        state = tuple(torch.full_like(r, -0.0) for r in state)
    assert rates_stay_nonnegative(state, model.alpha) == (start == "zero")
    ours, a = _gradients(model, True, monkeypatch, start=state)
    reference, b = _gradients(model, False, monkeypatch, start=state)
    for x, y in zip(a.rates, b.rates):
        assert torch.equal(x, y)
    _assert_close(ours, reference)


def test_rates_with_alpha_above_one_may_turn_negative():
    state = (torch.rand(1, 2, 3, 3),)
    assert rates_stay_nonnegative(state, (torch.tensor(0.2),))
    assert not rates_stay_nonnegative(state, (torch.tensor(1.5),))
    assert not rates_stay_nonnegative(state, (torch.tensor([0.2, 0.0]),))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_sign_bit_below_a_drive_says_whether_it_is_positive(dtype):
    """The ReLU's derivative is stored as the sign bit of a float below the drive p: clear
    exactly where p > 0, for ±0.0 and the smallest normals too; with ``flushed`` (no positive
    subnormal can occur) it is p − tiny, otherwise the float just below p."""
    from cordsneuro.models.cordsnet_step import _below

    tiny = torch.finfo(dtype).tiny
    normal = torch.tensor([0.0, -0.0, tiny, 2 * tiny, -tiny, 1.0, -1.0, 3e-7, -3e-7], dtype=dtype)
    subnormal = torch.tensor([tiny / 4, -tiny / 4], dtype=dtype)
    for p, flushed in ((normal, True), (normal, False), (subnormal, False)):
        assert torch.equal(~torch.signbit(_below(p, flushed)), p > 0)


def test_pooled_rates_gradient():
    g = torch.Generator().manual_seed(5)
    last, second = (torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64,
                    requires_grad=True) for _ in range(2))  # fmt: skip
    assert torch.autograd.gradcheck(pooled_rates, (last, second))
    expected = (torch.relu(last) + torch.relu(second)).mean((2, 3))
    assert torch.equal(pooled_rates(last, second), expected)


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
    images = _image()
    grads = []
    for fused in (True, False):
        monkeypatch.setattr(engine, "FUSED_STEP", fused)
        model.zero_grad()
        loss = cordsnet_training_loss(model, images, torch.tensor([3]))
        for k in range(passes):
            loss.backward(retain_graph=k < passes - 1)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    _assert_close(*grads)


def test_an_interrupted_backward_pass_leaves_the_next_one_exact(monkeypatch):
    """Kernel gradients are summed over the steps of one backward pass and returned by the
    first step. A pass that fails halfway (here a hook raises at a middle step) never
    reaches it; a second pass through the same graph must not count the first one's steps."""
    model = CordsNet(8, num_classes=5, image_size=32, seed=0).double()
    images = _image()
    grads = []
    for fused in (True, False):
        monkeypatch.setattr(engine, "FUSED_STEP", fused)
        model.zero_grad()
        trajectory = model.simulate(images, [Epoch.image(6 * model.dt)], record_steps=[-1])
        loss = trajectory.outputs.sum() + sum((r**2).sum() for r in trajectory.final_state)
        if fused:
            later = [n for n in _nodes(loss.grad_fn) if "EulerStep" in n.name()
                     and any("EulerStep" in m.name() for m in _parents(n))]  # fmt: skip
            assert len(later) == 5  # steps 1 … 5 (step 0 has no step before it)

            _interrupt_once(later[2])
            with pytest.raises(RuntimeError, match="interrupted"):
                loss.backward(retain_graph=True)
            model.zero_grad()
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    _assert_close(*grads)


def _interrupt_once(node) -> None:
    raised = []

    def interrupt(grad_outputs):
        if not raised:
            raised.append(True)
            raise RuntimeError("interrupted")

    node.register_prehook(interrupt)


def _image():
    g = torch.Generator().manual_seed(0)
    return torch.randn(1, 3, 32, 32, generator=g, dtype=torch.float64)


def _parents(node):
    return [m for m, _ in node.next_functions if m is not None]


def _nodes(root):
    seen, todo = {}, [root]
    while todo:
        node = todo.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            todo.extend(_parents(node))
    return list(seen.values())


def test_frozen_kernels_get_no_gradient_and_the_others_the_right_one(monkeypatch):
    model = CordsNet(4, num_classes=5, image_size=32, seed=0).double()
    for kernel in model.recurrent.parameters():
        kernel.requires_grad_(False)
    grads = []
    for fused in (True, False):
        grad, _ = _gradients(model, fused, monkeypatch)
        grads.append(grad)
    assert not any(n.startswith("recurrent.") for n in grads[0])
    assert any(n.startswith("feedforward.") for n in grads[0])
    _assert_close(*grads)
