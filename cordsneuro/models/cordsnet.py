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

Stimulus protocols (Fig. 3B–D) are schedules of :class:`Epoch` s (spontaneous, image, blank,
image sequences, optional white noise on the input at each step) run by
:meth:`CordsNet.simulate`; recordings come back as a :class:`VisionTrajectory`, convertible to
an ``xarray.DataArray`` with dims ``("time_bin", "presentation", "neuroid")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from cordsneuro.dynamics import (
    DynamicalRNN,
    State,
    Trajectory,
    check_finite,
    per_step_generators,
    register_model,
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

#: Channels of the eight areas (Table S3); CordsNet-R``d`` uses the first ``d``.
AREA_CHANNELS = (64, 64, 128, 128, 256, 256, 512, 512)
#: Depths of the published family CordsNet-R2 … R8 (Section 3).
DEPTHS = (2, 4, 6, 8)
#: Channels, kernel, stride and padding of the input (stem) convolution (Table S3).
STEM_CHANNELS, STEM_KERNEL, STEM_STRIDE, STEM_PADDING = 64, 7, 2, 3
#: Section 3: 200 ms (100 steps) of spontaneous activity, then 200 ms of image.
SPONTANEOUS_MS = 200.0
STIMULUS_MS = 200.0


def _down(n: int) -> int:
    """Output length of every stride-2 layer of the model (7×7/pad 3, 3×3/pad 1, 1×1/pad 0)."""
    return (n - 1) // 2 + 1


def _pair(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        return (image_size, image_size)
    if (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) for s in image_size)
    ):
        return (int(image_size[0]), int(image_size[1]))
    raise ValueError(f"image_size must be an int or (height, width) (got {image_size!r})")


def _is_stage_start(area: int) -> bool:
    """Areas 2, 4, 6 open a new stage: their input convolution has stride 2 (Table S3)."""
    return area >= 2 and area % 2 == 0


def area_sizes(image_size: int | Sequence[int], depth: int = 8) -> list[tuple[int, int]]:
    """Spatial size ``(H, W)`` of each area for an input of ``image_size``.

    The stem (7×7 stride-2 convolution, 3×3 stride-2 average pool) divides by 4, and each new
    stage by 2 again: 224 → 56, 56, 28, 28, 14, 14, 7, 7 (Table S3); 32 → 8, 8, 4, 4, 2, 2, 1, 1.
    """
    h, w = _pair(image_size)
    h, w = _down(_down(h)), _down(_down(w))
    sizes = []
    for i in range(depth):
        if _is_stage_start(i):
            h, w = _down(h), _down(w)
        sizes.append((h, w))
    return sizes


# ----------------------------------------------------------------------------- protocols


@dataclass(frozen=True)
class Epoch:
    """One epoch of a stimulus protocol.

    Attributes
    ----------
    duration : float
        Length in ms (a whole number of Euler steps ``dt``).
    stimulus : int or None
        Which image of each presentation is shown (index ``k`` into the ``images`` given to
        :meth:`CordsNet.simulate`); ``None``: no input (spontaneous activity / blank screen).
    noise_std : float
        Standard deviation of white Gaussian noise added to every pixel of the input image
        independently at every step of this epoch (Fig. 3C–D). Applied to image epochs only.
    name : str
        Label kept with the recording (``"spontaneous"``, ``"image"``, ``"blank"``, …).
    """

    duration: float
    stimulus: int | None = None
    noise_std: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.duration, (int, float)) and math.isfinite(self.duration)):
            raise ValueError(f"Epoch.duration must be a finite number of ms ({self.duration!r})")
        if self.duration <= 0:
            raise ValueError(f"Epoch.duration must be > 0 ms (got {self.duration})")
        if self.stimulus is not None and (
            not isinstance(self.stimulus, int)
            or isinstance(self.stimulus, bool)
            or self.stimulus < 0
        ):
            raise ValueError(f"Epoch.stimulus must be None or an int >= 0 ({self.stimulus!r})")
        if not math.isfinite(self.noise_std) or self.noise_std < 0:
            raise ValueError(f"Epoch.noise_std must be finite and >= 0 ({self.noise_std!r})")

    @classmethod
    def blank(cls, duration: float, name: str = "blank") -> Epoch:
        return cls(duration, None, 0.0, name)

    @classmethod
    def image(
        cls, duration: float, stimulus: int = 0, noise_std: float = 0.0, name: str = "image"
    ) -> Epoch:
        return cls(duration, stimulus, noise_std, name)


@dataclass(frozen=True)
class Protocol:
    """A schedule of :class:`Epoch` s, simulated back to back.

    The builders give the paper's protocols; any list of epochs is allowed.
    """

    epochs: tuple[Epoch, ...]

    def __post_init__(self) -> None:
        epochs = tuple(self.epochs)
        if not epochs or not all(isinstance(e, Epoch) for e in epochs):
            raise ValueError("Protocol.epochs must be a non-empty sequence of Epoch")
        object.__setattr__(self, "epochs", epochs)

    @property
    def duration(self) -> float:
        return sum(e.duration for e in self.epochs)

    @property
    def n_stimuli(self) -> int:
        """Number of distinct images per presentation the protocol refers to."""
        used = [e.stimulus for e in self.epochs if e.stimulus is not None]
        return max(used) + 1 if used else 0

    def steps(self, dt: float) -> list[int]:
        """Number of Euler steps of each epoch; each duration must be a multiple of ``dt``."""
        out = []
        for e in self.epochs:
            n = e.duration / dt
            if abs(n - round(n)) > 1e-6 * max(1.0, n):
                raise ValueError(
                    f"epoch {e.name or e}: duration {e.duration} ms is not a multiple of dt = {dt} ms"
                )
            out.append(int(round(n)))
        return out

    @classmethod
    def classification(cls, stimulus_ms: float = STIMULUS_MS, noise_std: float = 0.0) -> Protocol:
        """The published inference protocol (Section 3): from the spontaneous steady state,
        show the image for 200 ms (100 steps); the logits at the last step classify it."""
        return cls((Epoch.image(stimulus_ms, 0, noise_std),))

    @classmethod
    def training(
        cls, stimulus_ms: float = STIMULUS_MS, blank_ms: float = SPONTANEOUS_MS
    ) -> Protocol:
        """The eq. 4 training protocol after the spontaneous phase: image for 200 ms (steps
        100–200), then no input for 200 ms (steps 200–300)."""
        return cls((Epoch.image(stimulus_ms, 0), Epoch.blank(blank_ms)))

    @classmethod
    def sequence(
        cls,
        n_images: int,
        image_ms: float = STIMULUS_MS,
        blank_ms: float = 0.0,
        *,
        lead_ms: float = 0.0,
        noise_std: float = 0.0,
    ) -> Protocol:
        """``[blank lead] image 0 [blank] image 1 [blank] …`` (Fig. 3B: image / blank / image
        sequences)."""
        if n_images < 1:
            raise ValueError(f"n_images must be >= 1 (got {n_images})")
        epochs = [Epoch.blank(lead_ms, "spontaneous")] if lead_ms > 0 else []
        for k in range(n_images):
            epochs.append(Epoch.image(image_ms, k, noise_std, name=f"image {k}"))
            if blank_ms > 0:
                epochs.append(Epoch.blank(blank_ms))
        return cls(tuple(epochs))


# ----------------------------------------------------------------------------- trajectory


@dataclass
class VisionTrajectory(Trajectory):
    """A :class:`~cordsneuro.dynamics.Trajectory` of a CordsNet simulation.

    ``rates`` holds one tensor ``(batch, time, C, H, W)`` per recorded area (``areas`` names
    them; ``None`` when no area was recorded); ``outputs`` the logits ``(batch, time, classes)``
    at ``output_steps``; ``times`` (ms) the end of each recorded step; ``steps`` the step
    indices (0-based from the protocol's start) at which ``rates`` were kept (those of the
    outputs when no area is recorded); ``epochs`` the epoch name of each of them.
    """

    areas: tuple[int, ...] = ()
    steps: Tensor | None = None
    output_steps: Tensor | None = None
    epochs: tuple[str, ...] = field(default_factory=tuple)

    def to_xarray(self, areas: Sequence[int] | None = None):
        """Recorded activity as ``xarray.DataArray`` with dims ``("time_bin", "presentation",
        "neuroid")`` (the Brain-Score layout). Neuroids are the units of the chosen areas,
        flattened channel-major, with coordinates ``area``, ``channel``, ``row``, ``col`` and
        ``neuroid_id``; time bins carry ``time_bin_start`` / ``time_bin_end`` in ms and the
        ``epoch`` name; presentations carry ``presentation_index``."""
        import numpy as np
        import xarray as xr

        if self.rates is None:
            raise ValueError("no area was recorded: simulate with record_areas=[...]")
        areas = self.areas if areas is None else tuple(areas)
        missing = [a for a in areas if a not in self.areas]
        if missing:
            raise ValueError(f"areas {missing} were not recorded (recorded: {list(self.areas)})")
        blocks, coords = [], {"area": [], "channel": [], "row": [], "col": []}
        for a in areas:
            r = self.rates[self.areas.index(a)].detach().float().cpu()
            b, t, c, h, w = r.shape
            blocks.append(r.permute(1, 0, 2, 3, 4).reshape(t, b, c * h * w).numpy())
            cc, yy, xx = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
            coords["area"].append(np.full(c * h * w, a))
            coords["channel"].append(cc.ravel())
            coords["row"].append(yy.ravel())
            coords["col"].append(xx.ravel())
        data = np.concatenate(blocks, axis=2)
        neuroid = {k: ("neuroid", np.concatenate(v)) for k, v in coords.items()}
        neuroid["neuroid_id"] = (
            "neuroid",
            np.array(
                [
                    f"area{a}.c{c}.y{y}.x{x}"
                    for a, c, y, x in zip(
                        *(neuroid[k][1] for k in ("area", "channel", "row", "col"))
                    )
                ]
            ),
        )
        times = self.times.detach().cpu().numpy()
        return xr.DataArray(
            data,
            dims=("time_bin", "presentation", "neuroid"),
            coords={
                "time_bin_start": ("time_bin", times - self.dt_ms),
                "time_bin_end": ("time_bin", times),
                "epoch": ("time_bin", np.array(self.epochs or [""] * len(times))),
                "presentation_index": ("presentation", np.arange(data.shape[1])),
                **neuroid,
            },
            name="rates",
        )

    dt_ms: float = 2.0


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


def _wn_conv(
    c_in: int, c_out: int, k: int, stride: int, padding: int, g: torch.Generator
) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=False)
    _init_uniform(conv.weight, c_in * k * k, g)
    return weight_norm(conv)  # w = g · v / ‖v‖ per output channel (dim 0)


def _conv(x: Tensor, w: Tensor, stride: int = 1, padding: int = 1) -> Tensor:
    # reduced-precision kernels (precision="bf16") take their input in the same dtype
    return F.conv2d(x if x.dtype == w.dtype else x.to(w.dtype), w, None, stride, padding)


# ----------------------------------------------------------------------------- the model


@register_model
class CordsNet(DynamicalRNN):
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
        if depth not in DEPTHS or isinstance(depth, bool):
            raise ValueError(f"depth must be one of {DEPTHS} (CordsNet-R2 … R8), got {depth!r}")
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1 (got {value!r})")
        size = _pair(image_size)
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
        self.channels = AREA_CHANNELS[:depth]
        self.sizes = area_sizes(size, depth)
        self.state_shapes = tuple((c, h, w) for c, (h, w) in zip(self.channels, self.sizes))
        self._init_time_constants()

        g = torch.Generator().manual_seed(
            int(seed) if seed is not None else int(torch.seed() % 2**63)
        )
        self.stem = _wn_conv(in_channels, STEM_CHANNELS, STEM_KERNEL, STEM_STRIDE, STEM_PADDING, g)
        self.stem_pool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        self.input_skip = _wn_conv(STEM_CHANNELS, STEM_CHANNELS, 3, 1, 1, g)
        self.feedforward = nn.ModuleList()
        self.recurrent = nn.ModuleList()
        self.area_bias = nn.ParameterList()
        c_prev = STEM_CHANNELS
        for i, c in enumerate(self.channels):
            stride = 2 if _is_stage_start(i) else 1
            self.recurrent.append(_wn_conv(c, c, 3, 1, 1, g))
            self.area_bias.append(nn.Parameter(torch.zeros(c, *self.sizes[i])))
            self.feedforward.append(_wn_conv(c_prev, c, 3, stride, 1, g))
            c_prev = c
        # 1×1 stride-2 convolutions from the second area of a stage into the second area of the
        # next stage (areas 3, 5, 7).
        self.skip = nn.ModuleList(
            _wn_conv(self.channels[2 * k - 1], self.channels[2 * k + 1], 1, 2, 0, g)
            for k in range(1, depth // 2)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        fc = nn.Linear(self.channels[-1], num_classes)
        _init_uniform(fc.weight, self.channels[-1], g)
        _init_uniform(fc.bias, self.channels[-1], g)
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
            return fmt(t if conv_dtype is None else t.to(conv_dtype))

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
        return F.avg_pool2d(_conv(images, weight, STEM_STRIDE, STEM_PADDING), 3, 2, 1)

    def input_drive(self, images: Tensor, w: _Weights | None = None) -> tuple[Tensor, Tensor]:
        """The parts of the drive that only depend on the image: ``Conv_inp,0(stem)`` for area 0
        and ``Conv_inp,1(Conv3×3(stem))`` for area 1 (exact, by linearity of ``Conv_inp,1``)."""
        w = self.materialize() if w is None else w
        stem = self.stem_features(images, w)
        return (
            _conv(stem, w.feedforward[0]),
            _conv(_conv(stem, w.input_skip), w.feedforward[1]),
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
            pre = _conv(r, w.recurrent[i]) + w.bias[i]
            if i == 0:
                if input_drive is not None:
                    pre = pre + input_drive[0]
                elif stem is not None:
                    pre = pre + _conv(stem, w.feedforward[0])
            elif i == 1:
                if input_drive is not None:
                    pre = pre + _conv(x[0], w.feedforward[1]) + input_drive[1]
                elif stem is not None:
                    pre = pre + _conv(x[0] + _conv(stem, w.input_skip), w.feedforward[1])
                else:
                    pre = pre + _conv(x[0], w.feedforward[1])
            elif _is_stage_start(i):
                pre = pre + _conv(x[i - 1] + x[i - 2], w.feedforward[i], stride=2)
            else:
                skip = _conv(x[i - 2], w.skip[(i - 3) // 2], stride=2, padding=0)
                pre = pre + _conv(x[i - 1] + skip, w.feedforward[i])
            out.append(pre)
        return tuple(out)

    def drive(self, state: State, inputs: Tensor | None) -> State:
        """The argument of σ for every area (eq. 3): ``Conv_rec(r) + b + Conv_inp(h)``.

        ``inputs`` is one step's images ``(batch, C, H, W)`` or ``None``. This is the true
        vector-field drive (differentiable in ``state``); it recomputes the weights and the
        input convolutions at each call. Simulations use the fast path of :meth:`simulate`."""
        w = self.materialize()
        stem = None if inputs is None else self.stem_features(inputs, w)
        return self._preactivation(tuple(state), w, stem=stem)

    def _readout(self, state: Sequence[Tensor], w: _Weights) -> Tensor:
        pooled = (F.relu(state[-1]) + F.relu(state[-2])).mean(dim=(2, 3))
        return F.linear(pooled, w.fc_weight, w.fc_bias)

    def readout(self, state: State) -> Tensor:
        """Logits ``(batch, num_classes)``: linear readout of the spatial average of
        ``ReLU(r_last) + ReLU(r_second_last)`` (Table S3, last row)."""
        pooled = self.pool(F.relu(state[-1]) + F.relu(state[-2])).flatten(1)
        return self.fc(pooled)

    # -- the fast simulation engine --------------------------------------------------------

    def _run(
        self,
        schedule: Sequence[tuple[int, Tensor | None, float]],
        state: State,
        *,
        record_areas: Sequence[int],
        record_outputs: bool,
        record_steps: Callable[[int], bool] | None,
        checkpoint_segment: int | None,
        generator: torch.Generator | None,
        channels_last: bool,
        precision: str,
        compile: bool | str,
        output_steps: Callable[[int], bool] | None = None,
    ) -> tuple[State, list[tuple[int, tuple[Tensor, ...] | None, Tensor | None]]]:
        """Simulate a schedule of ``(n_steps, images or None, input noise std)`` segments.

        Returns the final state and, for every recorded step, ``(t, areas, logits)``."""
        device = state[0].device
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        w = self.materialize(fmt, torch.bfloat16 if precision == "bf16" else None)
        state = tuple(r.contiguous(memory_format=fmt) for r in state)
        alphas = tuple(getattr(self, f"tau_{i}") for i in range(self.depth))
        alphas = tuple(self.dt / t for t in alphas)
        alphas = tuple(a if a.ndim == 0 else a.unsqueeze(0) for a in alphas)

        # Input drive once per stimulus: segments without noise and with a non-blank image.
        seg_of_step: list[int] = []
        drives: list[tuple[Tensor, Tensor] | None] = []
        for k, (n, images, noise) in enumerate(schedule):
            seg_of_step.extend([k] * n)
            if images is not None and noise == 0:
                drives.append(self.input_drive(images.contiguous(memory_format=fmt), w))
            else:
                drives.append(None)
        noisy = any(images is not None and noise > 0 for _, images, noise in schedule)
        noise_at = per_step_generators(generator, device) if noisy or self.noise_std > 0 else None

        def kernel(
            state: tuple[Tensor, ...], drive: tuple[Tensor, Tensor] | None, noise_gen
        ) -> tuple[Tensor, ...]:
            pre = self._preactivation(state, w, input_drive=drive)
            new = []
            for r, d, a in zip(state, pre, alphas):
                if self.noise_std > 0:
                    d = d + self._noise_like(d, a, noise_gen)
                new.append(r + a * (self.sigma(d) - r))
            return tuple(new)

        step_kernel = kernel
        if compile:
            mode = compile if isinstance(compile, str) else None
            compiled = torch.compile(kernel, mode=mode, dynamic=False)
            step_kernel = compiled
            if mode in ("reduce-overhead", "max-autotune") and device.type == "cuda":
                # CUDA graphs reuse their output buffers at the next replay: copy the new
                # state out so that recorded steps stay valid.
                def step_kernel(state, drive, noise_gen):
                    torch.compiler.cudagraph_mark_step_begin()
                    return tuple(t.clone() for t in compiled(state, drive, noise_gen))

        def step_fn(state: tuple[Tensor, ...], t: int) -> tuple[Tensor, ...]:
            k = seg_of_step[t]
            _, images, noise = schedule[k]
            gen = None if noise_at is None else noise_at(t)
            drive = drives[k]
            if images is not None and drive is None:  # a noisy image: new input every step
                xi = torch.randn(images.shape, generator=gen, device=device, dtype=images.dtype)
                drive = self.input_drive((images + noise * xi).contiguous(memory_format=fmt), w)
            return step_kernel(state, drive, gen)

        output_steps = record_steps if output_steps is None else output_steps

        def record_fn(state: tuple[Tensor, ...], t: int):
            keep_areas = bool(record_areas) and (record_steps is None or record_steps(t))
            keep_out = record_outputs and (output_steps is None or output_steps(t))
            if not (keep_areas or keep_out):
                return None
            logits = None
            if keep_out:
                logits = self._readout(state, w)
            return (t, tuple(state[a] for a in record_areas) if keep_areas else None, logits)

        keep = bool(record_areas) or record_outputs
        state, recorded = self.integrate(
            step_fn,
            state,
            len(seg_of_step),
            record_fn=record_fn if keep else None,
            checkpoint_segment=checkpoint_segment,
        )
        state = tuple(r.contiguous() for r in state)
        return state, [r for r in recorded if r is not None]

    def spontaneous_state(
        self,
        batch_size: int = 1,
        duration: float = SPONTANEOUS_MS,
        *,
        generator: torch.Generator | None = None,
        channels_last: bool = True,
        precision: str = "fp32",
    ) -> tuple[Tensor, ...]:
        """The spontaneous state: ``duration`` ms (100 steps) without input from the zero state
        (Section 3), computed without gradients. It does not depend on the image, so without
        private noise it is computed once per set of weights (cached; any in-place change of a
        parameter or a different dt/τ/σ recomputes it) and expanded to ``batch_size``."""
        n = Protocol((Epoch.blank(duration),)).steps(self.dt)[0]
        key = (
            n,
            precision,
            channels_last,
            self.dt,
            self.activation,
            self.prelu_slope,
            tuple((p.data_ptr(), p._version, p.dtype, str(p.device)) for p in self.parameters()),
            tuple(
                (t.data_ptr(), t._version)
                for t in (getattr(self, f"tau_{i}") for i in range(self.depth))
            ),
        )
        deterministic = self.noise_std == 0
        if deterministic and key in self._spontaneous_cache:
            return tuple(r.expand(batch_size, *r.shape[1:]) for r in self._spontaneous_cache[key])
        with torch.no_grad():
            b = 1 if deterministic else batch_size
            state, _ = self._run(
                [(n, None, 0.0)],
                self.initial_state(b),
                record_areas=(),
                record_outputs=False,
                record_steps=None,
                checkpoint_segment=None,
                generator=generator,
                channels_last=channels_last,
                precision=precision,
                compile=False,
            )
        if not deterministic:
            return state
        self._spontaneous_cache.clear()
        self._spontaneous_cache[key] = state
        return tuple(r.expand(batch_size, *r.shape[1:]) for r in state)

    def _resolve_start(
        self, start, batch: int, generator, channels_last, precision
    ) -> tuple[Tensor, ...]:
        if isinstance(start, str):
            if start == "spontaneous":
                return self.spontaneous_state(
                    batch, generator=generator, channels_last=channels_last, precision=precision
                )
            if start == "zero":
                return self.initial_state(batch)
            raise ValueError(f"start must be 'spontaneous', 'zero' or a state (got {start!r})")
        if isinstance(start, Tensor) or not isinstance(start, (tuple, list)):
            raise TypeError(
                f"start must be 'spontaneous', 'zero' or a tuple of {self.depth} tensors"
            )
        state = tuple(start)
        self.check_state(state, "start")
        if state[0].shape[0] != batch:
            raise ValueError(f"start has batch size {state[0].shape[0]}, images have {batch}")
        return state

    def simulate(
        self,
        images: Tensor | Sequence[Tensor] | None,
        protocol: Protocol | Sequence[Epoch] | None = None,
        *,
        start: str | Sequence[Tensor] = "spontaneous",
        batch_size: int | None = None,
        record_areas: Sequence[int] | str | None = None,
        record_outputs: bool = True,
        record_steps: slice | Sequence[int] | None = None,
        output_steps: slice | Sequence[int] | None = None,
        checkpoint_segment: int | None = None,
        generator: torch.Generator | None = None,
        channels_last: bool | None = None,
        precision: str = "fp32",
        compile: bool | str = False,
    ) -> VisionTrajectory:
        """Run a stimulus protocol.

        Parameters
        ----------
        images : Tensor or sequence of Tensor or None
            ``(batch, C, H, W)`` (one image per presentation), ``(batch, K, C, H, W)`` or a
            list of ``K`` tensors ``(batch, C, H, W)`` (image ``k`` is shown in the epochs with
            ``stimulus=k``). ``None`` for protocols without images (then give ``batch_size``).
        protocol : Protocol or sequence of Epoch, optional
            Default :meth:`Protocol.classification` (200 ms of image).
        start : ``"spontaneous"``, ``"zero"`` or state
            Initial state: the spontaneous steady state (default, as in the paper), zeros, or a
            tuple of per-area tensors (e.g. the ``final_state`` of a previous call).
        record_areas : sequence of int, ``"all"`` or None
            Areas whose rates are kept at the recorded steps (default none: memory).
        record_outputs : bool
            Keep the logits at the recorded steps.
        record_steps : slice or sequence of int, optional
            Step indices (0-based, counted from the first step of the protocol) to record;
            default every step.
        output_steps : slice or sequence of int, optional
            Steps at which the logits are kept, when they differ from ``record_steps``
            (e.g. eq. 4 needs logits at 30 steps and every area at 10 others).
        checkpoint_segment : int, optional
            Gradient checkpointing over time (see :meth:`DynamicalRNN.integrate`).
        generator : torch.Generator, optional
            Source of the input white noise and of the private noise.
        channels_last : bool, optional
            Use ``torch.channels_last`` tensors (default: True).
        precision : ``"fp32"`` or ``"bf16"``
            ``bf16``: convolution kernels cast to bfloat16 once per call and their inputs at
            each convolution (fp32 accumulation in the kernels); biases, the Euler update, the
            state and the readout stay in fp32.
        compile : bool or str
            Compile the step with :func:`torch.compile` (a string is its ``mode``;
            ``"reduce-overhead"`` uses CUDA graphs on CUDA).

        Returns
        -------
        VisionTrajectory
        """
        protocol = _as_protocol(protocol)
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16' (got {precision!r})")
        channels_last = True if channels_last is None else bool(channels_last)
        stimuli = self._split_images(images, protocol.n_stimuli)
        if stimuli:
            batch = stimuli[0].shape[0]
            if batch_size is not None and batch_size != batch:
                raise ValueError(
                    f"batch_size ({batch_size}) differs from the images' batch ({batch})"
                )
        else:
            batch = batch_size if batch_size is not None else 1
        n_steps = protocol.steps(self.dt)
        schedule = [
            (
                n,
                None if e.stimulus is None else stimuli[e.stimulus],
                e.noise_std if e.stimulus is not None else 0.0,
            )
            for n, e in zip(n_steps, protocol.epochs)
        ]
        names = [
            e.name or ("blank" if e.stimulus is None else f"image {e.stimulus}")
            for e in protocol.epochs
        ]
        step_names = [name for n, name in zip(n_steps, names) for _ in range(n)]
        state = self._resolve_start(start, batch, generator, channels_last, precision)
        return self._simulate_schedule(
            schedule,
            state,
            step_names,
            record_areas=record_areas,
            record_outputs=record_outputs,
            record_steps=record_steps,
            output_steps=output_steps,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
            channels_last=channels_last,
            precision=precision,
            compile=compile,
        )

    def _simulate_schedule(
        self,
        schedule,
        state,
        step_names,
        *,
        record_areas,
        record_outputs,
        record_steps,
        checkpoint_segment,
        generator,
        channels_last,
        precision,
        compile,
        output_steps=None,
    ) -> VisionTrajectory:
        areas = self._resolve_areas(record_areas)
        n_total = len(step_names)
        selector = _step_selector(record_steps, n_total)
        out_selector = _step_selector(output_steps, n_total) if output_steps is not None else None
        final, recorded = self._run(
            schedule,
            state,
            record_areas=areas,
            record_outputs=record_outputs,
            record_steps=selector,
            output_steps=out_selector,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
            channels_last=channels_last,
            precision=precision,
            compile=compile,
        )
        device = final[0].device
        area_recs = [rec for rec in recorded if rec[1] is not None]
        out_recs = [rec for rec in recorded if rec[2] is not None]
        rates = None
        if area_recs:
            rates = tuple(
                torch.stack([rec[1][j] for rec in area_recs], dim=1).contiguous()
                for j in range(len(areas))
            )
        outputs = torch.stack([rec[2] for rec in out_recs], dim=1) if out_recs else None
        steps = torch.tensor(
            [rec[0] for rec in (area_recs if areas else out_recs)], dtype=torch.long
        )
        out_steps = torch.tensor([rec[0] for rec in out_recs], dtype=torch.long)
        return VisionTrajectory(
            rates=rates,
            outputs=outputs,
            times=self.dt * (steps.to(torch.float32) + 1).to(device),
            final_state=final,
            areas=areas,
            steps=steps,
            output_steps=out_steps,
            epochs=tuple(step_names[t] for t in steps.tolist()),
            dt_ms=self.dt,
        )

    def _resolve_areas(self, record_areas) -> tuple[int, ...]:
        if record_areas is None:
            return ()
        if isinstance(record_areas, str):
            if record_areas != "all":
                raise ValueError(
                    f"record_areas must be 'all', None or area indices (got {record_areas!r})"
                )
            return tuple(range(self.depth))
        areas = tuple(int(a) for a in record_areas)
        bad = [a for a in areas if not 0 <= a < self.depth]
        if bad:
            raise ValueError(
                f"record_areas {bad} out of range: this model has areas 0…{self.depth - 1}"
            )
        return areas

    def _split_images(self, images, n_stimuli: int) -> list[Tensor]:
        if images is None:
            if n_stimuli:
                raise ValueError(f"the protocol shows {n_stimuli} image(s) but images is None")
            return []
        if isinstance(images, Tensor):
            if images.ndim == 4:
                stimuli = [images]
            elif images.ndim == 5:
                stimuli = list(images.unbind(1))
            else:
                raise ValueError(
                    f"images must be (batch, C, H, W) or (batch, K, C, H, W), got {tuple(images.shape)}"
                )
        elif isinstance(images, (list, tuple)):
            stimuli = list(images)
        else:
            raise TypeError(
                f"images must be a Tensor or a list of Tensors, got {type(images).__name__}"
            )
        for k, s in enumerate(stimuli):
            self.check_images(s, f"images[{k}]" if len(stimuli) > 1 else "images")
            if s.ndim != 4 or s.shape[0] != stimuli[0].shape[0]:
                raise ValueError(
                    f"image {k} must be (batch, C, H, W) with the batch of image 0, got {tuple(s.shape)}"
                )
        if n_stimuli > len(stimuli):
            raise ValueError(
                f"the protocol shows image {n_stimuli - 1} but only {len(stimuli)} image(s) were given"
            )
        device, dtype = self._device_dtype()
        return [s.to(device=device, dtype=dtype) for s in stimuli]

    def classify(self, images: Tensor, **kwargs) -> Tensor:
        """The published inference (Section 3): 100 spontaneous steps, then the image for 100
        steps; the logits ``(batch, num_classes)`` at the last step."""
        traj = self.simulate(images, Protocol.classification(), record_steps=[-1], **kwargs)
        return traj.outputs[:, -1]

    # -- the DynamicalRNN interface --------------------------------------------------------

    def forward(
        self,
        inputs: Tensor | None = None,
        *,
        state: State | None = None,
        n_steps: int | None = None,
        batch_size: int | None = None,
        record: bool = True,
        checkpoint_segment: int | None = None,
        generator: torch.Generator | None = None,
        fast: bool = True,
        channels_last: bool | None = None,
        precision: str = "fp32",
        compile: bool | str = False,
    ) -> Trajectory:
        """Simulate on a ``(batch, time, C, H, W)`` input tensor (see
        :meth:`DynamicalRNN.forward`); every area is recorded when ``record``.

        With ``fast=True`` (default) consecutive identical frames (e.g. an image expanded over
        time, ``images[:, None].expand(-1, T, -1, -1, -1)``, which costs no memory) share one
        input drive and all-zero frames skip the input convolutions; ``fast=False`` runs the
        plain per-step loop of the base class. :meth:`simulate` is the protocol-level API."""
        if not fast:
            return super().forward(
                inputs,
                state=state,
                n_steps=n_steps,
                batch_size=batch_size,
                record=record,
                checkpoint_segment=checkpoint_segment,
                generator=generator,
            )
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16' (got {precision!r})")
        if inputs is not None:
            self.check_inputs(inputs)
            batch, n_time = inputs.shape[0], inputs.shape[1]
            if n_steps is not None and n_steps != n_time:
                raise ValueError(
                    f"n_steps ({n_steps}) must equal the inputs' time length ({n_time})"
                )
            schedule = _group_frames(inputs)
        else:
            if n_steps is None or n_steps < 1:
                raise ValueError(
                    f"n_steps must be a positive int when inputs is None (got {n_steps!r})"
                )
            batch = (
                batch_size
                if batch_size is not None
                else (state[0].shape[0] if state is not None else 1)
            )
            schedule = [(n_steps, None, 0.0)]
        if state is None:
            state = self.initial_state(batch)
        else:
            self.check_state(state)
            if state[0].shape[0] != batch:
                raise ValueError(f"state has batch size {state[0].shape[0]}, inputs have {batch}")
        n_total = sum(n for n, _, _ in schedule)
        traj = self._simulate_schedule(
            schedule,
            tuple(state),
            ["input"] * n_total,
            record_areas="all" if record else None,
            record_outputs=record,
            record_steps=None,
            checkpoint_segment=checkpoint_segment,
            generator=generator,
            channels_last=True if channels_last is None else channels_last,
            precision=precision,
            compile=compile,
        )
        times = self.dt * torch.arange(
            1, n_total + 1, dtype=torch.float32, device=traj.final_state[0].device
        )
        return Trajectory(
            rates=traj.rates, outputs=traj.outputs, times=times, final_state=traj.final_state
        )


# ----------------------------------------------------------------------------- helpers


def _as_protocol(protocol) -> Protocol:
    if protocol is None:
        return Protocol.classification()
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, Epoch):
        return Protocol((protocol,))
    if isinstance(protocol, (list, tuple)):
        return Protocol(tuple(protocol))
    raise TypeError(
        f"protocol must be a Protocol or a list of Epoch, got {type(protocol).__name__}"
    )


def _step_selector(record_steps, n_total: int) -> Callable[[int], bool] | None:
    if record_steps is None:
        return None
    if isinstance(record_steps, slice):
        chosen = set(range(n_total)[record_steps])
    else:
        chosen = set()
        for t in record_steps:
            t = int(t)
            if not -n_total <= t < n_total:
                raise ValueError(f"record_steps: step {t} outside the protocol's {n_total} steps")
            chosen.add(t % n_total)
    return chosen.__contains__


def _same_frame(a: Tensor, b: Tensor) -> bool:
    if a.data_ptr() == b.data_ptr() and a.stride() == b.stride():
        return True
    return bool(torch.equal(a, b))


def _group_frames(inputs: Tensor) -> list[tuple[int, Tensor | None, float]]:
    """Split ``(batch, time, ...)`` into runs of identical frames; all-zero frames → None."""
    n_time = inputs.shape[1]
    runs: list[list] = []
    for t in range(n_time):
        frame = inputs[:, t]
        if runs and _same_frame(runs[-1][2], frame):
            runs[-1][0] += 1
        else:
            runs.append([1, None, frame])
    out = []
    for n, _, frame in runs:
        out.append((n, frame if bool(frame.any()) else None, 0.0))
    return out


# ----------------------------------------------------------------------------- builders


def _builder(depth: int):
    def build(weights: str | None = None, **kwargs) -> CordsNet:
        from cordsneuro.models.pretrained import build_with_weights

        return build_with_weights(depth, weights, **kwargs)

    build.__name__ = build.__qualname__ = f"cordsnet_r{depth}"
    build.__doc__ = f"""CordsNet-R{depth} ({depth} recurrent areas, Table S3).

    Parameters
    ----------
    weights : None, ``"imagenet"`` or path
        ``None``: random initialisation. ``"imagenet"``: the authors' published ImageNet
        checkpoint (CordsNet-R8 only; cached in ``$CORDSNEURO_HOME``, downloaded once and
        verified). A path: any state dict in the authors' format (``cordsnet`` class of
        ``wmws2/cordsnet``), e.g. a checkpoint of their training scripts.
    **kwargs
        Arguments of :class:`CordsNet` (``in_channels``, ``num_classes``, ``image_size``,
        ``dt``, ``tau``, ``activation``, ``seed``, …); with a checkpoint, ``in_channels`` and
        ``num_classes`` default to the checkpoint's.
    """
    return build


cordsnet_r2 = _builder(2)
cordsnet_r4 = _builder(4)
cordsnet_r6 = _builder(6)
cordsnet_r8 = _builder(8)
