"""The step-1 CNN and exact BatchNorm folding (eq. 5)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cordsneuro.models import CordsNetCNN, fold_batchnorm
from cordsneuro.models.feedforward import fold_conv_bn


def randomise_batchnorm(model: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.2)


def test_fold_conv_bn_is_eq5():
    g = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=True)
    bn = nn.BatchNorm2d(4)
    randomise_batchnorm(bn)
    bn.eval()
    w, b = fold_conv_bn(conv.weight, conv.bias, bn)
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    assert torch.allclose(w, conv.weight * s[:, None, None, None])
    assert torch.allclose(b, s * (conv.bias - bn.running_mean) + bn.bias)
    x = torch.randn(2, 3, 6, 6, generator=g)
    folded = nn.functional.conv2d(x, w, b, padding=1)
    assert torch.allclose(folded, bn(conv(x)), atol=1e-6)


@pytest.mark.parametrize("depth,size", [(2, 32), (4, 32), (8, 64)])
def test_folded_cnn_equals_unfolded_in_eval_mode(depth, size):
    cnn = CordsNetCNN(depth, num_classes=10, image_size=size, seed=depth)
    randomise_batchnorm(cnn, seed=depth)
    cnn.eval()
    folded = fold_batchnorm(cnn)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref, out = cnn(x), folded(x)
        for a, b in zip(cnn.features(x), folded.features(x)):
            assert (a - b).abs().max() <= 1e-6 * max(1.0, float(a.abs().max()))
    assert (out - ref).abs().max() <= 1e-6 * max(1.0, float(ref.abs().max()))


def test_train_mode_batchnorm_differs_and_errors():
    cnn = CordsNetCNN(2, num_classes=5, image_size=16, seed=0)
    x = torch.randn(3, 3, 16, 16)
    assert cnn(x).shape == (3, 5)
    with pytest.raises(ValueError, match="images"):
        cnn(torch.randn(3, 3, 20, 20))
    with pytest.raises(ValueError, match="no BatchNorm"):
        fold_batchnorm(fold_batchnorm(cnn))
    with pytest.raises(ValueError, match="depth"):
        CordsNetCNN(3)
