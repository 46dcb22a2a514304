"""Fixed points (eq. 7, Sussillo & Barak) and attractor geometry (Appendix B.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cordsneuro.analyses.fixed_points import describe_attractor, find_fixed_points, sample_states
from cordsneuro.models.recurrent import ConvRNN, FullRNN


def test_fixed_point_of_linear_network_is_exact():
    # identity activation: r* = (I − W)^{-1} (b + W_inp h)  (eq. 7)
    model = FullRNN(60, 3, 1, gain=0.7, seed=0, activation="identity")
    with torch.no_grad():
        model.bias.copy_(0.3 * torch.randn(60, generator=torch.Generator().manual_seed(1)))
    h = torch.tensor([0.5, -1.0, 2.0])
    w = model.weight.detach().double()
    truth = torch.linalg.solve(
        torch.eye(60, dtype=torch.float64) - w,
        model.bias.double() + model.w_inp.double() @ h.double(),
    )
    start = sample_states(model, 20, inputs=h, noise_std=0.5, seed=0)
    fp = find_fixed_points(model, start, h, q_tol=1e-20, n_iter=200)
    assert len(fp) == 1 and fp.counts[0] == 20  # every start converged to the one fixed point
    torch.testing.assert_close(fp.states[0], truth, rtol=0, atol=1e-9)
    # its Jacobian is (W − I)/τ: stable since the spectral radius of W is < 1
    dense = np.linalg.eigvals((w - torch.eye(60, dtype=torch.float64)).numpy() / 100.0)
    np.testing.assert_allclose(fp.eigenvalues[0, 0].real, dense.real.max(), rtol=1e-9)
    assert bool(fp.stable[0])


def _bistable_network(n: int):
    """FullRNN with W = 2 s sᵀ / n, s ∈ {±1}ⁿ (tanh): returns the model and s."""
    s = torch.where(torch.rand(n, generator=torch.Generator().manual_seed(0)) < 0.5, -1.0, 1.0)
    model = FullRNN(n, 1, 1, gain=0.0, seed=0)
    with torch.no_grad():
        model.weight.copy_(2.0 * torch.outer(s, s) / n)
    return model, s


def test_fixed_points_of_tanh_network_have_zero_speed_and_right_stability():
    # bistable planted network: W = 2 s sᵀ / n with s ∈ {±1}ⁿ. A fixed point r = y s solves
    # y = tanh(2 y): y* = 0 (unstable, eigenvalue (2 − 1)/τ) or ±0.957504 (stable)
    n = 40
    model, s = _bistable_network(n)
    start = sample_states(model, 30, duration=2000.0, seed=2)  # states along trajectories
    start = torch.cat([start, 1e-4 * torch.randn(1, n, generator=torch.Generator().manual_seed(3))])
    fp = find_fixed_points(model, start, q_tol=1e-16)
    assert bool((fp.q < 1e-16).all())
    y = (fp.states @ s.double() / n).numpy()
    np.testing.assert_allclose(np.sort(y[fp.stable.numpy()]), [-0.957504, 0.957504], atol=1e-5)
    # the origin: unstable with one eigenvalue (2 − 1)/τ = 0.01 per ms
    origin = np.flatnonzero(~fp.stable.numpy())
    assert origin.size == 1 and abs(y[origin[0]]) < 1e-8
    np.testing.assert_allclose(fp.eigenvalues[origin[0], 0].real, 0.01, rtol=1e-6)  # float32 W
    assert len(fp) == 3


def test_matrix_free_stability_for_large_network():
    model = ConvRNN(9, 15, 15, 1, 1, gain=0.8, seed=0)  # 2025 neurons > dense limit
    start = sample_states(model, 2, duration=400.0, seed=0)
    fp = find_fixed_points(model, start, q_tol=1e-14, n_iter=0, lbfgs_iter=200, n_eigenvalues=3)
    assert len(fp) == 1 and fp.states.abs().max() < 1e-5  # the origin
    truth = torch.linalg.eigvals(model.recurrent_matrix().detach().double()).real.max().item()
    np.testing.assert_allclose(fp.eigenvalues[0, 0].real, (truth - 1) / 100.0, rtol=1e-8)


def _embed(curve: np.ndarray, dim: int = 50, noise: float = 0.005, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, curve.shape[1])))
    return torch.from_numpy(curve @ basis.T + noise * rng.standard_normal((len(curve), dim)))


def test_describe_attractor_planted_geometries():
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 150)
    ring = describe_attractor(_embed(np.stack([np.cos(theta), np.sin(theta)], 1)))
    assert ring.kind == "ring" and ring.closed and ring.intrinsic_dimension == 1
    value = np.random.default_rng(1).uniform(-1, 1, 150)
    line = describe_attractor(_embed(np.stack([value, 0.3 * value**2], 1)))
    assert line.kind == "line" and not line.closed
    arc = describe_attractor(_embed(np.stack([np.cos(theta / 2), np.sin(theta / 2)], 1)))
    assert arc.kind == "line"  # half a circle is open
    centres = np.stack(
        [np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], 1
    )
    points = describe_attractor(_embed(np.repeat(centres, 20, axis=0), noise=0.01))
    assert points.kind == "points" and points.n_clusters == 8
    sheet = describe_attractor(_embed(np.random.default_rng(2).uniform(-1, 1, (400, 2))))
    assert sheet.kind == "manifold" and sheet.intrinsic_dimension == 2


def _line_network(slope: float, n: int = 20):
    """Linear network W = slope · u uᵀ: along u, dy/dt = (slope − 1) y / τ, every other
    direction decays at −1/τ. Starts on the line y ∈ [−1, 1] (y = 0 exactly included)."""
    u = torch.zeros(n)
    u[:4] = 0.5  # unit norm
    model = FullRNN(n, 1, 1, gain=0.0, seed=0, activation="identity")
    with torch.no_grad():
        model.weight.copy_(slope * torch.outer(u, u))
    y = torch.linspace(-1, 1, 21)
    return model, y[:, None] * u


def test_describe_attractor_separates_exact_from_slow_and_stable_from_unstable():
    # a leaky line (slope 1 − 1e-3): one exact fixed point (the origin), the rest slow points
    # with q = ½ (1e-3 y / τ)², all stable (eigenvalue −1e-3/τ along the line)
    model, starts = _line_network(1 - 1e-3)
    slow = find_fixed_points(model, starts, q_tol=1e-6, n_iter=0, lbfgs_iter=0)
    assert len(slow) == 21
    y = slow.states[:, 0].numpy() / 0.5
    np.testing.assert_allclose(
        slow.q.numpy(), 0.5 * (1e-3 * y / 100.0) ** 2, rtol=1e-4, atol=1e-25
    )  # float32 W
    d = describe_attractor(slow)
    assert d.kind == "line" and d.n_points == 21 and d.n_stable == 21 and d.is_attractor
    assert d.n_exact == 1 and bool(d.exact[np.argmin(np.abs(y))])
    np.testing.assert_allclose(d.speed.max(), 1e-5, rtol=1e-4)  # at |y| = 1, in 1/ms
    # over 1 s the fastest point moves 1e-5 × 1000 = 0.01 of a line of length 2 → 0.005
    np.testing.assert_allclose(d.drift, 0.005, rtol=1e-3)
    assert "21 of 21 stable" in str(d) and "1 exact fixed point(s), 20 slow" in str(d)
    # the expanding line (slope 1 + 1e-3): the same shape, but no point is stable
    model, starts = _line_network(1 + 1e-3)
    d = describe_attractor(find_fixed_points(model, starts, q_tol=1e-6, n_iter=0, lbfgs_iter=0))
    assert d.kind == "line" and d.n_stable == 0 and d.is_attractor is False
    assert "None of the 21 points is stable" in str(d)


def test_describe_attractor_of_bistable_network_counts_its_stable_points():
    # the planted bistable tanh network: 3 exact fixed points, ±0.9575 s stable, 0 a saddle
    n = 40
    model, s = _bistable_network(n)
    start = torch.cat([sample_states(model, 30, duration=2000.0, seed=2), 1e-4 * s[None]])
    d = describe_attractor(find_fixed_points(model, start, q_tol=1e-16))
    assert d.kind == "points" and d.n_points == 3 and d.n_clusters == 3
    assert d.n_stable == 2 and d.n_exact == 3 and d.is_attractor
    # only the origin: a single unstable point is not an attractor
    d = describe_attractor(find_fixed_points(model, 1e-4 * s[None], q_tol=1e-16, n_iter=0))
    assert d.n_points == 1 and d.kind == "points" and d.n_stable == 0 and not d.is_attractor
    assert "None of the 1 points is stable" in str(d)
    # bare states carry no stability or speed
    bare = describe_attractor(torch.randn(5, n))
    assert bare.n_stable is None and bare.n_exact is None and "unknown" in str(bare)


def test_bad_inputs_raise():
    model = FullRNN(10, 2, 1, seed=0)
    start = torch.zeros(3, 10)
    with pytest.raises(ValueError, match="q_tol"):
        find_fixed_points(model, start, q_tol=0.0)
    with pytest.raises(ValueError, match="q_tol"):
        find_fixed_points(model, start, q_tol=-1e-6)
    with pytest.raises(ValueError, match="initial_states"):
        find_fixed_points(model, torch.zeros(3, 11))
    with pytest.raises(ValueError, match="inputs"):
        find_fixed_points(model, start, torch.zeros(3))
    with pytest.raises(ValueError, match="points"):
        describe_attractor(torch.zeros(0, 5))
    with pytest.raises(ValueError, match="n_states"):
        sample_states(model, 0)
    assert math.isfinite(
        find_fixed_points(model, start, n_iter=5, lbfgs_iter=0).candidates_q.sum().item()
    )


_SHORT_TIMING = {
    "fixation": ("uniform", (100, 200)),
    "stimulus": ("uniform", (100, 300)),
    "delay": ("uniform", (200, 800)),
    "response": ("uniform", (100, 200)),
}


def test_trained_memorypro_ring_network_yields_a_ring():
    # ~10 s on one thread: 400 training steps of a 64-neuron network on shortened epochs
    # Appendix B.4: a network storing a circular variable forms a ring attractor in the delay
    from cordsneuro.tasks import make_batch, resolve
    from cordsneuro.training import train

    task = resolve("MemoryProRing", {"timing": _SHORT_TIMING})
    model = FullRNN(64, 3, 2, gain=0.9, seed=0)
    result = train(model, task, steps=400, lr=3e-3, batch_size=32, seed=0, eval_every=400,
                   eval_trials=128, progress=False)  # fmt: skip
    assert result.history["evaluations"][-1]["mae_deg"] < 10  # the task's criterion
    theta = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    batch = make_batch(task, 64, seed=1, theta=theta)
    with torch.no_grad():
        rates = model(batch.inputs).rates
    end = batch.trial_info["delay_end"]
    delay_end = torch.stack([rates[i, int(end[i]) - 1] for i in range(64)])
    fixation = torch.tensor([1.0, 0.0, 0.0])  # the delay epoch's input
    slow = find_fixed_points(
        model, delay_end, fixation, q_tol=1e-6, n_iter=0, lbfgs_iter=20, dedup_tol=1e-4
    )
    assert len(slow) >= 32
    ring = describe_attractor(slow)
    assert ring.kind == "ring" and ring.closed and ring.intrinsic_dimension == 1
    # the ring is ordered by the stored angle: the slow points' angle in the top-2 PC plane
    # turns once, monotonically (up to orientation), with θ
    x = slow.states - slow.states.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    phase = torch.atan2(x @ v[1], x @ v[0]).numpy()
    nearest = [int(torch.argmin((delay_end.double() - s).norm(dim=1))) for s in slow.states]
    stored = theta[nearest]
    order = np.argsort(stored)
    turns = np.angle(np.exp(1j * np.diff(phase[order]))).sum() / (2 * np.pi)
    assert abs(abs(turns) - 1) < 0.2
