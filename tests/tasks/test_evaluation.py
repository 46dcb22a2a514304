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


def test_psychometric_plot_draws_the_computed_curve():
    ev = tasks.evaluate(integrator(), "PDM", n_trials=600)
    ax = plot_psychometric(ev).axes[0]
    points, fit = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(points.get_xdata(), ev.by_condition["value"])
    np.testing.assert_array_equal(points.get_ydata(), ev.by_condition["p_positive"])
    bias, scale = fit_psychometric(
        ev.by_condition["value"], ev.by_condition["p_positive"], ev.by_condition["n"]
    )
    x = fit.get_xdata()
    np.testing.assert_allclose(fit.get_ydata(), 1 / (1 + np.exp(-(x - bias) / scale)))
    assert ax.get_title().startswith("PDM: accuracy 1")


def test_cdm_psychometric_curves_are_split_by_context():
    # a planted observer: integrates signal 1 in context 0 and ignores the cue in context 1
    # (always signal 1 too): right in context 0, at chance on the cued signal in context 1
    model = FullRNN(1, 4, 2, activation="identity", seed=0)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.w_inp.copy_(torch.tensor([[0.0, 0.0, 1.0, 0.0]]))
        model.bias.zero_()
        model.w_out.copy_(torch.tensor([[-1.0], [1.0]]))
        model.b_out.zero_()
    ev = tasks.evaluate(model, "CDM", n_trials=2000)
    by = ev.by_condition["by_context"]
    assert sorted(by) == [0, 1]
    assert by[0]["p_positive"] == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert all(abs(p - 0.5) < 0.15 for p in by[1]["p_positive"])
    ax = plot_psychometric(ev).axes[0]
    drawn = [line for line in ax.lines if line.get_marker() == "o"]
    assert [line.get_label() for line in drawn] == ["context 1", "context 2"]
    for line, context in zip(drawn, (0, 1)):
        np.testing.assert_array_equal(line.get_xdata(), by[context]["value"])
        np.testing.assert_array_equal(line.get_ydata(), by[context]["p_positive"])


@pytest.mark.parametrize(
    "name", ["PWM", "DMS", "MemoryProRing", "MemoryProLine", "MemoryProPoints"]
)
def test_psychometric_plots_draw_the_evaluation(name):
    task = tasks.make(name)
    model = FullRNN(8, task.n_inputs, task.n_outputs, seed=0)
    ev = tasks.evaluate(model, task, n_trials=200)
    ax = plot_psychometric(ev).axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title().startswith(name)
    if name in ("PWM", "MemoryProLine"):
        drawn = ax.collections[0].get_offsets()
        x = ev.trial_info["difference" if name == "PWM" else "value"]
        np.testing.assert_allclose(drawn[:, 0], x)
        np.testing.assert_allclose(drawn[:, 1], ev.per_trial["estimate"])
    elif name == "MemoryProRing":
        drawn = ax.collections[0].get_offsets()
        np.testing.assert_allclose(drawn[:, 1], np.degrees(ev.per_trial["estimate"]))
    else:
        line = ax.lines[0]
        np.testing.assert_array_equal(line.get_xdata(), ev.by_condition["value"])
        np.testing.assert_array_equal(line.get_ydata(), ev.by_condition["accuracy"])


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
    ax = plot_learning_curve(history).axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), history["step"])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), history["loss"])
