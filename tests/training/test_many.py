"""train_many: K networks trained as one batched model end exactly where each would alone."""

import copy

import pytest
import torch

from cordsneuro import ConvRNN, FullRNN, LowRankRNN, train
from cordsneuro.training import train_many

# Batched matrix products and per-network gradient norms sum in another order than the
# single-network path: after 12 AdamW steps the weights agree to ~1e-6 relative.
RTOL = 1e-4
SETTINGS = {"steps": 12, "eval_every": 6, "eval_trials": 32, "batch_size": 16, "progress": False}


def _max_rel_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    with torch.no_grad():
        return max(
            float((pa - pb).abs().max() / pb.abs().max().detach())
            for pa, pb in zip(a.parameters(), b.parameters())
        )


BUILDERS = {
    "full": lambda s: FullRNN(32, 1, 2, seed=s, activation="tanh"),
    "lowrank": lambda s: LowRankRNN(32, 1, 2, rank=2, seed=s, activation="tanh"),
    "conv": lambda s: ConvRNN(3, 3, 3, 1, 2, kernel_size=2, seed=s, activation="tanh"),
}


@pytest.mark.parametrize("arch", ["full", "lowrank", pytest.param("conv", marks=pytest.mark.slow)])
def test_three_networks_batched_equal_each_trained_alone(one_thread, arch):
    models = [BUILDERS[arch](s) for s in range(3)]
    start = [copy.deepcopy(m) for m in models]
    alone = [copy.deepcopy(m) for m in models]
    lrs, seeds = [3e-3, 1e-3, 1e-2], [0, 1, 2]
    results = train_many(models, "PDM", lr=lrs, seed=seeds, **SETTINGS)
    for model, solo, init, lr, seed, res in zip(models, alone, start, lrs, seeds, results):
        expected = train(solo, "PDM", lr=lr, seed=seed, **SETTINGS)
        assert _max_rel_diff(model, init) > 100 * RTOL  # training moved the weights
        assert _max_rel_diff(model, solo) < RTOL
        assert res.steps == expected.steps == 12 and res.stopped == "steps"
        assert res.history["loss"] == pytest.approx(expected.history["loss"], rel=RTOL)
        assert res.metrics == pytest.approx(expected.metrics, abs=1 / 32)


def test_a_diverging_network_stops_alone(one_thread):
    """lr = 1e37 blows the weights up within a few steps until the loss is Inf/NaN: that network
    stops with the weights of its last good step (where train alone stops too) and the others
    go on."""
    models = [FullRNN(32, 1, 2, seed=s, activation="tanh") for s in range(3)]
    alone = [copy.deepcopy(m) for m in models]
    lrs = [3e-3, 1e37, 3e-3]
    results = train_many(models, "PDM", lr=lrs, seed=[0, 1, 2], **SETTINGS)
    assert [r.stopped for r in results] == ["steps", "diverged", "steps"]
    with pytest.raises(FloatingPointError, match="became (nan|inf)") as error:
        train(alone[1], "PDM", lr=lrs[1], seed=1, **SETTINGS)
    assert results[1].history["diverged"] == str(error.value)  # same step, same message
    assert results[1].steps < 12
    assert all(torch.isfinite(p).all() for p in models[1].parameters())
    for i in range(3):
        if i != 1:
            train(alone[i], "PDM", lr=lrs[i], seed=i, **SETTINGS)
        assert _max_rel_diff(models[i], alone[i]) < RTOL


def test_checkpoint_of_a_batched_network_resumes_alone(one_thread, tmp_path):
    models = [LowRankRNN(32, 1, 2, rank=2, seed=s, activation="tanh") for s in range(2)]
    fresh = copy.deepcopy(models[0])
    alone = copy.deepcopy(models[0])
    settings = {**SETTINGS, "steps": 6}
    train_many(
        models, "PDM", seed=[0, 1], checkpoint_dirs=[tmp_path / "a", tmp_path / "b"], **settings
    )
    resumed = train(fresh, "PDM", seed=0, checkpoint_dir=tmp_path / "a", resume=True, **SETTINGS)
    expected = train(alone, "PDM", seed=0, **SETTINGS)
    assert resumed.steps == 12
    assert _max_rel_diff(fresh, alone) < RTOL
    assert resumed.history["loss"] == pytest.approx(expected.history["loss"], rel=RTOL)


def test_bad_batches_of_networks_are_refused():
    with pytest.raises(ValueError, match="share one class"):
        train_many([FullRNN(8, 1, 2), LowRankRNN(8, 1, 2)], "PDM", steps=1)
    with pytest.raises(ValueError, match="noise_std"):
        train_many([FullRNN(8, 1, 2, noise_std=0.1)], "PDM", steps=1)
    with pytest.raises(ValueError, match="one value or one per model"):
        train_many([FullRNN(8, 1, 2), FullRNN(8, 1, 2)], "PDM", steps=1, lr=[1e-3])
    with pytest.raises(ValueError, match="other parameter shapes"):
        train_many([FullRNN(8, 1, 2), FullRNN(9, 1, 2)], "PDM", steps=1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: FullRNN(20, 3, 2, seed=0, noise_std=0.1),
        lambda: FullRNN(20, 3, 2, seed=0, activation="relu", dale_ratio=0.8),
        lambda: LowRankRNN(20, 3, 2, rank=2, seed=0),
        lambda: ConvRNN(2, 3, 3, 3, 2, kernel_size=2, seed=0, tau=torch.linspace(50, 150, 18)),
    ],
)
def test_whole_trial_path_equals_the_step_by_step_path(build):
    """forward's fast path (run_trials) against the base class's Euler steps, noise included."""
    from cordsneuro.dynamics import DynamicalRNN

    model, x = build(), torch.randn(4, 15, 3)
    fast = model(x, generator=torch.Generator().manual_seed(1))
    plain = DynamicalRNN.forward(model, x, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(fast.rates, plain.rates, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast.outputs, plain.outputs, rtol=1e-5, atol=1e-6)
