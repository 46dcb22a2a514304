"""One CordsNet wiring: the dynamical model, its feedforward counterpart, the analytic count
and the checkpoint reader all agree with the table (and hence with each other)."""

import pytest
import torch
from torch import nn

from cordsneuro.analyses.complexity import count_macs, count_parameters
from cordsneuro.analyses.complexity.cordsnet_count import cordsnet_layers
from cordsneuro.models import CordsNet, CordsNetCNN
from cordsneuro.models.pretrained import infer_config
from cordsneuro.models.wiring import AREA_CHANNELS, area_sizes, cordsnet_wiring


@pytest.mark.parametrize("depth", [2, 4, 6, 8])
@pytest.mark.parametrize("size", [32, 67, 224])
def test_model_cnn_count_and_checkpoint_reader_agree(depth, size):
    wiring = cordsnet_wiring(depth, 3, 10, size)
    model = CordsNet(depth, 3, 10, image_size=size, seed=0)
    state_dict = model.state_dict()

    # 1. the dynamical model: every tensor has the table's shape, states the table's grids
    assert {k: tuple(v.shape) for k, v in state_dict.items()} == wiring.parameter_shapes()
    assert model.state_shapes == wiring.state_shapes
    assert list(model.channels) == list(AREA_CHANNELS[:depth])

    # 2. the feedforward counterpart: the same convolutions, and its areas on the same grids
    cnn = CordsNetCNN(depth, 3, 10, image_size=size, seed=0).eval()
    modules = dict(cnn.named_modules())
    for spec in wiring.convs():
        conv = modules[spec.name]
        assert isinstance(conv, nn.Conv2d)
        assert tuple(conv.weight.shape) == spec.weight_shape
        assert conv.stride == (spec.stride, spec.stride)
        assert conv.padding == (spec.padding, spec.padding)
    with torch.no_grad():
        x = cnn.features(torch.zeros(1, 3, size, size))
    assert [tuple(t.shape[1:]) for t in x] == list(wiring.state_shapes)

    # 3. the analytic count equals the meta-device count of the model itself
    layers = cordsnet_layers(depth, steps=2, image_size=size, num_classes=10)
    assert sum(layer.params for layer in layers) == count_parameters(model)
    state = tuple(torch.empty(1, *s, device="meta") for s in model.state_shapes)
    per_step = sum(layer.macs for layer in layers if layer.fast == 2)
    assert count_macs(model, state, None, method="step").total == per_step

    # 4. the checkpoint reader rebuilds the same wiring from the tensors alone
    config = infer_config(state_dict)
    assert (config["depth"], config["in_channels"], config["num_classes"]) == (depth, 3, 10)
    rebuilt = cordsnet_wiring(depth, 3, 10, config["image_size"])
    assert rebuilt.parameter_shapes() == wiring.parameter_shapes()
    if size == 224:
        assert config["image_size"] == 224


def test_area_sizes_follow_table_s3():
    assert area_sizes(224) == [(56, 56)] * 2 + [(28, 28)] * 2 + [(14, 14)] * 2 + [(7, 7)] * 2
    assert area_sizes(32) == [(8, 8)] * 2 + [(4, 4)] * 2 + [(2, 2)] * 2 + [(1, 1)] * 2
    assert area_sizes((64, 32), depth=4) == [(16, 8), (16, 8), (8, 4), (8, 4)]
