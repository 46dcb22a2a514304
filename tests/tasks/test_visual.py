"""Image tasks: batches whose pixels agree with the trial conditions (measured from the frames),
the neurogym interface, pools, registration and bad input."""

import gymnasium
import numpy as np
import pytest
from scipy import ndimage

from cordsneuro import tasks
from cordsneuro.tasks import stimuli as S

SHORT = {
    "Numerosity": {"fixation": 40, "sample": 60, "delay": 40, "test": 40, "decision": 40},
    "Category": {"fixation": 40, "sample": 60, "delay": 40, "decision": 40},
    "DelayedResponse": {"fixation": 40, "cue": 40, "delay": 60, "response": 40},
    "Motion": {"fixation": 40, "motion": 200, "decision": 40},
}


def frame(batch, i, epoch):
    return batch.inputs[i, int(batch.trial_info[f"{epoch}_start"][i])].numpy()


def count(image):
    return ndimage.label(image[0] > 0)[1]


@pytest.mark.parametrize("name", list(SHORT))
def test_batch_shapes_masks_and_reproducibility(name):
    task = tasks.make(name, timing=SHORT[name])
    b = tasks.make_batch(task, 6, seed=1)
    n_steps = sum(SHORT[name].values()) // 20
    assert tuple(b.inputs.shape) == (6, n_steps, 1, 32, 32)
    assert b.inputs.min() >= 0 and b.inputs.max() <= 1
    scored = task.scored_periods[0]
    steps = (b.trial_info[f"{scored}_end"] - b.trial_info[f"{scored}_start"])[0]
    assert (b.mask.sum(1) == steps).all()
    again = tasks.make_batch(tasks.make(name, timing=SHORT[name]), 6, seed=1)
    assert (again.inputs == b.inputs).all() and (again.targets == b.targets).all()


def test_numerosity_frames_show_the_conditions():
    task = tasks.Numerosity(timing=SHORT["Numerosity"], image_size=64)
    b = tasks.make_batch(task, 24, seed=0)
    info = b.trial_info
    for i in range(24):
        sample, test = count(frame(b, i, "sample")), count(frame(b, i, "test"))
        assert sample == info["sample"][i] and test == info["test"][i]
        assert b.trial_info["target"][i] == int(sample == test)  # match from the pixels
        assert frame(b, i, "delay").max() == 0  # black screen
    assert 0.2 < info["target"].mean() < 0.8  # both answers occur
    assert set(info["sample_control"]) <= set(S.CONTROL_SETS)


def test_category_frames_are_the_morphs():
    task = tasks.Category(timing=SHORT["Category"])
    b = tasks.make_batch(task, 8, seed=0)
    info = b.trial_info
    for i in range(8):
        expected = S.category_morph(
            info["level"][i], cat=task.cats[info["cat"][i]], dog=task.dogs[info["dog"][i]]
        )
        np.testing.assert_array_equal(frame(b, i, "sample"), expected)
        assert info["target"][i] == int(info["level"][i] > 50)
    assert 50.0 not in set(info["level"])


def test_delayed_response_cue_positions():
    task = tasks.DelayedResponse(timing=SHORT["DelayedResponse"], image_size=64)
    b = tasks.make_batch(task, 16, seed=0)
    for i in range(16):
        cue = frame(b, i, "cue")[0]
        labels, n = ndimage.label(cue > 0)
        assert n == 2
        sizes = ndimage.sum(cue, labels, [1, 2])
        centre = np.array(ndimage.center_of_mass(cue, labels, int(np.argmax(sizes)) + 1)) + 0.5
        np.testing.assert_allclose(
            centre, S.odr_position(int(b.trial_info["position"][i]), 64), atol=0.2
        )
        assert count(frame(b, i, "delay")) == 1  # fixation point only
        assert frame(b, i, "response").max() == 0  # fixation off: the go signal
    assert (b.targets[b.mask] == b.trial_info["position"].repeat(2)).all()


def test_delayed_response_position_answer():
    task = tasks.make("DelayedResponsePosition", timing=SHORT["DelayedResponse"])
    b = tasks.make_batch(task, 4, seed=0)
    theta = 2 * np.pi * b.trial_info["position"] / 8
    np.testing.assert_allclose(
        b.targets[:, -1].numpy(), np.stack([np.cos(theta), np.sin(theta)], 1), atol=1e-6
    )


def test_motion_coherence_from_batch_frames(measured_coherence):
    task = tasks.Motion(timing={"fixation": 20, "motion": 2000, "decision": 20}, image_size=48)
    b = tasks.make_batch(task, 3, seed=0, coherence=0.512, direction=[1, -1, 1])
    for i, d in enumerate([1, -1, 1]):
        s, e = b.trial_info["motion_start"][i], b.trial_info["motion_end"][i]
        dots = b.inputs[i, s:e].numpy().copy()
        dots[:, :, 20:28, 20:28] = 0  # the fixation point (at the centre) is not a dot
        assert measured_coherence(dots, 3) == pytest.approx(0.512 * d, abs=0.08)
    assert (b.trial_info["target"] == [1, 0, 1]).all()


def test_neurogym_trial_matches_batch():
    env = gymnasium.make("cordsneuro/Numerosity-v0", timing=SHORT["Numerosity"])
    base = env.unwrapped
    base.seed(3)
    trial = base.new_trial()
    b = tasks.make_batch(tasks.make("Numerosity", timing=SHORT["Numerosity"]), 1, seed=3)
    assert base.ob.shape == tuple(b.inputs.shape[1:])
    np.testing.assert_array_equal(base.ob, b.inputs[0].numpy())
    assert trial["sample"] == b.trial_info["sample"][0] and base.gt[-1] == b.targets[0, -1]


def test_pool_repeats_trials():
    task = tasks.Category(timing=SHORT["Category"], pool=5)
    b = tasks.make_batch(task, 40, seed=0)
    assert set(b.trial_info["trial_seed"]) <= set(range(5))
    rows = {bytes(r.numpy().tobytes()) for r in b.inputs}
    assert len(rows) <= 5


def test_fixed_conditions_and_bad_input():
    b = tasks.make_batch(
        tasks.make("Motion", timing=SHORT["Motion"]), 4, coherence=0.256, direction=-1
    )
    assert (b.trial_info["coherence"] == 0.256).all() and (b.trial_info["target"] == 0).all()
    with pytest.raises(ValueError, match="at least one item"):
        tasks.make_batch("Numerosity", 2, sample=0)
    with pytest.raises(ValueError, match="coherence must be a fraction in \\[0, 1\\]"):
        tasks.make_batch("Motion", 2, coherence=1.5)
    with pytest.raises(ValueError, match="morph level must be in \\[0, 100\\]"):
        tasks.make_batch("Category", 2, level=150.0)
    with pytest.raises(ValueError, match="boundary"):
        tasks.Category(levels=(0, 50, 100))
    with pytest.raises(ValueError, match="pool"):
        tasks.Motion(pool=0)
    with pytest.raises(ValueError, match="variant"):
        tasks.Motion(variant="free")


def test_reaction_times():
    from cordsneuro.tasks.visual import reaction_times

    out = np.zeros((2, 10, 2))
    out[0, 6:, 1] = 2.0
    rt = reaction_times(out, np.array([2, 2]), threshold=1.0, dt=20.0)
    assert rt[0] == 100.0 and np.isnan(rt[1])
