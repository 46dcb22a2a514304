"""Evaluation against planted solutions: a hand-built perfect integrator on PDM (analytic
psychometric curve), exact answers on PWM / MemoryPro, and the Fig. S2A plots."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from cordsneuro import FullRNN, tasks
from cordsneuro.plotting import (
    fit_psychometric,
    plot_learning_curve,
    plot_psychometric,
    plot_trajectories,
)

warnings.filterwarnings("ignore", module="gymnasium")


def integrator(flip: bool = False) -> FullRNN:
    """One neuron, identity activation, W_rec = 1: r ← r + α h, a perfect integrator; the readout
    gives logits (−r, r), so the choice is the sign of the summed input."""
    model = FullRNN(1, 1, 2, activation="identity", seed=0)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.w_inp.fill_(1.0)
        model.bias.zero_()
        sign = -1.0 if flip else 1.0
        model.w_out.copy_(torch.tensor([[-sign], [sign]]))
        model.b_out.zero_()
    return model


def test_perfect_integrator_on_pdm():
    ev = tasks.evaluate(integrator(), "PDM", n_trials=2000)
    assert ev.metrics["accuracy"] == 1.0  # |c| >= 0.1 over 40 steps: 6 sd from chance
    assert ev.passed()
    table = ev.by_condition
    assert table["value"] == sorted(tasks.COHERENCES)
    assert table["p_positive"] == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    wrong = tasks.evaluate(integrator(flip=True), "PDM", n_trials=500)
    assert wrong.metrics["accuracy"] == 0.0 and not wrong.passed()


def test_psychometric_curve_matches_the_analytic_one():
    # at coherence c the summed input is N(40 c, 40 · 0.1²): P(positive) = Φ(40 c / (0.1 √40))
    grid = np.repeat([-0.02, -0.01, 0.0, 0.01, 0.02], 2000)
    ev = tasks.evaluate(integrator(), "PDM", n_trials=len(grid), coherence=grid)
    phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    for c, p in zip(ev.by_condition["value"], ev.by_condition["p_positive"]):
        expected = phi(40 * c / (0.1 * math.sqrt(40)))
        assert abs(p - expected) < 4 * math.sqrt(expected * (1 - expected) / 2000) + 1e-9
    bias, scale = fit_psychometric(ev.by_condition["value"], ev.by_condition["p_positive"])
    assert abs(bias) < 0.002
    # a logistic of scale s / 1.702 approximates a normal CDF of sd s (here s = 0.1 / √40)
    assert abs(scale - 0.1 / math.sqrt(40) / 1.702) < 0.1 * scale


def test_scores_of_exact_and_wrong_answers():
    pwm = tasks.make("PWM")
    batch = tasks.make_batch(pwm, 500, seed=0)
    target = batch.trial_info["target"]
    exact = pwm.score(target[:, None], batch.trial_info)
    assert exact["r2"] == 1.0 and exact["sign_accuracy"] == 1.0
    flipped = pwm.score(-target[:, None], batch.trial_info)
    assert flipped["sign_accuracy"] == 0.0 and flipped["r2"] < 0
    ring = tasks.make("MemoryProRing")
    batch = tasks.make_batch(ring, 500, seed=0)
    theta = batch.trial_info["theta"] + np.radians(5.0)
    scores = ring.score(np.stack([np.cos(theta), np.sin(theta)], 1) * 0.3, batch.trial_info)
    assert abs(scores["mae_deg"] - 5.0) < 1e-6 and scores["accuracy"] == 1.0
    line = tasks.make("MemoryProLine")
    batch = tasks.make_batch(line, 200, seed=0)
    assert line.score(batch.trial_info["value"][:, None], batch.trial_info)["r2"] == 1.0


def test_respond_averages_the_scored_steps():
    task = tasks.make("DMS")
    batch = tasks.make_batch(task, 8, seed=0)
    outputs = np.random.default_rng(0).normal(size=(*batch.mask.shape, 2))
    mask = batch.mask.numpy()
    response = task.respond(outputs, mask)
    for i in range(8):
        np.testing.assert_allclose(response[i], outputs[i][mask[i]].mean(0))


def test_evaluate_rejects_a_model_that_does_not_fit():
    with pytest.raises(ValueError, match="input_size"):
        tasks.evaluate(FullRNN(4, 3, 2), "PDM")
    with pytest.raises(ValueError, match="output_size"):
        tasks.evaluate(FullRNN(4, 1, 3), "PDM")


@pytest.mark.parametrize(
    "name", ["PDM", "PWM", "DMS", "MemoryProRing", "MemoryProLine", "MemoryProPoints"]
)
def test_psychometric_plots(name):
    task = tasks.make(name)
    model = FullRNN(8, task.n_inputs, task.n_outputs, seed=0)
    ev = tasks.evaluate(model, task, n_trials=200)
    fig = plot_psychometric(ev)
    ax = fig.axes[0]
    assert (
        ax.get_xlabel()
        and ax.get_ylabel()
        and ax.get_title().startswith(
            name.replace("Ring", "").replace("Line", "").replace("Points", "")[:3]
        )
    )


def test_trajectory_and_learning_curve_plots():
    model = FullRNN(16, 1, 2, seed=0)
    batch = tasks.make_batch("PDM", 6, seed=0)
    traj = model(batch.inputs)
    fig = plot_trajectories(traj.rates, batch.trial_info["coherence"], times=traj.times)
    assert fig.axes[0].get_xlabel().startswith("PC 1")
    with pytest.raises(ValueError, match="one value per trial"):
        plot_trajectories(traj.rates, [1.0, 2.0])
    history = {
        "step": [1, 2, 3],
        "loss": [1.0, 0.5, 0.2],
        "evaluations": [{"step": 3, "accuracy": 0.8}],
    }
    assert plot_learning_curve(history).axes
