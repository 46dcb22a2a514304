"""The task resolved once: names, envs, trial functions; per-step loss weights; the one scoring
rule on neurogym tasks (chance for an untrained network, refusal where accuracy means nothing);
task settings apart from trial conditions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from cordsneuro import FullRNN, tasks, train

warnings.filterwarnings("ignore", module="gymnasium")

pytestmark = pytest.mark.usefixtures("one_thread")


def test_one_way_to_get_list_and_describe_a_task():
    assert not hasattr(tasks, "get_task")
    info = tasks.resolve("PDM")
    assert (info.name, info.n_inputs, info.n_outputs, info.answer, info.dt) == (
        "PDM", 1, 2, "categorical", 20.0,
    )  # fmt: skip
    text = tasks.describe("PDM")  # Appendix B.3, as a methods section
    assert "fixation 100, stimulus 800, delay 100, decision 20" in text
    assert "scored: the decision epoch" in text and "accuracy >= 0.9" in text
    assert "delay U(500, 2000)" in tasks.describe("PWM", {"dt": 10})
    assert "response 5, other steps 1, grace 100 ms" in tasks.describe("GoNogo-v0")
    assert tasks.list_tasks() == [
        "PDM", "PWM", "CDM", "MDM", "DMS", "MemoryProRing", "MemoryProLine", "MemoryProPoints",
    ]  # fmt: skip
    assert "yang19.go-v0" in tasks.list_tasks("yang19")
    assert "GoNogo-v0" in tasks.list_tasks("neurogym")
    with pytest.raises(ValueError, match="collection"):
        tasks.list_tasks("nosuch")
    resolved = tasks.resolve("GoNogo-v0")
    assert tasks.resolve(resolved) is resolved  # resolved once: passed on as is
    with pytest.raises(TypeError, match="built already"):
        tasks.resolve(resolved, {"dt": 20})


def _within(info, epoch, n_time):
    t = np.arange(n_time)[None, :]
    return (t >= info[f"{epoch}_start"][:, None]) & (t < info[f"{epoch}_end"][:, None])


def test_yang2019_loss_weights_on_a_neurogym_task():
    task = tasks.resolve("yang19.go-v0", {"dt": 20})
    batch = task.batch(16, seed=0)
    w = task.loss_weights(batch).numpy()
    info, n_time = batch.trial_info, batch.mask.shape[1]
    decision = _within(info, "decision", n_time)
    grace = decision & (np.arange(n_time)[None, :] < info["decision_start"][:, None] + 5)
    inside = np.arange(n_time)[None, :] < info["length"][:, None]
    # Yang et al. 2019: 0 for the first 100 ms (5 steps of 20 ms) of the response, then 5;
    # 1 on every other step of the trial; padding 0
    np.testing.assert_array_equal(w[grace], 0.0)
    np.testing.assert_array_equal(w[decision & ~grace], 5.0)
    np.testing.assert_array_equal(w[inside & ~decision], 1.0)
    np.testing.assert_array_equal(w[~inside], 0.0)
    # the paper's tasks: their scored epoch only; named epochs: those, the rest 0
    pdm = tasks.resolve("PDM")
    b = pdm.batch(4, seed=0)
    np.testing.assert_array_equal(pdm.loss_weights(b).numpy(), b.mask.numpy().astype(np.float32))
    w = pdm.loss_weights(b, {"stimulus": 2.0}).numpy()
    np.testing.assert_array_equal(w, 2.0 * _within(b.trial_info, "stimulus", w.shape[1]))
    with pytest.raises(ValueError, match="epoch 'response'.*fixation"):
        pdm.loss_weights(b, {"response": 1.0})
    with pytest.raises(ValueError, match="LossWeights.response"):
        tasks.LossWeights(response=-1.0)


def test_grace_never_covers_more_than_half_the_response():
    task = tasks.resolve("PerceptualDecisionMaking-v0")  # dt 100 ms: a one-step decision
    batch = task.batch(8, seed=0)
    w = task.loss_weights(batch).numpy()
    np.testing.assert_array_equal(w[batch.mask.numpy()], 5.0)
    task = tasks.resolve("PerceptualDecisionMaking-v0", {"dt": 20})  # 5 decision steps
    batch = task.batch(8, seed=0)
    w = task.loss_weights(batch).numpy()[batch.mask.numpy()].reshape(8, 5)
    np.testing.assert_array_equal(w, np.tile([0.0, 0.0, 5.0, 5.0, 5.0], (8, 1)))


@pytest.mark.parametrize(
    "name, chance",
    [("yang19.go-v0", 1 / 16), ("GoNogo-v0", 1 / 2), ("PerceptualDecisionMaking-v0", 1 / 2)],
)
def test_a_network_blind_to_its_inputs_scores_at_chance_on_neurogym_tasks(name, chance):
    # an untrained network whose answer cannot depend on the trial (input weights zero): it
    # gives one answer to every trial, right on the fraction of trials asking for it; a
    # scoring rule reading a step where every trial has the same target would give it 0 or 1
    task = tasks.resolve(name)
    n = 600
    for seed in range(3):
        model = FullRNN(64, task.n_inputs, task.n_outputs, dt=task.dt, seed=seed)
        with torch.no_grad():
            model.w_inp.zero_()
        ev = tasks.evaluate(model, task, n_trials=n, seed=seed)
        assert len(np.unique(ev.per_trial["choice"])) == 1
        frequency = (ev.trial_info["target"] == ev.per_trial["choice"][0]).mean()
        assert ev.accuracy == pytest.approx(frequency)
        assert ev.accuracy <= chance + 4 * math.sqrt(chance * (1 - chance) / n)


def test_a_task_without_a_decision_epoch_reports_no_accuracy():
    model = FullRNN(32, 3, 2, dt=80.0, seed=0)
    ev = tasks.evaluate(model, "ReadySetGo-v0", n_trials=64)
    assert "accuracy" not in ev.metrics
    with pytest.raises(ValueError, match="same class"):
        _ = ev.accuracy
    # scored per step instead: an untrained network cannot get both right
    assert min(ev.metrics["response_accuracy"], ev.metrics["fixation_accuracy"]) < 0.9
    with pytest.raises(ValueError, match="same class"):
        train(model, "ReadySetGo-v0", until=0.9, progress=False)
    result = train(
        model, "ReadySetGo-v0", steps=2, until="criterion", batch_size=8, eval_trials=32,
        progress=False,
    )  # fmt: skip
    assert not result.reached  # the criterion asks for both per-step accuracies
    # naming the epochs to score makes it a per-trial answer again
    named = tasks.resolve("ReadySetGo-v0", {"score_epochs": ["production"]})
    assert named.no_accuracy is None


def test_task_settings_and_trial_conditions_are_apart():
    with pytest.raises(ValueError, match="not trial conditions.*task_kwargs"):
        tasks.evaluate(FullRNN(16, 3, 2, dt=100.0), "GoNogo-v0", dt=20)
    model = FullRNN(16, 3, 2, seed=0)  # dt = 20 ms
    ev = tasks.evaluate(model, "GoNogo-v0", task_kwargs={"dt": 20}, n_trials=32)
    assert ev.task == "GoNogo-v0"
    with pytest.raises(TypeError, match="epochs"):
        train(model, "GoNogo-v0", epochs=3, task_kwargs={"dt": 20})
    with pytest.raises(ValueError, match="task_kwargs=\\{'dt': 20\\}"):
        tasks.evaluate(model, "GoNogo-v0")  # the env's dt is 100 ms


def test_evaluate_runs_without_gradient():
    seen = []

    class Spy(FullRNN):
        def forward(self, *args, **kwargs):
            seen.append(torch.is_grad_enabled())
            return super().forward(*args, **kwargs)

    model = Spy(8, 1, 2, seed=0)
    ev = tasks.evaluate(model, "PDM", n_trials=16)
    assert seen == [False] and isinstance(ev.response, np.ndarray)
    assert all(p.grad is None for p in model.parameters())


def go_nogo(rng, dt):
    """Go / no-go in a few lines: a cue for 300 ms, then answer it for 300 ms."""
    go = int(rng.integers(2))
    n = int(600 / dt)
    x = np.zeros((n, 1))
    x[: n // 2, 0] = 2 * go - 1
    y = np.zeros(n, dtype=int)
    y[n // 2 :] = go
    return x, y, np.arange(n) >= n // 2, {"go": go}


def test_a_task_from_a_trial_function_trains_and_evaluates():
    task = tasks.trial_task(go_nogo, n_inputs=1, n_outputs=2, name="go_nogo", seed=0)
    batch = task.batch(50, seed=1)
    assert batch.inputs.shape == (50, 30, 1) and batch.mask.sum() == 50 * 15
    np.testing.assert_array_equal(batch.trial_info["target"], batch.trial_info["go"])
    model = FullRNN(16, 1, 2, seed=0)
    result = train(model, task, until="criterion", steps=300, lr=1e-2, progress=False)
    assert result.reached
    assert tasks.evaluate(model, task, n_trials=400, seed=5).accuracy >= 0.9
    with pytest.raises(ValueError, match="inputs \\(time, 2\\)"):
        tasks.trial_task(go_nogo, n_inputs=2, n_outputs=2).batch(2)


def test_a_scheduling_neurogym_env_batches_its_own_trials():
    # neurogym's yang19 collection wraps two envs in a schedule that switches env per trial:
    # each row must hold the trial drawn for it (its target is the trial's ground truth + 1,
    # class 0 being fixation) and the rows must not repeat in pairs
    task = tasks.resolve("yang19.go-v0", {"dt": 20})
    batch = task.batch(40, seed=0)
    np.testing.assert_array_equal(batch.trial_info["target"], batch.trial_info["ground_truth"] + 1)
    at = batch.trial_info["stimulus_start"]
    # the stimulus bump's peak, on the ring of either modality (inputs 1-16 or 17-32)
    shown = batch.inputs[np.arange(40), at, 1:33].argmax(1).numpy() % 16
    np.testing.assert_array_equal(shown, batch.trial_info["ground_truth"])
    assert len(np.unique(batch.trial_info["ground_truth"])) >= 12
    state = task.rng_state()
    first = task.batch(6)
    task.set_rng_state(state)
    assert torch.equal(task.batch(6).inputs, first.inputs)
    assert torch.equal(task.batch(40, seed=0).inputs, batch.inputs)
