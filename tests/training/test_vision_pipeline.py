"""The training method's stages: chaining, refusals, the inverse initialisation, outputs that
load with their preprocessing."""

import json

import pytest
import torch

import cordsneuro
from cordsneuro.models.cordsnet import CordsNet, cordsnet_r2
from cordsneuro.models.feedforward import CordsNetCNN
from cordsneuro.training.vision import pipeline as vp
from cordsneuro.training.vision.initialization import (
    cnn_targets,
    inverse_init,
    steady_state_errors,
)


def _run(tmp_path, **kw):
    kw = {"train_limit": 64, "test_limit": 32, "progress": False, **kw}
    return vp.RunSpec("digits", tmp_path / "out", depth=2, **kw)


def test_a_stage_without_its_predecessor_is_refused(tmp_path, one_thread):
    run = _run(tmp_path)
    for stage, before in vp.PREDECESSOR.items():
        with pytest.raises(vp.StageError, match=f"stage '{before}'.*missing"):
            vp.run_stage(run, stage)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.json"))


def test_bad_names_are_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        vp.RunSpec("svhn", tmp_path)
    with pytest.raises(ValueError, match="depth must be one of"):
        vp.RunSpec("digits", tmp_path, depth=3)
    with pytest.raises(ValueError, match="unknown stage 'warmup'"):
        vp.run_stage(_run(tmp_path), "warmup")
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        vp.run_stage(vp.RunSpec("cifar10", tmp_path / "o", root=tmp_path), "cnn")
    assert not (tmp_path / "o").exists()


def test_cnn_stage_then_refusals_keep_what_was_written(tmp_path, one_thread):
    run = _run(tmp_path)
    result = vp.run_stage(run, "cnn", epochs=1)
    d = tmp_path / "out" / "cnn"
    assert result["iterations"] == 3  # 3 learning-rate phases x 1 epoch x 1 batch of 64
    saved = (d / "results.json").read_text()
    rows = (d / "metrics.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("stage,epoch")
    assert not (d / "checkpoint").exists()  # removed once the stage finished
    with pytest.raises(vp.StageError, match="already finished"):
        vp.run_stage(run, "cnn", epochs=1)
    assert (d / "results.json").read_text() == saved
    cnn = vp.load_cnn(d / "model")
    assert cnn.meta["classes"] == [str(i) for i in range(10)]
    # an unfinished run of another configuration cannot be resumed
    other = _run(tmp_path, seed=5)
    (tmp_path / "out" / "fold").mkdir()
    (tmp_path / "out" / "fold" / "run.json").write_text(
        json.dumps({"stage": "fold", "run": other.identity(), "config": {}})
    )
    with pytest.raises(vp.StageError, match="another configuration"):
        vp.run_stage(run, "fold", resume=True)
    with pytest.raises(vp.StageError, match="pass --resume"):
        vp.run_stage(run, "fold")


def test_inverse_init_matches_each_cnn_layer(one_thread):
    """Area 0's input is affine in the image: with images spanning all 64 pixels the fit is
    exact; area 1 is fitted in least squares and must come close."""
    torch.manual_seed(0)
    cnn = CordsNetCNN(2, 1, 10, image_size=8, seed=1)
    with torch.no_grad():  # BatchNorm statistics of a trained-looking network
        for m in cnn.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    cnn.eval()
    images = torch.randn(400, 1, 8, 8)
    model, report = inverse_init(cnn, images[:320].split(80), images[320:360], ridges=(1e-6, 1e-3))
    assert model.activation == "identity"
    errors = steady_state_errors(model, cnn, images[360:], steps=100)
    assert errors[0] < 1e-4
    assert errors[1] < 0.1
    # an untrained linear CordsNet is nowhere near the CNN
    fresh = CordsNet(2, 1, 10, image_size=8, activation="identity", seed=0)
    assert min(steady_state_errors(fresh, cnn, images[360:], steps=100)) > 0.5
    assert len(cnn_targets(cnn, images[:2])) == 2


def test_saved_model_loads_with_its_preprocessing(tmp_path):
    run = _run(tmp_path)
    model = CordsNet(2, 1, 10, image_size=8, seed=3)
    meta = vp._meta(run, "finetune", [f"digit {i}" for i in range(10)])
    vp.save_model(model, tmp_path / "m", meta)
    model.meta = {}  # the original then takes images as they are
    for loaded in (cordsnet_r2(weights=tmp_path / "m"), cordsneuro.load(tmp_path / "m")):
        assert loaded.meta == meta
        raw = torch.rand(3, 1, 8, 8)
        mean, std = meta["preprocessing"]["mean"][0], meta["preprocessing"]["std"][0]
        with torch.no_grad():
            by_hand = model.classify((raw - mean) / std)
            logits, names = loaded.classify(raw, return_names=True)
            unnormalised = model.classify(raw)
        torch.testing.assert_close(logits, by_hand)
        assert not torch.allclose(logits, unnormalised)
        assert names == [f"digit {i}" for i in by_hand.argmax(1).tolist()]


def test_matched_fc_neurons_matches_the_parameter_count():
    n = vp.matched_fc_neurons(188_746, 64, 10)
    count = n * n + n * (64 + 1 + 10) + 10
    assert count <= 188_746 < (n + 1) ** 2 + (n + 1) * 75 + 10
