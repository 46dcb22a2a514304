"""The published checkpoint: key conversion from the authors' format, loading, cache,
verification and clear errors. No network: downloads are served by a fake urlopen."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import urllib.error

import pytest
import torch

from cordsneuro.models import CordsNet, cordsnet_r2, cordsnet_r4, cordsnet_r8, pretrained
from cordsneuro.models.pretrained import (
    convert_published_state_dict,
    ensure_checkpoint,
    git_blob_id,
    load_published_weights,
)
from cordsneuro.models.weights import WEIGHTS, get_weights

WN = ".parametrizations.weight.original"


def published_state_dict(
    depth: int = 8, n_channel: int = 3, n_class: int = 1000, side: int = 56, seed: int = 0
):
    """A state dict with the key names and shapes of the authors' `cordsnet` class
    (wmws2/cordsnet, cordsnet.py), written out from its constructor."""
    g = torch.Generator().manual_seed(seed)
    channels = [64, 64, 64, 128, 128, 256, 256, 512, 512]
    sizes = [side, side, side // 2, side // 2, side // 4, side // 4, side // 8, side // 8]
    sd = {}

    def conv(name, c_in, c_out, k):
        sd[name + WN + "0"] = torch.rand(c_out, 1, 1, 1, generator=g) + 0.5
        sd[name + WN + "1"] = torch.randn(c_out, c_in, k, k, generator=g)

    conv("inp_conv", n_channel, 64, 7)
    conv("inp_skip", 64, 64, 3)
    for i in range(depth):
        conv(f"area_conv.{i}", channels[i + 1], channels[i + 1], 3)
        sd[f"conv_bias.{i}"] = 0.1 * torch.randn(channels[i + 1], sizes[i], sizes[i], generator=g)
        conv(f"area_area.{i}", channels[i], channels[i + 1], 3)
    skipchannels = [64, 128, 256, 512]
    for i in range(depth // 2 - 1):
        conv(f"skip_area.{i}", skipchannels[i], skipchannels[i + 1], 1)
    sd["out_fc" + WN + "0"] = torch.rand(n_class, 1, generator=g) + 0.5
    sd["out_fc" + WN + "1"] = torch.randn(n_class, channels[depth], generator=g)
    sd["out_fc.bias"] = torch.randn(n_class, generator=g)
    return sd


def test_published_r8_keys_and_shapes_load_into_ours():
    sd = published_state_dict()
    model = load_published_weights(CordsNet(8, seed=0), sd)
    # every tensor arrived under its converted name, unchanged
    ours = model.state_dict()
    assert ours["recurrent.5" + WN + "1"].equal(sd["area_conv.5" + WN + "1"])
    assert ours["feedforward.2" + WN + "0"].equal(sd["area_area.2" + WN + "0"])
    assert ours["area_bias.7"].equal(sd["conv_bias.7"])
    assert ours["skip.2" + WN + "1"].equal(sd["skip_area.2" + WN + "1"])
    assert ours["fc.bias"].equal(sd["out_fc.bias"])
    assert len(convert_published_state_dict(sd)) == len(sd) == len(ours)
    # the materialised weight is the weight-norm formula w = g v / ||v|| (per output unit)
    g, v = sd["area_area.4" + WN + "0"], sd["area_area.4" + WN + "1"]
    expected = g * v / v.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)
    assert torch.allclose(model.feedforward[4].weight, expected, rtol=1e-6, atol=1e-7)


def test_module_prefix_and_small_models(tmp_path):
    sd = {f"module.{k}": v for k, v in published_state_dict(4, 1, 10, side=8).items()}
    path = tmp_path / "r4.pth"
    torch.save(sd, path)
    model = cordsnet_r4(weights=path)  # in_channels, classes and image size from the file
    assert (model.in_channels, model.num_classes, model.image_size) == (1, 10, (32, 32))
    assert model.area_bias[2].equal(sd["module.conv_bias.2"])


def test_mismatches_are_reported_by_name():
    sd = published_state_dict(4, side=8, n_class=10)
    with pytest.raises(
        ValueError, match=r"area_bias\.0: checkpoint \(64, 8, 8\), model \(64, 56, 56\)"
    ):
        load_published_weights(CordsNet(4, num_classes=10, image_size=224), sd)
    with pytest.raises(ValueError, match=r"missing keys \[.*recurrent\.4"):
        load_published_weights(CordsNet(6, num_classes=10, image_size=32), sd)
    extra = dict(sd, **{"something.else": torch.zeros(1)})
    with pytest.raises(ValueError, match="something.else"):
        load_published_weights(CordsNet(4, num_classes=10, image_size=32), extra)


def test_git_blob_id_matches_git(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00cordsnet\x01" * 1000)
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_blob_id(path) == expected


class FakeResponse(io.BytesIO):
    headers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def served_checkpoint(tmp_path, monkeypatch):
    """A checkpoint file 'published' at CHECKPOINT_URL with its blob id."""
    monkeypatch.setenv("CORDSNEURO_HOME", str(tmp_path / "cache"))
    src = tmp_path / "served.pth"
    torch.save(published_state_dict(8, seed=3), src)
    entry = WEIGHTS[("imagenet", 8)]
    monkeypatch.setitem(
        WEIGHTS, ("imagenet", 8), dataclasses.replace(entry, blob_id=git_blob_id(src))
    )
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return FakeResponse(src.read_bytes())

    monkeypatch.setattr(pretrained.urllib.request, "urlopen", fake_urlopen)
    return src, calls


def test_imagenet_weights_download_once_verify_and_load(served_checkpoint, tmp_path):
    src, calls = served_checkpoint
    model = cordsnet_r8(weights="imagenet")
    assert calls == [pretrained.CHECKPOINT_URL]
    assert (tmp_path / "cache" / "cordsnetr8.pth").read_bytes() == src.read_bytes()
    assert not model.training
    cordsnet_r8(weights="imagenet")  # from the cache now
    assert len(calls) == 1
    sd = torch.load(src, weights_only=True)
    assert model.area_bias[3].equal(sd["conv_bias.3"])
    # the registry's metadata comes with the model
    entry = get_weights("imagenet", 8)
    assert model.meta["preprocessing"]["mean"] == [0.485, 0.456, 0.406]
    assert model.meta["preprocessing"]["image_size"] == [224, 224]
    assert len(model.meta["classes"]) == entry.num_classes == 1000
    assert sum(p.numel() for p in model.parameters()) == entry.num_params


def test_classify_applies_the_checkpoints_preprocessing(tmp_path):
    torch.manual_seed(0)
    model = cordsnet_r2(num_classes=3, image_size=32, seed=0)
    model.meta = {
        "preprocessing": {"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3], "image_size": [32, 32]},
        "classes": ["cat", "dog", "owl"],
    }
    raw = torch.rand(2, 3, 48, 40)  # raw images in [0, 1] of another size
    resized = torch.nn.functional.interpolate(
        raw, size=(32, 32), mode="bilinear", antialias=True, align_corners=False
    )
    mean = torch.tensor([0.5, 0.4, 0.3]).reshape(3, 1, 1)
    std = torch.tensor([0.2, 0.25, 0.3]).reshape(3, 1, 1)
    expected = model.simulate((resized - mean) / std, record_steps=[-1]).outputs[:, -1]
    logits, names = model.classify(raw, return_names=True)
    torch.testing.assert_close(logits, expected)
    assert names == [["cat", "dog", "owl"][i] for i in expected.argmax(1).tolist()]
    # saved with its meta, a directory rebuilds it through the builder alone
    model.save(tmp_path / "r2")
    again = cordsnet_r2(weights=tmp_path / "r2")
    assert again.meta == model.meta
    torch.testing.assert_close(again.classify(raw), logits)
    with pytest.raises(ValueError, match="not CordsNet-R4"):
        cordsnet_r4(weights=tmp_path / "r2")


def test_corrupted_download_is_refused(served_checkpoint, tmp_path, monkeypatch):
    src, _ = served_checkpoint
    monkeypatch.setattr(
        pretrained.urllib.request,
        "urlopen",
        lambda url, timeout=None: FakeResponse(src.read_bytes()[:-100]),
    )
    with pytest.raises(ValueError, match="corrupted download"):
        ensure_checkpoint()
    assert not any((tmp_path / "cache").iterdir())  # nothing half-written is left


def test_corrupted_cache_file_is_refused(served_checkpoint, tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "cordsnetr8.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupted or not the published checkpoint"):
        ensure_checkpoint()


def test_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CORDSNEURO_HOME", str(tmp_path / "home"))

    def offline(url, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(pretrained.urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "home" / "cordsnetr8.pth")):
        cordsnet_r8(weights="imagenet")


def test_bad_weights_arguments(tmp_path):
    with pytest.raises(ValueError, match="did you mean 'imagenet'"):
        cordsnet_r8(weights="imagnet")
    with pytest.raises(ValueError, match="R8 only"):
        cordsnet_r2(weights="imagenet")
    with pytest.raises(FileNotFoundError):
        cordsnet_r8(weights=tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        cordsnet_r8(weights=junk)
    torch.save(published_state_dict(4, side=8, n_class=10), tmp_path / "r4.pth")
    with pytest.raises(ValueError, match="R4, not R8"):
        cordsnet_r8(weights=tmp_path / "r4.pth")
