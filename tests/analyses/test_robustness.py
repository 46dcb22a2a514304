"""Fig. 3B–D analyses on small random networks: the continuous-time model attenuates per-step
input noise (eq. 9), returns to its baseline, and the comparison models save and load."""

import numpy as np
import pytest
import torch

from cordsneuro import CordsNet
from cordsneuro.analyses import (
    DiscreteRecurrentCNN,
    load_comparison_model,
    noise_robustness,
    save_comparison_model,
    sequence_response,
)
from cordsneuro.models import CordsNetCNN


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    cordsnet = CordsNet(2, in_channels=1, num_classes=4, image_size=16, seed=0).eval()
    cnn = CordsNetCNN(2, 1, 4, image_size=16, seed=0).eval()
    rcnn = DiscreteRecurrentCNN(2, 1, 4, image_size=16, seed=0).eval()
    images = torch.rand(2, 1, 16, 16)
    return cordsnet, cnn, rcnn, images


def test_noise_attenuated_by_continuous_time(nets, one_thread):
    cordsnet, cnn, _, images = nets
    labels = torch.tensor([0, 1])
    kw = {"levels": [0.0, 0.5, 1.0], "stimulus_ms": 200.0, "window_ms": 20.0}
    res = noise_robustness(cordsnet, cnn, images, labels, **kw)
    for model in ("CordsNet", "CNN"):
        assert res.deviation[model][0] == pytest.approx(0.0, abs=1e-12)
        assert res.deviation[model][2] > res.deviation[model][1] > 0
    assert res.accuracy["CNN"].shape == (3,) and res.ratio().shape == (3,)
    # eq. 9: each step lets in α = dt/τ of a new noisy drive; the same network with a 4× slower
    # τ (same weights, same fixed points) averages the noise over 4× more steps (for a linear
    # filter the variance falls as α / (2 − α): 4.3×; the ReLUs rectify part of the noise into
    # a mean shift that no averaging removes, so less here)
    slow = CordsNet(2, in_channels=1, num_classes=4, image_size=16, tau=40.0).eval()
    slow.load_state_dict(cordsnet.state_dict())
    res_slow = noise_robustness(slow, cnn, images, labels, **kw)
    assert (res_slow.deviation["CordsNet"][1:] < res.deviation["CordsNet"][1:]).all()
    assert res_slow.deviation["CordsNet"][1] < res.deviation["CordsNet"][1] / 1.5


def test_mean_shift_comes_from_rectification(nets, one_thread):
    # eq. 9 applies the rectifier inside the update: near threshold it passes the positive half
    # of the noise, so the noise-averaged output moves away from the noiseless one. The same
    # weights with a linear update (PReLU slope 1) average the noise out: no mean shift.
    cordsnet, cnn, _, images = nets
    labels = torch.tensor([0, 1])
    kw = {"levels": [0.5], "stimulus_ms": 200.0, "window_ms": 100.0, "repeats": 8}
    linear = CordsNet(
        2, in_channels=1, num_classes=4, image_size=16, activation="prelu", prelu_slope=1.0
    ).eval()
    linear.load_state_dict(cordsnet.state_dict())
    fraction = {}
    for name, net in (("relu", cordsnet), ("linear", linear)):
        res = noise_robustness(net, cnn, images, labels, **kw)
        fraction[name] = res.mean_shift["CordsNet"][0] / res.deviation["CordsNet"][0]
        assert res.fluctuation("CordsNet")[0] > 0
    assert abs(fraction["linear"]) < 0.1 and fraction["relu"] > 0.1 + fraction["linear"]
    with pytest.raises(ValueError, match="repeats"):
        noise_robustness(cordsnet, cnn, images, labels, repeats=1)
    with pytest.raises(ValueError, match="component"):
        res.ratio("bias")


def test_sequence_response(nets, one_thread):
    cordsnet, cnn, rcnn, images = nets
    res = sequence_response(
        cordsnet, images, cnn=cnn, rcnn=rcnn, scenario="sequence", on_ms=40.0, off_ms=200.0
    )
    assert [w[0] for w in res.windows] == ["image A", "image B", "blank"]
    assert res.times["CordsNet"][-1] == pytest.approx(280.0)
    assert res.probabilities["CordsNet"].shape == (140, 4)
    np.testing.assert_allclose(res.probabilities["CNN"].sum(1), 1.0, rtol=1e-5)
    assert res.times["discrete-time RCNN"].shape == (28,)
    assert res.recovery("CordsNet") < 0.05  # back at the spontaneous baseline
    with pytest.raises(ValueError, match="scenario"):
        sequence_response(cordsnet, images, scenario="flash")
    with pytest.raises(ValueError, match="needs 1 image"):
        sequence_response(cordsnet, images, scenario="on_off")
    with pytest.raises(TypeError, match="CordsNet"):
        sequence_response(cnn, images[0])


def test_comparison_models_round_trip(nets, tmp_path):
    _, cnn, rcnn, images = nets
    for model in (cnn, rcnn):
        save_comparison_model(model, tmp_path / type(model).__name__)
        loaded = load_comparison_model(tmp_path / type(model).__name__)
        f = (lambda m: m.classify(images)) if model is rcnn else (lambda m: m(images))
        torch.testing.assert_close(f(loaded), f(model))
