"""CordsNet: the deep convolutional RNN dynamical system of the paper (Sections 2–3, Fig. 2A,
Appendix C.1, Table S3) with a fast simulation path.

Every area ``l`` of a CordsNet-R{2,4,6,8} is a convolutional rate network (eq. 3)::

    τ dr_l/dt = −r_l + σ( Conv_rec,l(r_l) + b_l + Conv_inp,l(h_l) )

where ``b_l`` is one bias per unit (``C × H × W``) and the area input ``h_l`` follows the
published residual wiring (ReLU of the rates of the areas below)::

    stem   = AvgPool3×3/2( Conv7×7/2(image) )                     (64 channels)
    h_0    = stem
    h_1    = ReLU(r_0) + Conv3×3(stem)                            (``input_skip``)
    h_2k   = ReLU(r_2k−1) + ReLU(r_2k−2)                           (first area of a stage:
                                                                     Conv_inp,2k has stride 2)
    h_2k+1 = ReLU(r_2k) + Conv1×1/2(ReLU(r_2k−1))                  (``skip``, k ≥ 1)
    logits = Linear( AvgPool( ReLU(r_last) + ReLU(r_second_last) ) )

Areas have 64/64/128/128/256/256/512/512 channels (Table S3). All convolutions and the linear
readout are weight-normalised (``w = g · v / ‖v‖`` per output unit) and carry no bias; every
area is updated synchronously from the previous state by Euler's method (eq. 9, α = dt/τ with
τ = 10 ms, dt = 2 ms, Section 3). With ``depth=8`` and 224 × 224 inputs this is exactly the
model of the authors' repository (``wmws2/cordsnet``, class ``cordsnet``): its checkpoint loads
through :mod:`cordsneuro.models.pretrained`. Spatial sizes are derived from ``image_size``
(32 × 32 CIFAR images give 8/8/4/4/2/2/1/1 grids; no upsampling is needed).

Two simulation paths give the same numbers (tested):

* the **plain path** (``fast=False``): the base :class:`~cordsneuro.dynamics.DynamicalRNN` loop,
  calling :meth:`CordsNet.drive` (the true vector-field drive, used by analyses for Jacobians)
  at every step;
* the **fast path** (default): weight-normalised weights are materialised once per call, the
  input drive (stem convolution and pool and the constant parts of areas 0 and 1,
  ``Conv_inp,0(stem)`` and ``Conv_inp,1(Conv3×3(stem))``) is computed once per stimulus change,
  blank frames skip the input convolutions, tensors are ``channels_last``, and optionally the
  convolutions run in bfloat16 (state in fp32) and the step is compiled by :func:`torch.compile`
  (on CUDA, ``compile="reduce-overhead"`` replays it as a CUDA graph). The spontaneous steady
  state (100 steps without input, Section 3) does not depend on the image: it is computed once
  per set of weights and reused. Gradient checkpointing over time
  (``checkpoint_segment``) keeps backpropagation through 300 steps of R8 within a fraction
  of the memory.

Stimulus protocols (Fig. 3B–D) are schedules of :class:`~cordsneuro.models.protocols.Epoch` s
(spontaneous, image, blank, image sequences, optional white noise on the input at each step)
run by :meth:`CordsNet.simulate`; recordings come back as a
:class:`~cordsneuro.models.protocols.VisionTrajectory`, convertible to an ``xarray.DataArray``
with dims ``("time_bin", "presentation", "neuroid")``. Protocols and recordings live in
:mod:`cordsneuro.models.protocols`, the fast simulation path in
:mod:`cordsneuro.models.cordsnet_engine`; this module holds the model's definition.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from cordsneuro._util import make_generator, pair
from cordsneuro.dynamics import DynamicalRNN, State, check_finite, load, register_model
from cordsneuro.models.cordsnet_engine import FastSimulation
from cordsneuro.models.cordsnet_step import pooled_rates
from cordsneuro.models.patch_conv import conv2d, keep_forward_matrix
from cordsneuro.models.pretrained import (
    convert_published_state_dict,
    ensure_checkpoint,
    infer_config,
    load_published_weights,
    read_state_dict,
)
from cordsneuro.models.protocols import Epoch, Protocol, VisionTrajectory
from cordsneuro.models.weights import get_weights
from cordsneuro.models.wiring import (
    AREA_CHANNELS,
    DEPTHS,
    STEM_KERNEL,
    STEM_POOL,
    ConvSpec,
    area_sizes,
    check_depth,
    cordsnet_wiring,
)

__all__ = [
    "AREA_CHANNELS",
    "DEPTHS",
    "CordsNet",
    "Epoch",
    "Protocol",
    "VisionTrajectory",
    "area_sizes",
    "cordsnet_r2",
    "cordsnet_r4",
    "cordsnet_r6",
    "cordsnet_r8",
]


# ----------------------------------------------------------------------------- weights


@dataclass
class _Weights:
    """Weight-normalised weights materialised once for a simulation (plain tensors)."""

    stem: Tensor
    input_skip: Tensor
    feedforward: list[Tensor]
    recurrent: list[Tensor]
    bias: list[Tensor]
    skip: list[Tensor]
    fc_weight: Tensor
    fc_bias: Tensor


def _init_uniform(t: Tensor, fan_in: int, generator: torch.Generator) -> None:
    # PyTorch's default Conv2d / Linear initialisation (kaiming_uniform, a = √5):
    # U(−1/√fan_in, 1/√fan_in), drawn from an explicit generator.
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        t.copy_(torch.rand(t.shape, generator=generator) * 2 * bound - bound)


def _wn_conv(spec: ConvSpec, g: torch.Generator) -> nn.Conv2d:
    conv = nn.Conv2d(
        spec.in_channels,
        spec.out_channels,
        spec.kernel,
        stride=spec.stride,
        padding=spec.padding,
        bias=False,
    )
    _init_uniform(conv.weight, spec.in_channels * spec.kernel**2, g)
    return weight_norm(conv)  # w = g · v / ‖v‖ per output channel (dim 0)


# ----------------------------------------------------------------------------- the model


@register_model
class CordsNet(FastSimulation, DynamicalRNN):
    """CordsNet-R``depth``: the deep convolutional dynamical RNN of the paper.

    The state is a tuple of ``depth`` tensors, area ``i`` of shape
    ``(batch, AREA_CHANNELS[i], H_i, W_i)`` (see :func:`area_sizes`).

    Parameters
    ----------
    depth : int
        Number of recurrent areas, 2, 4, 6 or 8 (CordsNet-R2 … R8).
    in_channels : int
        Channels of the input images (3 for RGB, 1 for MNIST).
    num_classes : int
        Width of the linear readout.
    image_size : int or (int, int)
        Input height and width the model is built for (the per-unit biases fix the grid
        sizes). At least 7 (the stem kernel).
    seed : int, optional
        Seed of the random initialisation (PyTorch's default layer initialisation, biases 0).
    tau, dt : float
        Time constant and Euler step in ms (Section 3: 10 and 2, α = 0.2).
    activation : str
        σ of the areas: ``relu`` (the published model), ``prelu`` (with ``prelu_slope`` a,
        annealed 1 → 0 in step 3 of the training method) or ``identity`` (the linear model of
        step 2). The transfer between areas is always ReLU of the rates, as in the authors'
        code for every step.
    prelu_slope, noise_std :
        See :class:`~cordsneuro.dynamics.DynamicalRNN`.
    """

    def __init__(
        self,
        depth: int = 8,
        in_channels: int = 3,
        num_classes: int = 1000,
        *,
        image_size: int | Sequence[int] = 224,
        seed: int | None = None,
        tau: float | Tensor | Sequence = 10.0,
        dt: float = 2.0,
        activation: str = "relu",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
    ) -> None:
        depth = check_depth(depth)
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1 (got {value!r})")
        size = pair(image_size)
        if min(size) < STEM_KERNEL:
            raise ValueError(
                f"image_size must be at least {STEM_KERNEL} × {STEM_KERNEL} (the stem "
                f"convolution's kernel), got {size[0]} × {size[1]}"
            )
        super().__init__(
            tau=tau, dt=dt, activation=activation, prelu_slope=prelu_slope, noise_std=noise_std
        )
        self.depth = depth
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.image_size = size
        #: The wiring table every layer below is built from (:mod:`cordsneuro.models.wiring`).
        self.wiring = cordsnet_wiring(depth, in_channels, num_classes, size)
        self.channels = self.wiring.channels
        self.sizes = self.wiring.sizes
        self.state_shapes = self.wiring.state_shapes
        self._init_time_constants()

        g = make_generator(seed)
        self.stem = _wn_conv(self.wiring.stem, g)
        self.stem_pool = nn.AvgPool2d(*STEM_POOL)
        self.input_skip = _wn_conv(self.wiring.input_skip, g)
        self.feedforward = nn.ModuleList()
        self.recurrent = nn.ModuleList()
        self.area_bias = nn.ParameterList()
        for area in self.wiring.areas:
            self.recurrent.append(_wn_conv(area.recurrent, g))
            self.area_bias.append(nn.Parameter(torch.zeros(area.channels, *area.size)))
            self.feedforward.append(_wn_conv(area.feedforward, g))
        # 1×1 stride-2 convolutions from the second area of a stage into the second area of the
        # next stage (areas 3, 5, 7).
        self.skip = nn.ModuleList(_wn_conv(spec, g) for spec in self.wiring.skips)
        fc = nn.Linear(self.wiring.readout_features, num_classes)
        _init_uniform(fc.weight, self.wiring.readout_features, g)
        _init_uniform(fc.bias, self.wiring.readout_features, g)
        self.fc = weight_norm(fc)
        self._spontaneous_cache: dict[Any, State] = {}

    # -- validation ------------------------------------------------------------------------

    def check_images(self, images: Tensor, name: str = "images") -> None:
        """Validate ``(..., C, H, W)`` images against the model's channels and size."""
        if not isinstance(images, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
        if not images.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor (got {images.dtype})")
        if images.ndim < 3 or images.shape[-3] != self.in_channels:
            raise ValueError(
                f"{name} must have {self.in_channels} channel(s) in dim -3, shape "
                f"(..., {self.in_channels}, {self.image_size[0]}, {self.image_size[1]}); "
                f"got {tuple(images.shape)}"
            )
        if tuple(images.shape[-2:]) != self.image_size:
            h, w = images.shape[-2:]
            smaller = h < STEM_KERNEL or w < STEM_KERNEL
            hint = f" (smaller than the {STEM_KERNEL}×{STEM_KERNEL} stem allows)" if smaller else ""
            raise ValueError(
                f"{name} are {h} × {w}{hint}, but this model was built for "
                f"image_size={self.image_size}: build CordsNet(image_size=({h}, {w})) or resize"
            )
        check_finite(name, images)

    def check_inputs(self, inputs: Tensor) -> None:
        super().check_inputs(inputs)
        if inputs.ndim != 5:
            raise ValueError(
                f"inputs must have shape (batch, time, {self.in_channels}, "
                f"{self.image_size[0]}, {self.image_size[1]}); got {tuple(inputs.shape)}"
            )
        self.check_images(inputs, "inputs")

    # -- classification --------------------------------------------------------------------

    def classify(
        self, images: Tensor, *, return_names: bool = False, **kwargs: Any
    ) -> Tensor | tuple[Tensor, list[str]]:
        """The published inference (Section 3): 100 spontaneous steps, then the image for 100
        steps; the logits ``(batch, num_classes)`` at the last step.

        ``images`` are raw ``(batch, C, H, W)`` images in [0, 1] when the model's
        ``meta["preprocessing"]`` is set (published or library-trained weights): they are
        resized, cropped and normalised by :func:`preprocess` first. Without it they go in as
        they are (already of ``image_size``). ``return_names``: also the name of the top class
        of each image, from ``meta["classes"]``. Keywords go to :meth:`simulate`."""
        prep = self.meta.get("preprocessing")
        if prep:
            if not isinstance(images, Tensor) or images.ndim != 4:
                raise ValueError(
                    f"images must be a (batch, C, H, W) tensor, got "
                    f"{tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}"
                )
            images = preprocess(images.to(self.dtype), prep)
        traj = self.simulate(images, Protocol.classification(), record_steps=[-1], **kwargs)
        logits = traj.outputs[:, -1]
        if not return_names:
            return logits
        classes = self.meta.get("classes")
        if not classes:
            raise ValueError("this model has no class names (model.meta['classes'] is empty)")
        return logits, [classes[i] for i in logits.argmax(dim=1).tolist()]

    # -- weights ---------------------------------------------------------------------------

    def materialize(
        self,
        memory_format: torch.memory_format = torch.contiguous_format,
        conv_dtype: torch.dtype | None = None,
    ) -> _Weights:
        """Compute every weight-normalised weight once (part of the autograd graph).

        ``conv_dtype`` (e.g. ``torch.bfloat16``) casts the convolution kernels once; their
        inputs are then cast at each convolution, while biases, the readout and the state stay
        in the parameters' dtype (fp32)."""

        def fmt(t: Tensor) -> Tensor:
            return t.contiguous(memory_format=memory_format)

        def kernel(t: Tensor) -> Tensor:
            return keep_forward_matrix(fmt(t if conv_dtype is None else t.to(conv_dtype)))

        return _Weights(
            stem=kernel(self.stem.weight),
            input_skip=kernel(self.input_skip.weight),
            feedforward=[kernel(m.weight) for m in self.feedforward],
            recurrent=[kernel(m.weight) for m in self.recurrent],
            bias=[fmt(b.unsqueeze(0)) for b in self.area_bias],
            skip=[kernel(m.weight) for m in self.skip],
            fc_weight=self.fc.weight,
            fc_bias=self.fc.bias,
        )

    # -- the drive -------------------------------------------------------------------------

    def stem_features(self, images: Tensor, w: _Weights | None = None) -> Tensor:
        """``AvgPool3×3/2(Conv7×7/2(images))``: ``(batch, 64, H_0, W_0)``."""
        weight = self.stem.weight if w is None else w.stem
        spec = self.wiring.stem
        return self.stem_pool(conv2d(images, weight, spec.stride, spec.padding))

    def input_drive(self, images: Tensor, w: _Weights | None = None) -> tuple[Tensor, Tensor]:
        """The parts of the drive that only depend on the image: ``Conv_inp,0(stem)`` for area 0
        and ``Conv_inp,1(Conv3×3(stem))`` for area 1 (exact, by linearity of ``Conv_inp,1``)."""
        w = self.materialize() if w is None else w
        stem = self.stem_features(images, w)
        return (
            conv2d(stem, w.feedforward[0]),
            conv2d(conv2d(stem, w.input_skip), w.feedforward[1]),
        )

    def _preactivation(
        self,
        state: tuple[Tensor, ...],
        w: _Weights,
        *,
        stem: Tensor | None = None,
        input_drive: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, ...]:
        """``Conv_rec(r) + b + Conv_inp(h)`` of every area from one (previous) state.

        The image enters either as ``stem`` features (the published form) or as the
        precomputed ``input_drive``; with neither, there is no input."""
        x = [F.relu(r) for r in state]  # the transfer between areas: ReLU of the rates
        out = []
        for i, r in enumerate(state):
            pre = conv2d(r, w.recurrent[i]) + w.bias[i]
            inp = self._feedforward(i, x, w, stem=stem, input_drive=input_drive)
            out.append(pre if inp is None else pre + inp)
        return tuple(out)

    def _feedforward(
        self,
        i: int,
        x: Sequence[Tensor | None],
        w: _Weights,
        *,
        stem: Tensor | None = None,
        input_drive: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor | None:
        """``Conv_inp(h)`` of area ``i`` (``None`` for area 0 without image): the wiring of
        Table S3. ``x`` holds the transfers ``ReLU(r)`` of the areas; only ``x[i - 1]`` and
        ``x[i - 2]`` are read, so they may be several steps stacked along the batch (the
        area-by-area simulation of inference)."""
        if i == 0:
            if input_drive is not None:
                return input_drive[0]
            return None if stem is None else conv2d(stem, w.feedforward[0])
        if i == 1:
            if input_drive is not None:
                return conv2d(x[0], w.feedforward[1]) + input_drive[1]
            if stem is not None:
                return conv2d(x[0] + conv2d(stem, w.input_skip), w.feedforward[1])
            return conv2d(x[0], w.feedforward[1])
        area = self.wiring.areas[i]
        ff, sk = area.feedforward, area.skip
        if sk is None:  # first area of a stage: h = ReLU(r_i−1) + ReLU(r_i−2)
            h = x[i - 1] + x[i - 2]
        else:  # h = ReLU(r_i−1) + Conv1×1/2(ReLU(r_i−2))
            h = x[i - 1] + conv2d(x[i - 2], w.skip[(i - 3) // 2], sk.stride, sk.padding)
        return conv2d(h, w.feedforward[i], ff.stride, ff.padding)

    def drive(self, state: State, inputs: Tensor | None) -> State:
        """The argument of σ for every area (eq. 3): ``Conv_rec(r) + b + Conv_inp(h)``.

        ``inputs`` is one step's images ``(batch, C, H, W)`` or ``None``. This is the true
        vector-field drive (differentiable in ``state``); it recomputes the weights and the
        input convolutions at each call. Simulations use the fast path of :meth:`simulate`."""
        w = self.materialize()
        stem = None if inputs is None else self.stem_features(inputs, w)
        return self._preactivation(tuple(state), w, stem=stem)

    def readout(self, state: State, w: _Weights | None = None) -> Tensor:
        """Logits ``(batch, num_classes)``: linear readout of the spatial average of
        ``ReLU(r_last) + ReLU(r_second_last)`` (Table S3, last row). ``w``: weights already
        materialised by :meth:`materialize` (the fast path), else the readout's own."""
        pooled = pooled_rates(state[-1], state[-2])
        if w is None:
            return self.fc(pooled)
        return F.linear(pooled, w.fc_weight, w.fc_bias)


# ----------------------------------------------------------------------------- images


def preprocess(images: Tensor, preprocessing: dict) -> Tensor:
    """Prepare raw images in [0, 1], ``(batch, C, H, W)``, as ``preprocessing`` says (the
    ``meta["preprocessing"]`` of a model, see :mod:`cordsneuro.models.weights`).

    With ``resize``: the shorter side is resized (bilinear, antialiased) to ``resize`` pixels
    and the centre ``image_size`` cropped (the ImageNet evaluation transform); without it the
    images are resized to ``image_size``. Then each channel is normalised,
    ``(x − mean) / std``. Keys that are absent are skipped."""
    x = images
    size = preprocessing.get("image_size")
    if size is not None:
        th, tw = pair(tuple(size) if isinstance(size, list) else size, "image_size")
        resize = preprocessing.get("resize")
        h, w = x.shape[-2:]
        if resize is not None:
            short, long = (h, w) if h <= w else (w, h)
            new_long = int(resize * long / short)
            new = (resize, new_long) if h <= w else (new_long, resize)
            if tuple(new) != (h, w):
                x = F.interpolate(x, size=new, mode="bilinear", antialias=True, align_corners=False)
            h, w = x.shape[-2:]
            top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
            x = x[..., top : top + th, left : left + tw]
        elif (h, w) != (th, tw):
            x = F.interpolate(
                x, size=(th, tw), mode="bilinear", antialias=True, align_corners=False
            )
    if "mean" in preprocessing or "std" in preprocessing:
        c = x.shape[-3]
        mean = torch.as_tensor(preprocessing.get("mean", [0.0] * c), dtype=x.dtype, device=x.device)
        std = torch.as_tensor(preprocessing.get("std", [1.0] * c), dtype=x.dtype, device=x.device)
        if mean.numel() != c or std.numel() != c:
            raise ValueError(
                f"preprocessing mean/std have {mean.numel()}/{std.numel()} values, images have "
                f"{c} channels"
            )
        x = (x - mean.reshape(c, 1, 1)) / std.reshape(c, 1, 1)
    return x


# ----------------------------------------------------------------------------- builders


def _build(depth: int, weights: str | os.PathLike | None, **kwargs: Any) -> CordsNet:
    if weights is None:
        return CordsNet(depth, **kwargs)
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights must be None, 'imagenet' or a path (got {type(weights).__name__})"
        )
    path = Path(weights)
    entry = None
    if (
        isinstance(weights, str)
        and not path.exists()
        and os.sep not in weights
        and "." not in weights
    ):
        entry = get_weights(weights, depth)  # a name: unknown names get a suggestion
        path = ensure_checkpoint(entry=entry)
    if path.is_dir():  # a directory saved by model.save()
        if kwargs:
            raise ValueError(
                f"a saved model directory carries its own configuration; drop {sorted(kwargs)}"
            )
        model = load(path)
        if not isinstance(model, CordsNet) or model.depth != depth:
            found = (
                f"CordsNet-R{model.depth}" if isinstance(model, CordsNet) else type(model).__name__
            )
            raise ValueError(f"{path} holds a {found}, not CordsNet-R{depth}")
        return model.eval()
    state = read_state_dict(path)
    config = infer_config(convert_published_state_dict(state))
    if config.get("depth") != depth:
        raise ValueError(f"{path} holds a CordsNet-R{config.get('depth')}, not R{depth}")
    for key in ("in_channels", "num_classes", "image_size"):
        if key in config:
            kwargs.setdefault(key, config[key])
    model = load_published_weights(CordsNet(depth, **kwargs), state).eval()
    if entry is not None:
        model.meta = entry.meta()
    return model


def _builder(depth: int):
    def build(weights: str | os.PathLike | None = None, **kwargs: Any) -> CordsNet:
        return _build(depth, weights, **kwargs)

    build.__name__ = build.__qualname__ = f"cordsnet_r{depth}"
    build.__doc__ = f"""CordsNet-R{depth} ({depth} recurrent areas, Table S3).

    Parameters
    ----------
    weights : None, ``"imagenet"`` or path
        ``None``: random initialisation. ``"imagenet"``: the authors' published ImageNet
        checkpoint (CordsNet-R8 only; entry of :data:`~cordsneuro.models.weights.WEIGHTS`,
        cached in ``$CORDSNEURO_HOME``, downloaded once and verified); the model's ``meta``
        then holds its preprocessing and class names (see :meth:`CordsNet.classify`). A path:
        a directory written by :meth:`~cordsneuro.dynamics.DynamicalRNN.save` (loaded with its
        ``meta``), or a state dict file in the authors' format (``cordsnet`` class of
        ``wmws2/cordsnet``), e.g. a checkpoint of their training scripts.
    **kwargs
        Arguments of :class:`CordsNet` (``in_channels``, ``num_classes``, ``image_size``,
        ``dt``, ``tau``, ``activation``, ``seed``, …); with a checkpoint file, ``in_channels``
        and ``num_classes`` default to the checkpoint's.
    """
    return build


cordsnet_r2 = _builder(2)
cordsnet_r4 = _builder(4)
cordsnet_r6 = _builder(6)
cordsnet_r8 = _builder(8)
