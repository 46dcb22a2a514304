"""MultiAreaModel: the cached fast path equals the step-by-step dynamics, only the RNN learns,
save/load, analyses through the DynamicalRNN interface, an untrained model at chance, bad
input."""

import copy

import pytest
import torch

import cordsneuro
from cordsneuro import CordsNet, FullRNN, MultiAreaModel, tasks

TIMING = {"fixation": 20, "cue": 20, "delay": 20, "response": 20}


@pytest.fixture(scope="module")
def front_end():
    fe = CordsNet(2, in_channels=1, num_classes=3, image_size=16, seed=0)
    with torch.no_grad():
        for b in fe.area_bias:
            b.fill_(0.05)  # some spontaneous activity
    return fe


@pytest.fixture(scope="module")
def batch():
    task = tasks.DelayedResponse(timing=TIMING, image_size=16)
    return tasks.make_batch(task, 4, seed=0)


def test_fast_cached_path_equals_plain_dynamics(front_end, batch, one_thread):
    model = MultiAreaModel(front_end, output_size=8, n_neurons=16, seed=0)
    model.input_gain.fill_(50.0)
    fast = model(batch.inputs)
    plain = model(batch.inputs, record_front_end=True)
    assert len(plain.rates) == 3 and plain.rates[-1].shape == fast.rates.shape == (4, 4, 16)
    torch.testing.assert_close(fast.outputs, plain.outputs, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(fast.rates, plain.rates[-1], rtol=1e-4, atol=1e-6)
    for a, b in zip(fast.final_state, plain.final_state):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert model.cache_misses == 4 and model.cache_hits == 0
    again = model(batch.inputs)
    assert model.cache_hits == 4  # the same trials: no front-end simulation
    torch.testing.assert_close(again.outputs, fast.outputs)
    assert fast.outputs.abs().max() > 0


def test_only_the_rnn_trains(front_end, batch, one_thread):
    model = MultiAreaModel(front_end, output_size=8, n_neurons=16, seed=0)
    before = copy.deepcopy(model.state_dict())
    out = model(batch.inputs).outputs
    loss = torch.nn.functional.cross_entropy(out[batch.mask], batch.targets[batch.mask])
    loss.backward()
    assert all(p.grad is None for p in model.front_end.parameters())
    assert model.rnn.w_inp.grad is not None and model.rnn.w_inp.grad.abs().sum() > 0
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1).step()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("front_end."))
    assert not torch.equal(before["rnn.w_inp"], after["rnn.w_inp"])


def test_save_load_round_trip(front_end, batch, tmp_path):
    fe = copy.deepcopy(front_end)
    fe.meta = {"preprocessing": {"mean": [0.5], "std": [0.25], "image_size": [16, 16]}}
    model = MultiAreaModel(fe, output_size=8, n_neurons=16, seed=1, pool_size=2)
    gain = model.calibrate(batch.inputs)
    assert gain > 0
    model.save(tmp_path / "m")
    loaded = cordsneuro.load(tmp_path / "m")
    assert isinstance(loaded, MultiAreaModel) and loaded.pool_size == 2
    assert float(loaded.input_gain) == pytest.approx(gain)
    torch.testing.assert_close(loaded(batch.inputs).outputs, model(batch.inputs).outputs)


def test_dynamical_rnn_interface(front_end, batch, one_thread):
    from cordsneuro.analyses import PCA, find_fixed_points

    # gain 0.5: a contracting RNN, so that a constant image gives one stable fixed point
    model = MultiAreaModel(front_end, output_size=8, n_neurons=16, seed=0, gain=0.5)
    assert model.n_areas == 3 and model.n_neurons == 2 * 64 * 4 * 4 + 16
    state = model.initial_state(2)
    flat = model.flatten_state(state)
    assert flat.shape == (2, model.n_neurons)
    for a, b in zip(model.unflatten_state(flat), state):
        torch.testing.assert_close(a, b)
    # without input the spontaneous front end and a zero RNN with zero bias are at rest
    v = model.velocity(state)
    assert max(float(x.detach().abs().max()) for x in v) < 1e-5
    image = batch.inputs[0, 1]  # the cue frame, held: the state relaxes towards a fixed point
    held = image[None, None].expand(1, 30, *image.shape)
    near = model.flatten_state(model(held, record=False, record_front_end=True).final_state)
    fps = find_fixed_points(model, near, image, n_iter=20, lbfgs_iter=100, q_tol=1e-8,
                            compute_jacobians=False)  # fmt: skip
    assert len(fps) == 1 and float(fps.q[0]) < 1e-8
    assert float((fps.states[0] - near[0].double()).abs().max()) < 0.05
    pca = PCA(3).fit(model(batch.inputs).rates.reshape(-1, 16))
    assert pca.explained_variance_ratio_.shape == (3,)


def test_untrained_model_scores_at_chance(front_end):
    task = tasks.Motion(timing={"fixation": 20, "motion": 80, "decision": 20}, image_size=16)
    model = MultiAreaModel(front_end, output_size=2, n_neurons=16, seed=0)
    ev = tasks.evaluate(model, task, n_trials=200)
    assert 0.38 < ev.accuracy < 0.62


def test_bad_input(front_end, batch):
    with pytest.raises(TypeError, match="front_end must be a CordsNet"):
        MultiAreaModel(FullRNN(8, 2, 2), output_size=2)
    with pytest.raises(ValueError, match="output_size"):
        MultiAreaModel(front_end)
    with pytest.raises(ValueError, match="input_size=64"):
        MultiAreaModel(front_end, FullRNN(8, 10, 2, dt=20.0))
    with pytest.raises(ValueError, match="whole multiple"):
        MultiAreaModel(front_end, FullRNN(8, 64, 2, dt=5.0))
    with pytest.raises(ValueError, match="pool_size"):
        MultiAreaModel(front_end, output_size=2, pool_size=9)
    model = MultiAreaModel(front_end, output_size=8, n_neurons=8)
    big = tasks.make_batch(tasks.DelayedResponse(timing=TIMING, image_size=32), 2, seed=0)
    with pytest.raises(ValueError, match="image_size"):
        model(big.inputs)
    with pytest.raises(ValueError, match="inputs must be images"):
        model(batch.inputs[:, :, 0])
