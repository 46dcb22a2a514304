"""The paper's tasks: epochs, inputs and targets against Appendix B.3 / B.4, vectorised batches
against the environments' own trials, masks, registration and bad input."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest

from cordsneuro import tasks
from cordsneuro.tasks import make_batch

warnings.filterwarnings("ignore", module="gymnasium")

ALL = ["PDM", "PWM", "CDM", "MDM", "DMS", "MemoryProRing", "MemoryProLine", "MemoryProPoints"]

#: Appendix B.3 / B.4, in ms: fixed durations or (low, high) of a uniform draw.
PAPER_TIMING = {
    "PDM": {"fixation": 100, "stimulus": 800, "delay": 100, "decision": 20},
    "PWM": {
        "fixation": 100,
        "stimulus_1": 100,
        "delay": (500, 2000),
        "stimulus_2": 100,
        "decision": 100,
    },
    "CDM": {"fixation": 100, "context": 350, "stimulus": 800, "context_2": 500, "decision": 20},
    "MDM": {"fixation": 100, "context": 350, "stimulus": 800, "context_2": 500, "decision": 20},
    "DMS": {"fixation": 100, "sample": 500, "delay": (500, 3000), "test": 500, "decision": 1000},
    "MemoryProRing": {
        "fixation": (300, 700),
        "stimulus": (200, 1600),
        "delay": (200, 1600),
        "response": (300, 700),
    },
}


def _within(info, period, n_time):
    t = np.arange(n_time)
    return (t >= info[f"{period}_start"][:, None]) & (t < info[f"{period}_end"][:, None])


@pytest.mark.parametrize("name", list(PAPER_TIMING))
def test_epochs_follow_the_paper(name):
    dt = 20.0
    b = make_batch(name, 400, seed=1)
    info = b.trial_info
    task = tasks.make(name)
    assert tuple(task.periods) == tuple(PAPER_TIMING[name])
    start = np.zeros(400)
    for period, spec in PAPER_TIMING[name].items():
        ms = info[f"{period}_ms"]
        if isinstance(spec, tuple):
            lo, hi = spec
            assert ms.min() >= np.floor(lo / dt) * dt and ms.max() <= hi
            assert ms.max() - ms.min() > 0.6 * (hi - lo)  # really drawn across the range
        else:
            # durations are whole steps (floored, as neurogym does): CDM's 350 ms context epoch
            # lasts 340 ms at dt = 20 ms
            assert np.all(ms == np.floor(spec / dt) * dt)
        np.testing.assert_array_equal(info[f"{period}_start"], start)  # epochs are contiguous
        start = start + ms / dt
    np.testing.assert_array_equal(info["length"], start)
    assert b.inputs.shape[1] == start.max()


def test_dt_is_a_parameter():
    exact = make_batch(tasks.CDM(dt=10), 3, seed=0).trial_info
    assert np.all(exact["context_ms"] == 350) and np.all(exact["decision_ms"] == 20)
    b = make_batch(tasks.PDM(dt=10), 3, seed=0)
    assert b.inputs.shape[1] == (100 + 800 + 100 + 20) // 10
    assert b.mask.sum(1).tolist() == [2, 2, 2]  # decision epoch of 20 ms = 2 steps of 10 ms
    b = make_batch(tasks.PDM(dt=20, timing={"stimulus": 400}), 2, seed=0)
    assert b.inputs.shape[1] == (100 + 400 + 100 + 20) // 20


@pytest.mark.parametrize("name", ALL)
def test_masks_cover_exactly_the_scored_epochs(name):
    task = tasks.make(name)
    b = make_batch(task, 64, seed=2)
    n_time = b.inputs.shape[1]
    expected = np.zeros((64, n_time), dtype=bool)
    for p in task.scored_periods:
        expected |= _within(b.trial_info, p, n_time)
    np.testing.assert_array_equal(b.mask.numpy(), expected)
    # the scored epoch is the last one: the mask ends where the trial ends
    last = np.array([np.flatnonzero(row).max() for row in expected])
    np.testing.assert_array_equal(last + 1, b.trial_info["length"])
    # padding is zero
    pad = np.arange(n_time)[None, :] >= b.trial_info["length"][:, None]
    assert not b.inputs.numpy()[pad].any()


@pytest.mark.parametrize("name", ALL)
def test_batches_are_the_environments_own_trials(name):
    env = tasks.make(name)
    b = make_batch(env, 12, seed=7)
    env.seed(7)
    for i in range(12):
        trial = env.new_trial()
        n = int(b.trial_info["length"][i])
        assert env.ob.shape[0] == n
        np.testing.assert_array_equal(env.ob, b.inputs[i, :n].numpy())
        np.testing.assert_array_equal(env.gt, b.targets[i, :n].numpy())
        for key, value in trial.items():
            if key != "durations":
                assert b.trial_info[key][i] == value
        for p, ms in trial["durations"].items():
            assert b.trial_info[f"{p}_ms"][i] == ms
            assert (env.start_ind[p], env.end_ind[p]) == (
                b.trial_info[f"{p}_start"][i],
                b.trial_info[f"{p}_end"][i],
            )


def test_batches_continue_the_stream_and_seed_reproduces():
    env = tasks.make("DMS")
    env.seed(3)
    a = make_batch(env, 5)
    b = make_batch(env, 5)
    whole = make_batch("DMS", 10, seed=3)
    n = whole.inputs.shape[1]
    joined = np.zeros((10, n, 2), dtype=np.float32)
    joined[:5, : a.inputs.shape[1]] = a.inputs.numpy()
    joined[5:, : b.inputs.shape[1]] = b.inputs.numpy()
    np.testing.assert_array_equal(joined, whole.inputs.numpy())
    again = make_batch("DMS", 10, seed=3)
    assert np.array_equal(again.inputs.numpy(), whole.inputs.numpy())
    other = make_batch("DMS", 10, seed=4)
    assert not np.array_equal(other.trial_info["delay_ms"], whole.trial_info["delay_ms"])


def test_pdm_inputs_and_targets():
    b = make_batch("PDM", 3000, seed=0)
    x, info = b.inputs.numpy()[..., 0], b.trial_info
    stim = _within(info, "stimulus", x.shape[1])
    assert not x[~stim].any()  # nothing outside the stimulus epoch
    assert set(np.unique(info["coherence"])) == set(tasks.COHERENCES)
    residual = x[stim].reshape(3000, -1) - info["coherence"][:, None]
    assert abs(residual.mean()) < 0.005
    assert abs(residual.std() - 0.1) < 0.002  # Gaussian noise of sd 0.1
    decision = b.mask.numpy()
    np.testing.assert_array_equal(b.targets.numpy()[decision], (info["coherence"] > 0).astype(int))
    clean = make_batch(tasks.PDM(noise_std=0.0), 50, seed=0)
    stim = _within(clean.trial_info, "stimulus", clean.inputs.shape[1])
    np.testing.assert_allclose(
        clean.inputs.numpy()[..., 0][stim].reshape(50, -1),
        np.repeat(clean.trial_info["coherence"][:, None], 40, axis=1).astype(np.float32),
    )


@pytest.mark.parametrize("name", ["CDM", "MDM"])
def test_context_tasks(name):
    task = tasks.make(name, noise_std=0.0)
    b = make_batch(task, 2000, seed=0)
    x, info = b.inputs.numpy(), b.trial_info
    n_time = x.shape[1]
    stim = _within(info, "stimulus", n_time)
    cue_on = ~_within(info, "fixation", n_time)
    cued = info["context"]
    rows = np.arange(2000)
    # the cued cue is 0.1 after fixation, the other 0
    np.testing.assert_allclose(
        x[rows, :, cued][cue_on.reshape(2000, -1)].reshape(2000, -1), 0.1, rtol=1e-6
    )
    assert not x[rows, :, 1 - cued].any()
    assert not x[..., :2][~cue_on].any()
    for k, ch in ((1, 2), (2, 3)):
        np.testing.assert_allclose(
            x[..., ch][stim].reshape(2000, -1),
            np.repeat(info[f"coherence_{k}"][:, None], 40, 1),
            rtol=1e-6,
        )
        assert not x[..., ch][~stim].any()
    c1, c2 = info["coherence_1"], info["coherence_2"]
    if name == "CDM":
        answer = np.where(cued == 0, c1, c2) > 0
        assert (np.sign(c1) != np.sign(c2)).mean() > 0.4  # independent signals
    else:
        assert np.all(np.sign(c1) == np.sign(c2))
        answer = c1 > 0
    np.testing.assert_array_equal(b.targets.numpy()[b.mask.numpy()], answer.astype(int))


def test_pwm_inputs_targets_and_normalisation():
    b = make_batch("PWM", 3000, seed=0)
    x, info = b.inputs.numpy()[..., 0], b.trial_info
    n_time = x.shape[1]
    assert set(np.unique(info["f1"])) == set(range(10, 35))
    s1, s2 = _within(info, "stimulus_1", n_time), _within(info, "stimulus_2", n_time)
    np.testing.assert_allclose(
        x[s1].reshape(3000, -1), np.repeat(info["f1"][:, None] / 34, 5, 1), rtol=1e-6
    )
    np.testing.assert_allclose(
        x[s2].reshape(3000, -1), np.repeat(info["f2"][:, None] / 34, 5, 1), rtol=1e-6
    )
    assert not x[~(s1 | s2)].any()
    targets = b.targets.numpy()[..., 0]
    expected = (info["f1"] - info["f2"]) / 24
    np.testing.assert_allclose(
        targets[b.mask.numpy()].reshape(3000, -1), np.repeat(expected[:, None], 5, 1), rtol=1e-6
    )
    assert targets[b.mask.numpy()].min() >= -1 and targets[b.mask.numpy()].max() <= 1


def test_dms_inputs_and_targets():
    b = make_batch("DMS", 500, seed=0)
    x, info = b.inputs.numpy(), b.trial_info
    n_time = x.shape[1]
    for period, key in (("sample", "sample"), ("test", "test")):
        on = _within(info, period, n_time)
        onehot = np.eye(2)[info[key]]
        np.testing.assert_array_equal(x[on].reshape(500, -1, 2), np.repeat(onehot[:, None], 25, 1))
    assert not x[~(_within(info, "sample", n_time) | _within(info, "test", n_time))].any()
    match = (info["sample"] == info["test"]).astype(int)
    assert 0.4 < match.mean() < 0.6
    np.testing.assert_array_equal(
        b.targets.numpy()[b.mask.numpy()].reshape(500, 50), np.repeat(match[:, None], 50, 1)
    )


def test_memorypro_inputs_and_targets():
    for kind in ("ring", "line", "points"):
        task = tasks.make(f"MemoryPro{kind.capitalize()}")
        b = make_batch(task, 300, seed=0)
        x, info = b.inputs.numpy(), b.trial_info
        n_time = x.shape[1]
        response = _within(info, "response", n_time)
        before = np.arange(n_time)[None, :] < info["response_start"][:, None]
        assert np.all(x[..., 0][before] == 1) and not x[..., 0][response].any()  # fixation = go cue
        stim = _within(info, "stimulus", n_time)
        assert not x[..., 1:][~stim].any()
        shown = x[..., 1:][stim]
        lengths = info["stimulus_end"] - info["stimulus_start"]
        first = np.repeat(np.arange(300), lengths)
        if kind == "ring":
            theta = info["theta"]
            np.testing.assert_allclose(
                shown, np.stack([np.cos(theta), np.sin(theta)], 1)[first], atol=1e-6
            )
            assert theta.min() >= 0 and theta.max() < 2 * np.pi
            targets = b.targets.numpy()[response]
            np.testing.assert_allclose(np.linalg.norm(targets, axis=1), 1, rtol=1e-5)
        elif kind == "line":
            np.testing.assert_allclose(shown[:, 0], info["value"][first], atol=1e-6)
            assert -1 <= info["value"].min() and info["value"].max() <= 1
        else:
            np.testing.assert_array_equal(shown, np.eye(8)[info["point"]][first])
            assert set(np.unique(info["point"])) == set(range(8))
            resp_len = info["response_end"] - info["response_start"]
            np.testing.assert_array_equal(
                b.targets.numpy()[response], np.repeat(info["point"], resp_len)
            )


def test_fixed_conditions():
    b = make_batch("PDM", 4, seed=0, coherence=[0.05, -0.05, 0.3, 0.0])
    np.testing.assert_array_equal(b.trial_info["coherence"], [0.05, -0.05, 0.3, 0.0])
    env = tasks.make("PWM")
    trial = env.new_trial(f1=20, f2=12)
    assert (trial["f1"], trial["f2"]) == (20, 12)


@pytest.mark.parametrize("name", ALL)
def test_gymnasium_registration(name):
    env = gymnasium.make(f"cordsneuro/{name}-v0")
    ob, _ = env.reset(seed=0)
    assert ob.shape == env.observation_space.shape
    for _ in range(5):
        ob, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert isinstance(env.unwrapped, tasks.CognitiveTask)


def test_neurogym_envs_batch_through_the_same_function():
    import neurogym as ngym

    b = make_batch("PerceptualDecisionMaking-v0", 6, seed=5, task_kwargs={"dt": 50})
    env = ngym.make("PerceptualDecisionMaking-v0", dt=50).unwrapped
    env.seed(5)
    for i in range(6):
        env.new_trial()
        n = int(b.trial_info["length"][i])
        np.testing.assert_array_equal(env.ob, b.inputs[i, :n].numpy())
        np.testing.assert_array_equal(env.gt, b.targets[i, :n].numpy())
        # scored: the decision epoch (the env's own ground truth says where it is)
        decision = np.zeros(b.mask.shape[1], dtype=bool)
        decision[env.start_ind["decision"] : env.end_ind["decision"]] = True
        np.testing.assert_array_equal(b.mask[i].numpy(), decision)
        assert b.trial_info["target"][i] == env.gt[env.start_ind["decision"]] != 0
    with pytest.raises(ValueError, match="not trial conditions.*task_kwargs"):
        make_batch("PerceptualDecisionMaking-v0", 2, dt=100)
    gonogo = make_batch("GoNogo-v0", 4, seed=0)
    assert gonogo.inputs.ndim == 3 and gonogo.targets.shape == gonogo.mask.shape


def test_bad_input_raises():
    with pytest.raises(ValueError, match="unknown task id"):
        make_batch("NoSuchTask-v0", 4)
    with pytest.raises(ValueError, match="unknown task"):
        tasks.make("NoSuchTask")
    with pytest.raises(ValueError, match="unknown epoch"):
        tasks.PDM(timing={"stimulis": 800})
    with pytest.raises(ValueError, match=">= 0 ms"):
        tasks.PDM(timing={"delay": -100})
    with pytest.raises(ValueError, match="low <= high"):
        tasks.PWM(timing={"delay": ("uniform", (2000, 500))})
    with pytest.raises(ValueError, match="uniform"):
        tasks.PWM(timing={"delay": ("gamma", (2, 3))})
    with pytest.raises(ValueError, match="at least one step"):
        tasks.PDM(timing={"decision": 10})  # shorter than dt = 20 ms
    with pytest.raises(TypeError, match="timing"):
        tasks.PDM(timing=[100, 800])
    with pytest.raises(ValueError, match="dt"):
        tasks.PDM(dt=0)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            make_batch("PDM", bad)
    with pytest.raises(ValueError, match="unknown condition"):
        make_batch("PDM", 2, coherance=0.1)
    with pytest.raises(ValueError, match="shape"):
        make_batch("PDM", 3, coherence=[0.1, 0.2])
    with pytest.raises(TypeError, match="three tasks"):
        tasks.MemoryPro()
    with pytest.raises(ValueError, match="three tasks"):
        tasks.make("cordsneuro/MemoryPro-v0")
    with pytest.raises(ValueError, match="coherences"):
        tasks.PDM(coherences=[0.0, 0.1])
    with pytest.raises(TypeError, match="TrialEnv"):
        make_batch(object(), 2)


def test_import_is_lazy():
    code = (
        "import sys, cordsneuro; assert 'neurogym' not in sys.modules and 'torch' not in sys.modules;"
        "from cordsneuro import tasks; assert 'neurogym' in sys.modules; print(tasks.PDM.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PDM"


def test_input_noise_is_white_noise_an_ideal_observer_is_the_same_at_any_dt():
    # an ideal observer integrates the evidence ∫ h dt over the stimulus; with noise of sd σ
    # per 20 ms sample scaled as √(20 / dt), its accuracy at coherence c is
    # Φ(c T / (σ √(20 T))) (T = 800 ms) at every dt: 0.736 for c = 0.01, σ = 0.1
    n = 6000
    accuracy = {}
    for dt in (10.0, 20.0):
        b = make_batch(tasks.PDM(dt=dt), n, seed=1, coherence=0.01)
        stim = _within(b.trial_info, "stimulus", b.inputs.shape[1])
        evidence = (b.inputs.numpy()[..., 0] * stim).sum(1) * dt
        accuracy[dt] = float((evidence > 0).mean())
    expected = 0.5 * (1 + math.erf(0.01 * 800 / (0.1 * math.sqrt(20 * 800)) / math.sqrt(2)))
    sd = math.sqrt(expected * (1 - expected) / n)
    assert abs(accuracy[10.0] - accuracy[20.0]) < 4 * math.sqrt(2) * sd
    for value in accuracy.values():
        assert abs(value - expected) < 4 * sd
    # the per-sample sd is σ √(20 / dt)
    b = make_batch(tasks.PDM(dt=5.0), 500, seed=0)
    stim = _within(b.trial_info, "stimulus", b.inputs.shape[1])
    residual = b.inputs.numpy()[..., 0][stim] - np.repeat(b.trial_info["coherence"], 160)
    assert abs(residual.std() - 0.2) < 0.003


def test_choices_the_paper_leaves_open_and_the_dubreuil_setting():
    # ours (the default) against Dubreuil et al. (2022), one argument away
    ours = make_batch(tasks.CDM(noise_std=0.0), 200, seed=0)
    theirs_task = tasks.CDM(variant="dubreuil2022")
    theirs = make_batch(theirs_task, 200, seed=0)
    n_time = ours.inputs.shape[1]
    decision = _within(ours.trial_info, "decision", n_time)
    fixation = _within(ours.trial_info, "fixation", n_time)
    stim = _within(ours.trial_info, "stimulus", n_time)
    rows = np.arange(200)
    cued = ours.trial_info["context"]
    np.testing.assert_allclose(ours.inputs.numpy()[rows, :, cued][decision], 0.1, rtol=1e-6)
    x = theirs.inputs.numpy()
    assert not x[..., :2][decision].any()  # no cue in the decision epoch
    np.testing.assert_allclose(x[rows, :, cued][_within(theirs.trial_info, "context", n_time)], 1)
    # noise on the signals in every epoch (fixation included), not only the stimulus
    assert x[..., 2][fixation].std() > 0.05 and not ours.inputs.numpy()[..., 2][~stim].any()
    # one output trained towards ±1
    assert theirs_task.answer == "continuous" and theirs_task.n_outputs == 1
    signs = theirs.targets.numpy()[theirs.mask.numpy()][:, 0]
    np.testing.assert_array_equal(signs, np.where(theirs.trial_info["target"] == 1, 1.0, -1.0))
    scores = theirs_task.score(signs[:, None] * 0.3, theirs.trial_info)
    assert scores["accuracy"] == 1.0
    # each choice also on its own
    assert tasks.CDM(cue_in_decision=False, cue_amplitude=1.0).config["cue_amplitude"] == 1.0
    assert tasks.PDM(answer_format="signed").n_outputs == 1
    # PWM: f / f_max (ours) or (f − 22) / 24 (Dubreuil et al.)
    pwm = make_batch(tasks.PWM(variant="dubreuil2022"), 300, seed=0)
    s1 = _within(pwm.trial_info, "stimulus_1", pwm.inputs.shape[1])
    np.testing.assert_allclose(
        pwm.inputs.numpy()[..., 0][s1],
        np.repeat((pwm.trial_info["f1"] - 22) / 24, 5).astype(np.float32),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="variant"):
        tasks.CDM(variant="mante")
    with pytest.raises(ValueError, match="noise_epochs"):
        tasks.PDM(noise_epochs="delay")
