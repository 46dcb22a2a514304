"""The dynamical core against analytic truth (paper eq. 2, 6, 7, 9)."""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from cordsneuro import FullRNN
from cordsneuro.dynamics import (
    DynamicalRNN,
    activate,
    activation_derivative,
    register_model,
)


def linear_net(n=12, dt=1.0, tau=100.0, gain=0.8, seed=0):
    model = FullRNN(n, 2, 1, gain=gain, activation="identity", dt=dt, tau=tau, seed=seed).double()
    with torch.no_grad():
        model.bias.copy_(torch.linspace(-0.5, 0.5, n, dtype=torch.float64))
    return model


def analytic_linear(model, r0, h, t_ms):
    """eq. 6: r(t) = e^{At} r0 + A^{-1} (e^{At} - I) c, with A = (W - I)/τ, c = (b + W_inp h)/τ."""
    w = model.recurrent_matrix().detach().numpy()
    n = w.shape[0]
    tau = float(model.tau)
    a = (w - np.eye(n)) / tau
    c = (model.bias.detach().numpy() + model.w_inp.detach().numpy() @ h) / tau
    e = scipy.linalg.expm(a * t_ms)
    return e @ r0 + np.linalg.solve(a, (e - np.eye(n)) @ c)


def test_linear_euler_converges_to_analytic_solution_eq6():
    rng = np.random.default_rng(1)
    r0 = rng.normal(size=12)
    h = np.array([0.3, -0.7])
    t_total = 400.0
    errors = []
    for dt in (8.0, 4.0, 2.0, 1.0):
        model = linear_net(dt=dt)
        n_steps = int(round(t_total / dt))
        inputs = torch.tensor(h).expand(1, n_steps, 2)
        state = torch.tensor(r0)[None]
        with torch.no_grad():
            traj = model(inputs, state=state)
        exact = analytic_linear(model, r0, h, t_total)
        errors.append(np.abs(traj.final_state[0].numpy() - exact).max())
    errors = np.array(errors)
    # forward Euler is first order: halving dt halves the error
    ratios = errors[:-1] / errors[1:]
    assert np.all(ratios > 1.8) and np.all(ratios < 2.2), (errors, ratios)
    assert errors[-1] < 5e-3


def test_linear_steady_state_eq7():
    model = linear_net(gain=0.6, dt=10.0)
    h = np.array([1.0, 0.5])
    w = model.recurrent_matrix().detach().numpy()
    expected = np.linalg.solve(
        np.eye(12) - w, model.bias.detach().numpy() + model.w_inp.detach().numpy() @ h
    )
    with torch.no_grad():
        traj = model(torch.tensor(h).expand(1, 3000, 2))
    np.testing.assert_allclose(traj.final_state[0].numpy(), expected, rtol=1e-9, atol=1e-9)


def test_velocity_is_the_vector_field():
    model = linear_net()
    r = torch.randn(3, 12, dtype=torch.float64)
    h = torch.randn(3, 2, dtype=torch.float64)
    w = model.recurrent_matrix()
    expected = (-r + r @ w.T + model.bias + h @ model.w_inp.T) / 100.0
    torch.testing.assert_close(model.velocity(r, h), expected)
    # one Euler step is r + dt * velocity
    torch.testing.assert_close(model.step(r, h), r + model.dt * expected)


def test_per_neuron_tau():
    tau = torch.linspace(20.0, 200.0, 12)
    model = FullRNN(12, 1, 1, tau=tau, dt=10.0, activation="identity", gain=0.0, seed=0)
    with torch.no_grad():
        model.bias.fill_(1.0)
    r = torch.zeros(1, 12)
    # with W = 0, one step from zero gives α = dt / τ per neuron
    torch.testing.assert_close(model.step(r)[0], 10.0 / tau)


def test_noise_stationary_variance_follows_documented_scaling():
    """With W = 0 and identity σ, r_{t+1} = (1-α) r + α σ sqrt(2/α) ξ has stationary variance
    2σ²/(2-α): close to σ² and nearly independent of dt, as documented."""
    sigma = 0.3
    for dt, tau in ((2.0, 100.0), (50.0, 100.0)):
        model = FullRNN(
            200, 1, 1, gain=0.0, activation="identity", noise_std=sigma, dt=dt, tau=tau, seed=0
        )
        alpha = dt / tau
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            traj = model(
                n_steps=int(20 * tau / dt) + 400, batch_size=50, generator=gen, record=True
            )
        late = traj.rates[:, -400:].reshape(-1)
        expected = 2 * sigma**2 / (2 - alpha)
        assert abs(late.var().item() - expected) / expected < 0.05


def test_noise_reproducible_with_generator():
    model = FullRNN(20, 1, 1, noise_std=0.1, seed=0)
    runs = [
        model(n_steps=30, generator=torch.Generator().manual_seed(5)).final_state for _ in range(2)
    ]
    torch.testing.assert_close(runs[0], runs[1])


@pytest.mark.parametrize("name", ["relu", "tanh", "softplus", "identity", "prelu"])
def test_activation_derivative_matches_autograd(name):
    x = torch.linspace(-2, 2, 41, dtype=torch.float64).requires_grad_()
    y = activate(x, name, 0.3)
    (grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(activation_derivative(x.detach(), name, 0.3)[x != 0], grad[x != 0])


def test_prelu_slope_interpolates_identity_and_relu():
    x = torch.linspace(-1, 1, 11)
    torch.testing.assert_close(activate(x, "prelu", 1.0), x)
    torch.testing.assert_close(activate(x, "prelu", 0.0), torch.relu(x))


@register_model
class _TwoAreas(DynamicalRNN):
    """A two-area chain for testing tuple states: area 2 is driven by area 1."""

    def __init__(self, tau=(10.0, 20.0), dt=2.0):
        super().__init__(tau=list(tau), dt=dt, activation="tanh")
        self.state_shapes = ((3,), (2, 2))
        self._init_time_constants()
        self.w1 = nn.Parameter(torch.randn(3, 3) * 0.5)
        self.w12 = nn.Parameter(torch.randn(4, 3))

    def drive(self, state, inputs):
        r1, r2 = state
        d1 = r1 @ self.w1.T + (0 if inputs is None else inputs)
        d2 = (r1 @ self.w12.T).reshape(-1, 2, 2)
        return d1, d2

    def readout(self, state):
        return state[1].reshape(state[1].shape[0], -1)


def test_tuple_state_flatten_roundtrip_and_per_area_tau():
    torch.manual_seed(0)
    model = _TwoAreas()
    state = (torch.randn(4, 3), torch.randn(4, 2, 2))
    flat = model.flatten_state(state)
    assert flat.shape == (4, 7)
    back = model.unflatten_state(flat)
    for a, b in zip(state, back):
        torch.testing.assert_close(a, b)
    assert model.alpha[0].item() == pytest.approx(0.2) and model.alpha[1].item() == pytest.approx(
        0.1
    )
    traj = model(torch.randn(4, 6, 3))
    assert traj.rates[0].shape == (4, 6, 3) and traj.rates[1].shape == (4, 6, 2, 2)
    assert traj.outputs.shape == (4, 6, 4)
    # synchronous update: area 2 at step 1 reads area 1's state *before* the step
    s1 = model.step(state, torch.zeros(4, 3))
    d2 = (state[0] @ model.w12.T).reshape(-1, 2, 2)
    torch.testing.assert_close(s1[1], state[1] + 0.1 * (torch.tanh(d2) - state[1]))


def test_continuing_from_final_state_equals_one_long_run():
    model = FullRNN(30, 2, 1, gain=1.5, seed=3)
    x = torch.randn(2, 40, 2)
    whole = model(x)
    first = model(x[:, :25])
    second = model(x[:, 25:], state=first.final_state)
    torch.testing.assert_close(second.rates, whole.rates[:, 25:])


def test_gradient_checkpointing_over_time_gives_same_values_and_gradients():
    model = FullRNN(40, 2, 2, gain=1.2, seed=1)
    x = torch.randn(3, 37, 2)
    plain = model(x)
    plain.outputs.pow(2).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    ckpt = model(x, checkpoint_segment=8)
    ckpt.outputs.pow(2).sum().backward()
    torch.testing.assert_close(ckpt.outputs, plain.outputs)
    for g, p in zip(grads, model.parameters()):
        torch.testing.assert_close(p.grad, g)


def test_checkpointing_recomputes_every_segment_but_the_last():
    model = FullRNN(6, 2, 2, seed=1)
    calls = []

    def step_fn(state, t):
        calls.append(t)
        return (torch.tanh(state[0]) + model.w_inp.sum(),)  # tanh keeps its output

    state, _ = model.integrate(step_fn, (torch.ones(2, 6),), 37, checkpoint_segment=8)
    state[0].sum().backward()
    assert len(calls) == 37 + 32  # segments 0-7, …, 24-31 recomputed; 32-36 kept


def test_import_cordsneuro_imports_no_heavy_dependency():
    code = (
        "import sys; import cordsneuro; "
        "print(sorted(m for m in ('torch', 'neurogym', 'torchvision', 'sklearn', 'scipy', "
        "'xarray') if m in sys.modules)); "
        "print(sorted(m for m in sys.modules if m.startswith('cordsneuro')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, ours = out.stdout.strip().splitlines()
    assert heavy == "[]"
    assert ours == "['cordsneuro']"


def test_float64_inputs_are_cast_to_the_model_dtype():
    model = FullRNN(8, 3, 2, seed=0)  # float32 weights
    inputs = torch.randn(2, 5, 3, dtype=torch.float64)
    traj = model(inputs)
    assert traj.outputs.dtype == torch.float32
    torch.testing.assert_close(traj.outputs, model(inputs.float()).outputs, rtol=0, atol=0)
    from_numpy = model(inputs.numpy())  # a float64 NumPy array, as a gymnasium env gives
    torch.testing.assert_close(from_numpy.outputs, traj.outputs, rtol=0, atol=0)


def test_meta_is_saved_and_loaded_in_a_fresh_process(tmp_path):
    model = FullRNN(6, 2, 3, seed=0)
    model.meta = {"classes": ["a", "b", "c"], "dataset": "toy"}
    model.save(tmp_path / "m")
    code = (
        "import sys, json, cordsneuro; m = cordsneuro.load(sys.argv[1]); "
        "print(type(m).__name__, json.dumps(m.meta))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "m")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 1)[0] == "FullRNN"
    assert out.stdout.split(" ", 1)[1].strip() == '{"classes": ["a", "b", "c"], "dataset": "toy"}'


def test_meta_must_be_json(tmp_path):
    model = FullRNN(6, 2, 3, seed=0)
    model.meta = {"bad": object()}
    with pytest.raises(TypeError, match="meta"):
        model.save(tmp_path / "m")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tau": 0.0}, "tau"),
        ({"tau": -5.0}, "tau"),
        ({"dt": 0.0}, "dt"),
        ({"dt": -1.0}, "dt"),
        ({"dt": 30.0, "tau": 20.0}, "dt / tau"),
        ({"activation": "sigmoidish"}, "activation"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"tau": torch.ones(7)}, "tau"),
    ],
)
def test_bad_dynamics_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FullRNN(10, 1, 1, **kwargs)


def test_bad_inputs_raise():
    model = FullRNN(10, 2, 1, seed=0)
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, time, 2\)"):
        model(torch.randn(1, 5, 3))
    with pytest.raises(ValueError, match="inputs must be finite"):
        model(torch.tensor([[[0.0, math.nan]]]))
    with pytest.raises(ValueError, match="inputs must be finite"):
        model(torch.tensor([[[0.0, math.inf]]]))
    with pytest.raises(ValueError, match="n_steps"):
        model()
    with pytest.raises(ValueError, match="state must have shape"):
        model(torch.randn(1, 5, 2), state=torch.zeros(1, 9))
    with pytest.raises(ValueError, match="batch size"):
        model(torch.randn(2, 5, 2), state=torch.zeros(3, 10))


def test_noisy_run_with_gradient_checkpointing_matches_plain_run():
    """Each step draws its noise from its own generator (derived once from `generator`), so a
    recomputed segment sees the same noise as the forward pass."""
    model = FullRNN(30, 2, 2, gain=1.2, noise_std=0.2, seed=1)
    x = torch.randn(3, 25, 2)
    grads, outputs = [], []
    for segment in (None, 6):
        model.zero_grad()
        traj = model(x, checkpoint_segment=segment, generator=torch.Generator().manual_seed(9))
        traj.outputs.pow(2).sum().backward()
        outputs.append(traj.outputs.detach())
        grads.append([p.grad.clone() for p in model.parameters()])
    torch.testing.assert_close(outputs[0], outputs[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_trajectory_detach_and_numpy_for_plotting():
    model = FullRNN(5, 2, 1, seed=0)
    traj = model(torch.randn(2, 4, 2))
    assert traj.rates.requires_grad
    detached = traj.detach()
    assert not detached.rates.requires_grad and not detached.outputs.requires_grad
    torch.testing.assert_close(detached.rates, traj.rates)
    arrays = traj.numpy()
    assert isinstance(arrays.rates, np.ndarray) and arrays.rates.shape == (2, 4, 5)
    assert isinstance(arrays.times, np.ndarray) and arrays.times.tolist() == traj.times.tolist()
    np.testing.assert_array_equal(arrays.final_state, traj.final_state.detach().numpy())
