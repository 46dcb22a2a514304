"""The feedforward counterpart of CordsNet (step 1 of the training method, Section 3, Fig. 2B)
and exact batch-normalisation folding (eq. 5).

:class:`CordsNetCNN` has the wiring of :class:`~cordsneuro.models.cordsnet.CordsNet` with
every recurrent area replaced by one pass (Table S3: each block is a feedforward 3×3
convolution followed by the 3×3 convolution that becomes the recurrent one):

    stem   = AvgPool3×3/2( BN(Conv7×7/2(image)) )
    a_l    = BN(Conv_inp,l(h_l))                     (h_l wired as in CordsNet, from x below)
    x_l    = ReLU( BN(Conv_rec,l(a_l)) )
    skip_k = BN(Conv1×1/2(x_2k−1))
    logits = Linear( AvgPool(x_last + x_second_last) )

as in the authors' step-1 model (``training/class_rnn_1_compatibility.py``; the 3×3
convolution from the stem into area 1 has no normalisation there, nor here).

:func:`fold_batchnorm` returns the same network with each BatchNorm folded into the
convolution before it (eq. 5)::

    BN(W r + b) = (γ / √(σ² + ε)) W r + (γ / √(σ² + ε)) (b − μ) + β

which equals the original in eval mode up to float rounding (tested to 1e-6).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cordsneuro._util import make_generator, pair
from cordsneuro.models.wiring import STEM_KERNEL, STEM_POOL, ConvSpec, check_depth, cordsnet_wiring

__all__ = ["CordsNetCNN", "fold_batchnorm", "fold_conv_bn"]


def fold_conv_bn(weight: Tensor, bias: Tensor | None, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Eq. 5: the weight and bias of ``BN(conv(x; weight, bias))`` in eval mode.

    Returns ``(γ/√(σ²+ε)) · weight`` and ``(γ/√(σ²+ε)) (bias − μ) + β``."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("BatchNorm without running statistics cannot be folded")
    scale = bn.running_var.add(bn.eps).rsqrt()
    gamma = bn.weight if bn.weight is not None else torch.ones_like(scale)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(scale)
    scale = scale * gamma
    b = bias if bias is not None else torch.zeros_like(scale)
    return weight * scale.reshape(-1, *([1] * (weight.ndim - 1))), (
        b - bn.running_mean
    ) * scale + beta


class CordsNetCNN(nn.Module):
    """The step-1 feedforward CNN of CordsNet-R``depth`` (see the module docstring).

    Parameters
    ----------
    depth, in_channels, num_classes, image_size :
        As for :class:`~cordsneuro.models.cordsnet.CordsNet`.
    batchnorm : bool
        ``True``: convolutions without bias, each followed by BatchNorm (the trained model).
        ``False``: convolutions with a bias and no BatchNorm (the folded model).
    seed : int, optional
        Seed of the initialisation.
    """

    def __init__(
        self,
        depth: int = 8,
        in_channels: int = 3,
        num_classes: int = 1000,
        *,
        image_size: int | Sequence[int] = 224,
        batchnorm: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        depth = check_depth(depth)
        size = pair(image_size)
        if min(size) < STEM_KERNEL:
            raise ValueError(f"image_size must be at least {STEM_KERNEL} (got {size})")
        self.depth, self.in_channels, self.num_classes = depth, in_channels, num_classes
        self.image_size = size
        self.batchnorm = batchnorm
        #: The wiring table shared with CordsNet (:mod:`cordsneuro.models.wiring`).
        self.wiring = wiring = cordsnet_wiring(depth, in_channels, num_classes, size)
        g = make_generator(seed)

        def conv(spec: ConvSpec) -> nn.Conv2d:
            layer = nn.Conv2d(
                spec.in_channels,
                spec.out_channels,
                spec.kernel,
                spec.stride,
                spec.padding,
                bias=not batchnorm,
            )
            bound = 1 / math.sqrt(spec.in_channels * spec.kernel**2)
            with torch.no_grad():
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=g) * 2 * bound - bound)
                if layer.bias is not None:
                    layer.bias.zero_()
            return layer

        def norm(c: int) -> nn.Module:
            return nn.BatchNorm2d(c) if batchnorm else nn.Identity()

        self.stem = conv(wiring.stem)
        self.stem_norm = norm(wiring.stem.out_channels)
        self.stem_pool = nn.AvgPool2d(*STEM_POOL)
        self.input_skip = conv(wiring.input_skip)
        if batchnorm:  # unnormalised in the authors' step-1 model, but biased once folded
            self.input_skip.bias = None
        self.feedforward = nn.ModuleList()
        self.feedforward_norm = nn.ModuleList()
        self.recurrent = nn.ModuleList()
        self.recurrent_norm = nn.ModuleList()
        for area in wiring.areas:
            self.feedforward.append(conv(area.feedforward))
            self.feedforward_norm.append(norm(area.channels))
            self.recurrent.append(conv(area.recurrent))
            self.recurrent_norm.append(norm(area.channels))
        self.skip = nn.ModuleList(conv(spec) for spec in wiring.skips)
        self.skip_norm = nn.ModuleList(norm(spec.out_channels) for spec in wiring.skips)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(wiring.readout_features, num_classes)
        with torch.no_grad():
            bound = 1 / math.sqrt(wiring.readout_features)
            self.fc.weight.copy_(torch.rand(self.fc.weight.shape, generator=g) * 2 * bound - bound)
            self.fc.bias.zero_()

    def features(self, images: Tensor) -> list[Tensor]:
        """The activity ``x_l`` of every area, ``(batch, C_l, H_l, W_l)``."""
        if (
            images.ndim != 4
            or images.shape[1] != self.in_channels
            or tuple(images.shape[2:]) != self.image_size
        ):
            raise ValueError(
                f"images must have shape (batch, {self.in_channels}, {self.image_size[0]}, "
                f"{self.image_size[1]}); got {tuple(images.shape)}"
            )
        stem = self.stem_pool(self.stem_norm(self.stem(images)))
        x: list[Tensor] = []
        for area in self.wiring.areas:
            i = area.index
            if i == 0:
                h = stem
            elif i == 1:
                h = x[0] + self.input_skip(stem)
            elif area.skip is None:  # first area of a stage
                h = x[i - 1] + x[i - 2]
            else:
                k = (i - 3) // 2
                h = x[i - 1] + self.skip_norm[k](self.skip[k](x[i - 2]))
            a = self.feedforward_norm[i](self.feedforward[i](h))
            x.append(F.relu(self.recurrent_norm[i](self.recurrent[i](a))))
        return x

    def forward(self, images: Tensor) -> Tensor:
        """Logits ``(batch, num_classes)``."""
        x = self.features(images)
        return self.fc(self.pool(x[-1] + x[-2]).flatten(1))


def fold_batchnorm(model: CordsNetCNN) -> CordsNetCNN:
    """Eq. 5: a copy of ``model`` with every BatchNorm folded into the convolution before it
    (running statistics, i.e. eval mode). The result has ``batchnorm=False`` (biased
    convolutions, no normalisation) and computes the same function as ``model.eval()``."""
    if not model.batchnorm:
        raise ValueError("model has no BatchNorm to fold (batchnorm=False)")
    folded = CordsNetCNN(
        model.depth,
        model.in_channels,
        model.num_classes,
        image_size=model.image_size,
        batchnorm=False,
        seed=0,
    ).to(next(model.parameters()).device, next(model.parameters()).dtype)
    pairs = [(model.stem, model.stem_norm, folded.stem)]
    pairs += list(zip(model.feedforward, model.feedforward_norm, folded.feedforward))
    pairs += list(zip(model.recurrent, model.recurrent_norm, folded.recurrent))
    pairs += list(zip(model.skip, model.skip_norm, folded.skip))
    with torch.no_grad():
        for conv, bn, target in pairs:
            w, b = fold_conv_bn(conv.weight, conv.bias, bn)
            target.weight.copy_(w)
            target.bias.copy_(b)
        folded.input_skip.weight.copy_(model.input_skip.weight)
        folded.input_skip.bias.zero_()
        folded.fc.load_state_dict(copy.deepcopy(model.fc.state_dict()))
    return folded.eval()
