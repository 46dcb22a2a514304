"""MACs and parameters of CordsNet (Fig. 2C), derived from the wiring table
(:mod:`cordsneuro.models.wiring`).

:func:`cordsnet_layers` gives the analytic per-layer count of CordsNet-R2…R8 (Table S3 and the
published wiring) and how often each layer is evaluated over a simulation of ``steps`` Euler
steps, under two accountings (see :func:`cordsnet_complexity`):

- ``fast``: our simulation path. Every step evaluates, for every area, its 3×3 recurrent
  convolution and the convolutions that carry the other areas' rates into it (feedforward 3×3,
  1×1 stride-2 skips). Terms that depend on the image only — the 7×7 stem convolution and its
  average pool, the 3×3 input skip into area 2, and the feedforward convolutions of the image
  parts of the inputs of areas 1 and 2 (area 2's feedforward convolution is linear, so its
  input ``relu(r_1) + skip(image)`` splits into a per-step and a per-stimulus part) — are
  computed once per stimulus presentation (``stimuli``, default 1; a
  blank epoch has zero input drive and costs nothing).
- ``published``: what the authors' code evaluates (``cordsnet.rnn``): every area at every step
  recomputes the stem convolution of the image (also for the zero image of the spontaneous
  epoch), area 2 recomputes the input skip, and every area applies its feedforward convolution
  to the summed input.

Both include the readout (average pool, linear layer) ``readouts`` times (default 1: the
published ``forward`` reads out once, at the end).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cordsneuro.analyses.complexity.counter import (
    ModelComplexity,
    _check_positive_int,
    count_macs,
    count_parameters,
)
from cordsneuro.models.wiring import check_depth, cordsnet_wiring

__all__ = [
    "PAPER_STEPS",
    "CordsNetLayer",
    "cordsnet_complexity",
    "cordsnet_layers",
    "cordsnet_parameter_count",
    "count_cordsnet",
]

#: Euler steps of the paper's training simulation (eq. 4: 100 spontaneous, 100 stimulus, 100
#: blank steps of dt = 2 ms), the length over which Fig. 2C counts CordsNet's MACs.
PAPER_STEPS = 300


@dataclass(frozen=True)
class CordsNetLayer:
    """One weight layer of CordsNet and how often a simulation evaluates it.

    Attributes
    ----------
    name : str
        ``"stem"`` (7×7 input convolution), ``"input_skip"`` (3×3 convolution of the pooled
        stem output into area 2), ``"area{k}.recurrent"`` (3×3), ``"area{k}.feedforward"``
        (3×3 from the area below), ``"area{k}.skip"`` (1×1 stride 2), ``"area{k}.bias"``,
        ``"readout"`` (linear). Areas are numbered from 0, as in the model
        (:mod:`cordsneuro.models.wiring`).
    macs : int
        MACs of one evaluation for one image.
    params : int
        Parameters, including the weight-normalisation magnitudes (one per output channel).
    fast : int
        Evaluations per simulation on our fast path.
    published : int
        Evaluations per simulation in the published code.
    """

    name: str
    macs: int
    params: int
    fast: int
    published: int


def cordsnet_layers(
    depth: int,
    steps: int = PAPER_STEPS,
    image_size: int = 224,
    in_channels: int = 3,
    num_classes: int = 1000,
    stimuli: int = 1,
    readouts: int = 1,
) -> list[CordsNetLayer]:
    """Analytic per-layer MACs and parameters of CordsNet-R``depth`` (Table S3, published wiring).

    Parameters
    ----------
    depth : {2, 4, 6, 8}
        Number of recurrent areas.
    steps : int
        Euler steps simulated (default 300, the length of the eq. 4 simulation).
    image_size : int
        Input height = width (pixels); spatial sizes follow from it (56×56 in areas 1–2 at 224).
    in_channels, num_classes : int
        Image channels and readout classes.
    stimuli : int
        Stimulus presentations in the simulation: how often the fast path evaluates the image-only
        terms (stem, input skip, feedforward convolutions of the image parts of areas 1 and 2).
    readouts : int
        Evaluations of the linear readout (1: once at the end, as the published ``forward``;
        30 for the inference window of eq. 4).

    Returns
    -------
    list of CordsNetLayer
    """
    depth = check_depth(depth)
    steps = _check_positive_int("steps", steps)
    image_size = _check_positive_int("image_size", image_size)
    in_channels = _check_positive_int("in_channels", in_channels)
    num_classes = _check_positive_int("num_classes", num_classes)
    stimuli = _check_positive_int("stimuli", stimuli)
    readouts = _check_positive_int("readouts", readouts)
    if stimuli > steps:
        raise ValueError(f"stimuli must be <= steps ({steps}), got {stimuli}")
    wiring = cordsnet_wiring(depth, in_channels, num_classes, image_size)

    def layer(name: str, conv, fast: int, published: int) -> CordsNetLayer:
        # weight-normalised: the direction v and one magnitude g per output channel
        return CordsNetLayer(name, conv.macs, conv.n_weights + conv.out_channels, fast, published)

    # Table S3: 7×7/2 stem convolution (no bias), then 3×3/2 average pool; the published code
    # recomputes it for every area at every step
    layers = [layer("stem", wiring.stem, stimuli, steps * depth)]
    for area in wiring.areas:
        i, ff = area.index, area.feedforward
        if i == 1:
            # input skip: 3×3 convolution of the pooled stem output, summed into area 1's input
            layers.append(layer("input_skip", wiring.input_skip, stimuli, steps))
            # area 1 reads relu(r_0) + InputSkip(stem): by linearity of its feedforward
            # convolution the fast path convolves the image part once per stimulus
            layers.append(CordsNetLayer("area1.feedforward_input", ff.macs, 0, stimuli, 0))
        # area 0 reads only the image (the stem output): the fast path convolves it once per
        # stimulus; every other area reads rates, every step
        layers.append(layer(f"area{i}.feedforward", ff, stimuli if i == 0 else steps, steps))
        if area.skip is not None:  # 1×1 stride-2 convolution from area i − 2
            layers.append(layer(f"area{i}.skip", area.skip, steps, steps))
        layers.append(layer(f"area{i}.recurrent", area.recurrent, steps, steps))
        pixels = area.size[0] * area.size[1]
        layers.append(CordsNetLayer(f"area{i}.bias", 0, area.channels * pixels, steps, steps))
    # readout: average pool of relu of the last two areas, then a weight-normalised linear layer
    c, k = wiring.readout_features, num_classes
    layers.append(CordsNetLayer("readout", c * k, c * k + k + k, readouts, readouts))  # v, b, g
    return layers


def cordsnet_parameter_count(
    depth: int, image_size: int = 224, in_channels: int = 3, num_classes: int = 1000
) -> int:
    """Parameters of CordsNet-R``depth`` as in the published state dict (weight-normalised
    ``g`` and ``v`` of every convolution and of the readout, per-unit biases whose size follows
    the image, readout bias). 12 475 280 for R8 at 224², about ResNet-18's 11 689 512
    (Section 3)."""
    return sum(
        layer.params for layer in cordsnet_layers(depth, 1, image_size, in_channels, num_classes)
    )


def cordsnet_complexity(
    depth: int,
    steps: int = PAPER_STEPS,
    image_size: int = 224,
    in_channels: int = 3,
    num_classes: int = 1000,
    stimuli: int = 1,
    readouts: int = 1,
) -> ModelComplexity:
    """MACs and parameters of CordsNet-R``depth`` simulated for ``steps`` Euler steps (Fig. 2C).

    ``macs`` is the fast-path total and ``published_macs`` the published code's total of the
    same simulation (see the module docstring and :func:`cordsnet_layers` for the parameters).
    """
    layers = cordsnet_layers(depth, steps, image_size, in_channels, num_classes, stimuli, readouts)
    return ModelComplexity(
        name=f"CordsNet-R{depth}",
        family="cordsnet",
        image_size=image_size,
        macs=sum(layer.macs * layer.fast for layer in layers),
        params=sum(layer.params for layer in layers),
        steps=steps,
        published_macs=sum(layer.macs * layer.published for layer in layers),
    )


def count_cordsnet(
    model: nn.Module, steps: int = PAPER_STEPS, stimuli: int = 1, readouts: int = 1
) -> ModelComplexity:
    """Count a :class:`~cordsneuro.models.cordsnet.CordsNet` instance through :func:`count_macs`
    (meta device; its weights are not read), for one image of its ``image_size``.

    Fast path: ``steps`` × one :meth:`step` without input + ``stimuli`` × ``input_drive`` +
    ``readouts`` × ``readout``. Published computation: ``steps`` × (one :meth:`step` with the
    image + the stem convolution again for each of the other ``depth − 1`` areas) +
    ``readouts`` × ``readout``. Equal to :func:`cordsnet_complexity` for the same configuration
    (tested), so it also counts variants (other channels, sizes, classes).
    """
    steps = _check_positive_int("steps", steps)
    stimuli = _check_positive_int("stimuli", stimuli)
    readouts = _check_positive_int("readouts", readouts)
    missing = [
        a for a in ("state_shapes", "image_size", "in_channels", "depth", "input_drive", "stem")
        if not hasattr(model, a)
    ]  # fmt: skip
    if not isinstance(model, nn.Module) or missing:
        raise TypeError(f"model must be a CordsNet (missing {missing or type(model).__name__})")
    height, width = model.image_size
    images = torch.empty(1, model.in_channels, height, width, device="meta")
    state = tuple(torch.empty(1, *shape, device="meta") for shape in model.state_shapes)
    step = count_macs(model, state, None, method="step").total
    plain_step = count_macs(model, state, images, method="step").total
    stimulus = count_macs(model, images, method="input_drive").total
    readout = count_macs(model, state, method="readout").total
    stem = count_macs(model.stem, images).total
    return ModelComplexity(
        name=f"CordsNet-R{model.depth}",
        family="cordsnet",
        image_size=height if height == width else max(height, width),
        macs=steps * step + stimuli * stimulus + readouts * readout,
        params=count_parameters(model),
        steps=steps,
        published_macs=steps * (plain_step + (model.depth - 1) * stem) + readouts * readout,
    )
