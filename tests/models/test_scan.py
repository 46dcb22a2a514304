"""The fused trial loop (``euler_scan``) against the step-by-step Euler update it replaces:
states and every gradient in float64, for each σ, scalar and per-neuron α, one network and K
networks (directly and under ``torch.func.vmap``), with and without noise."""

import pytest
import torch

from cordsneuro import ConvRNN, FullRNN, LowRankRNN, SparseRNN
from cordsneuro.dynamics import activate
from cordsneuro.models.scan import SCAN_ACTIVATIONS, euler_scan


def step_by_step(weight, offsets, state, alpha, activation):
    r, kept = state, []
    for c in offsets.unbind(0):
        r = r + alpha * (activate(c + r @ weight.transpose(-1, -2), activation) - r)
        kept.append(r)
    return torch.stack(kept)


def gradients(fn, tensors, probe):
    return torch.autograd.grad((fn(*tensors) * probe).sum(), tensors)


@pytest.mark.parametrize("activation", SCAN_ACTIVATIONS)
@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("per_neuron", [False, True])
def test_scan_equals_step_by_step_in_states_and_gradients(activation, k, per_neuron):
    g = torch.Generator().manual_seed(0)
    n, batch, steps = 6, 4, 9
    lead = (k,) if k else ()
    weight = (0.6 * torch.randn(*lead, n, n, generator=g, dtype=torch.float64)).requires_grad_()
    offsets = torch.randn(steps, *lead, batch, n, generator=g, dtype=torch.float64)
    state = torch.randn(*lead, batch, n, generator=g, dtype=torch.float64)
    offsets.requires_grad_(), state.requires_grad_()
    if per_neuron:
        shape = (k, 1, n) if k else (n,)
        alpha = 0.05 + 0.9 * torch.rand(*shape, generator=g, dtype=torch.float64)
    else:
        alpha = torch.tensor(0.2, dtype=torch.float64)

    ours = euler_scan(weight, offsets, state, alpha, activation)
    truth = step_by_step(weight, offsets, state, alpha, activation)
    torch.testing.assert_close(ours, truth, rtol=1e-12, atol=1e-12)
    probe = torch.randn(truth.shape, generator=g, dtype=torch.float64)
    tensors = (weight, offsets, state)
    for a, b in zip(
        gradients(lambda *x: euler_scan(*x, alpha, activation), tensors, probe),
        gradients(lambda *x: step_by_step(*x, alpha, activation), tensors, probe),
    ):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k", [None, 3])
def test_factored_weight_equals_its_product(k):
    """``(P, Q)`` runs as two thin products per step; states and gradients equal the dense
    step-by-step run with ``W = P Q``."""
    g = torch.Generator().manual_seed(3)
    lead = (k,) if k else ()
    n, rank, batch, steps = 7, 2, 3, 8
    p = torch.randn(*lead, n, rank, generator=g, dtype=torch.float64).requires_grad_()
    q = torch.randn(*lead, rank, n, generator=g, dtype=torch.float64).requires_grad_()
    offsets = torch.randn(steps, *lead, batch, n, generator=g, dtype=torch.float64)
    state = torch.randn(*lead, batch, n, generator=g, dtype=torch.float64)
    alpha = torch.tensor(0.3, dtype=torch.float64)
    probe = torch.randn(steps, *lead, batch, n, generator=g, dtype=torch.float64)
    ours = gradients(lambda p, q: euler_scan((p, q), offsets, state, alpha, "tanh"), (p, q), probe)
    truth = gradients(
        lambda p, q: step_by_step(p @ q, offsets, state, alpha, "tanh"), (p, q), probe
    )
    for a, b in zip(ours, truth):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_scan_under_vmap_equals_each_network_alone():
    g = torch.Generator().manual_seed(1)
    k, n, batch, steps = 3, 5, 2, 7
    weight = torch.randn(k, n, n, generator=g, dtype=torch.float64).requires_grad_()
    offsets = torch.randn(k, steps, batch, n, generator=g, dtype=torch.float64)
    alpha = torch.tensor([0.1, 0.3, 0.5], dtype=torch.float64)
    state = torch.zeros(batch, n, dtype=torch.float64)

    def one(w, c, a):
        return euler_scan(w, c, state, a, "tanh")

    batched = torch.func.vmap(one)(weight, offsets, alpha)
    batched.pow(2).sum().backward()
    for i in range(k):
        w = weight.detach()[i].clone().requires_grad_()
        alone = step_by_step(w, offsets[i], state, alpha[i], "tanh")
        torch.testing.assert_close(batched[i], alone, rtol=1e-12, atol=1e-12)
        alone.pow(2).sum().backward()
        torch.testing.assert_close(weight.grad[i], w.grad, rtol=1e-10, atol=1e-12)


def test_scan_rejects_an_activation_it_cannot_differentiate():
    with pytest.raises(ValueError, match="activation must be one of"):
        euler_scan(
            torch.eye(2), torch.zeros(3, 1, 2), torch.zeros(1, 2), torch.tensor(0.1), "prelu"
        )


MODELS = {
    "full": lambda: FullRNN(20, 3, 2, tau=torch.linspace(50, 150, 20), seed=0),
    "lowrank": lambda: LowRankRNN(20, 3, 2, rank=2, seed=0),
    "sparse": lambda: SparseRNN(20, 3, 2, p=0.3, seed=0),
    "conv": lambda: ConvRNN(2, 3, 3, 3, 2, kernel_size=3, seed=0),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("noise_std", [0.0, 0.3])
def test_models_trials_equal_their_step_path(name, noise_std):
    """``forward`` (the fused loop) against ``step`` called step by step with the same noise
    generators: rates, outputs and the gradient of every parameter, in float64."""
    from cordsneuro.dynamics import per_step_generators

    model = MODELS[name]().double()
    model.noise_std = noise_std
    inputs = torch.randn(4, 12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert model.scan_weight() is not None  # the fused loop is what is tested

    fused = model(inputs, generator=torch.Generator().manual_seed(5))
    loss_fused = fused.outputs.pow(2).sum() + fused.rates.sum()
    grads_fused = torch.autograd.grad(loss_fused, list(model.parameters()))

    noise_at = per_step_generators(torch.Generator().manual_seed(5), inputs.device)
    r, rates, outputs = model.initial_state(4), [], []
    for t in range(inputs.shape[1]):
        r = model.step(r, inputs[:, t], generator=noise_at(t) if noise_std else None)
        rates.append(r)
        outputs.append(model.readout(r))
    rates, outputs = torch.stack(rates, 1), torch.stack(outputs, 1)
    loss_steps = outputs.pow(2).sum() + rates.sum()
    grads_steps = torch.autograd.grad(loss_steps, list(model.parameters()))

    torch.testing.assert_close(fused.rates, rates, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fused.outputs, outputs, rtol=1e-12, atol=1e-12)
    for (pname, _), a, b in zip(model.named_parameters(), grads_fused, grads_steps):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=pname)
