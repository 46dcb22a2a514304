"""Regimes (Fig. 1B, S1B) against analytic truth and the known gain dependence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cordsneuro.analyses.regimes import (
    autocorrelation,
    classify_regime,
    gain_sweep,
    largest_lyapunov_exponent,
    simulate_autonomous,
)
from cordsneuro.models.recurrent import ConvRNN, FullRNN


@pytest.mark.parametrize("gain", [0.8, 1.6])
def test_lyapunov_of_linear_network_is_log_spectral_radius_of_euler_matrix(gain):
    model = FullRNN(80, 1, 1, gain=gain, seed=3, activation="identity").double()
    alpha = model.dt / 100.0
    w = model.weight.detach()
    euler = (1 - alpha) * torch.eye(80, dtype=torch.float64) + alpha * w
    truth = math.log(torch.linalg.eigvals(euler).abs().max().item())
    state = 1e-3 * torch.randn(
        2, 80, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    per_step, per_ms = largest_lyapunov_exponent(model, state=state, n_steps=1500, n_transient=500)
    np.testing.assert_allclose(per_step.numpy(), truth, atol=2e-3 * abs(truth) + 2e-4)
    np.testing.assert_allclose(per_ms.numpy(), per_step.numpy() / model.dt)


def test_autocorrelation_of_sinusoid_is_cosine():
    t = torch.arange(2000, dtype=torch.float64)
    period = 50
    activity = torch.stack(
        [torch.sin(2 * math.pi * t / period + p) for p in (0.0, 1.0, 2.0)], dim=1
    )
    ac = autocorrelation(activity, max_lag=100)
    lags = torch.arange(101, dtype=torch.float64)
    # biased estimator: (1 - lag / T) cos(2π lag / period)
    torch.testing.assert_close(
        ac, (1 - lags / 2000) * torch.cos(2 * math.pi * lags / period), atol=2e-3, rtol=0
    )
    assert ac[0] == 1


@pytest.mark.parametrize(
    "factory",
    [
        lambda g: FullRNN(512, 1, 1, gain=g, seed=0),
        lambda g: ConvRNN(32, 4, 4, 1, 1, gain=g, seed=0),  # N = 512, zero padding
    ],
    ids=["FullRNN-512", "ConvRNN-512"],
)
def test_classifier_stable_at_low_and_chaotic_at_high_gain(factory):
    low, high = gain_sweep(factory, [0.5, 3.0], progress=False)
    assert low.label == "stable"
    assert low.fluctuation < 1e-6 and low.lyapunov_tau < -0.3
    assert high.label == "chaotic"
    assert high.lyapunov_tau > 0.05
    # chaos is higher-dimensional and decorrelates (Appendix B.2)
    assert high.participation_ratio > 3
    assert high.autocorrelation[50:].abs().max() < 0.5


def test_limit_cycle_is_oscillatory():
    # planted oscillator: a rotation with gain > 1 in a 2-D plane, saturated by tanh
    n = 64
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(n, 2, generator=g))
    rotation = 2.0 * torch.tensor([[math.cos(0.5), -math.sin(0.5)], [math.sin(0.5), math.cos(0.5)]])
    model = FullRNN(n, 1, 1, gain=0.0, seed=0)
    with torch.no_grad():
        model.weight.copy_(q @ rotation @ q.T)
    report = classify_regime(model, n_trials=1)
    assert report.label == "oscillatory"
    assert abs(report.lyapunov_tau) < 0.01
    assert report.participation_ratio < 2.5
    assert report.autocorrelation.min() < -0.5  # periodic
    # a short repr that reports the measurements, not ~250 tensor entries
    text = repr(report)
    assert "\n" not in text and len(text) < 400 and "tensor" not in text
    assert "'oscillatory'" in text and f"{report.participation_ratio:.3g}" in text
    assert f"{report.lyapunov_per_ms:.4g}" in text and str(tuple(report.activity.shape)) in text


def test_bad_inputs_raise():
    model = FullRNN(20, 1, 1, seed=0)
    with pytest.raises(ValueError, match="duration"):
        simulate_autonomous(model, duration=-5.0)
    with pytest.raises(ValueError, match="duration"):
        simulate_autonomous(model, duration=float("nan"))
    with pytest.raises(ValueError, match="gains"):
        gain_sweep(lambda g: model, [1.0, -2.0])
    with pytest.raises(ValueError, match="gains"):
        gain_sweep(lambda g: model, [])
    with pytest.raises(ValueError, match="lyapunov_threshold"):
        classify_regime(model, lyapunov_threshold=0.0)
    with pytest.raises(ValueError, match="n_steps"):
        largest_lyapunov_exponent(model, n_steps=0)
    with pytest.raises(ValueError, match="max_lag"):
        autocorrelation(torch.randn(10, 3), max_lag=10)
