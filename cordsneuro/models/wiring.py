"""The one table of CordsNet's wiring (Table S3 and the authors' residual wiring).

Everything that needs CordsNet's architecture reads it from :func:`cordsnet_wiring`: the
dynamical model (:class:`~cordsneuro.models.cordsnet.CordsNet`), its feedforward counterpart
(:class:`~cordsneuro.models.feedforward.CordsNetCNN`), the analytic MAC / parameter count
(:mod:`cordsneuro.analyses.complexity`) and the checkpoint reader
(:func:`~cordsneuro.models.pretrained.infer_config`)::

    stem   = AvgPool3×3/2( Conv7×7/2(image) )                      (64 channels)
    h_0    = stem
    h_1    = ReLU(r_0) + Conv3×3(stem)                             (``input_skip``)
    h_2k   = ReLU(r_2k−1) + ReLU(r_2k−2)                           (first area of a stage:
                                                                      ``feedforward.2k`` has stride 2)
    h_2k+1 = ReLU(r_2k) + Conv1×1/2(ReLU(r_2k−1))                  (``skip.k−1``, k ≥ 1)
    logits = Linear( AvgPool( ReLU(r_last) + ReLU(r_second_last) ) )

Area numbering
--------------
Areas are numbered from **0** everywhere in the library: area ``i`` is ``state[i]``,
``record_areas=[i]``, the ``area`` coordinate of recorded ``xarray`` activity, the module
``recurrent.i`` and the layer ``area{i}.recurrent`` of the complexity count. Area 0 receives
the stem; CordsNet-R``d`` has areas ``0 … d − 1``. (Table S3 lists the same areas top to
bottom; its first area is our area 0.)

This module is plain Python (no torch): shapes and counts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cordsneuro._util import conv_output_size, pair

__all__ = [
    "AREA_CHANNELS",
    "DEPTHS",
    "STEM_CHANNELS",
    "STEM_KERNEL",
    "STEM_STRIDE",
    "STEM_PADDING",
    "STEM_POOL",
    "ConvSpec",
    "AreaSpec",
    "CordsNetWiring",
    "cordsnet_wiring",
    "area_sizes",
    "is_stage_start",
    "check_depth",
]

#: Channels of the eight areas (Table S3); CordsNet-R``d`` uses the first ``d``.
AREA_CHANNELS = (64, 64, 128, 128, 256, 256, 512, 512)
#: Depths of the published family CordsNet-R2 … R8 (Section 3).
DEPTHS = (2, 4, 6, 8)
#: Channels, kernel, stride and padding of the input (stem) convolution (Table S3).
STEM_CHANNELS, STEM_KERNEL, STEM_STRIDE, STEM_PADDING = 64, 7, 2, 3
#: Kernel, stride and padding of the stem's average pool (Table S3).
STEM_POOL = (3, 2, 1)


def check_depth(depth: object) -> int:
    """``depth`` as an int, or ``ValueError`` unless it is 2, 4, 6 or 8."""
    if isinstance(depth, bool) or depth not in DEPTHS:
        raise ValueError(f"depth must be one of {DEPTHS} (CordsNet-R2 … R8), got {depth!r}")
    return int(depth)  # type: ignore[call-overload]


def is_stage_start(area: int) -> bool:
    """Areas 2, 4, 6 open a new stage: their feedforward convolution has stride 2 (Table S3)."""
    return area >= 2 and area % 2 == 0


@dataclass(frozen=True)
class ConvSpec:
    """One bias-free 2-D convolution of the wiring.

    ``name`` is its module path in :class:`~cordsneuro.models.cordsnet.CordsNet` and
    :class:`~cordsneuro.models.feedforward.CordsNetCNN` (``"stem"``, ``"input_skip"``,
    ``"feedforward.i"``, ``"recurrent.i"``, ``"skip.k"``); ``in_size`` the ``(H, W)`` grid
    it reads."""

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    in_size: tuple[int, int]

    @property
    def out_size(self) -> tuple[int, int]:
        return tuple(  # type: ignore[return-value]
            conv_output_size(n, self.kernel, self.stride, self.padding) for n in self.in_size
        )

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels, self.kernel, self.kernel)

    @property
    def n_weights(self) -> int:
        return self.out_channels * self.in_channels * self.kernel**2

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one evaluation on one image."""
        h, w = self.out_size
        return self.n_weights * h * w


@dataclass(frozen=True)
class AreaSpec:
    """Area ``index`` (from 0): ``channels × size`` units, its input ``h`` (see the module
    docstring) convolved by ``feedforward``, its ``recurrent`` convolution and, for areas
    3, 5, 7, the 1×1 stride-2 ``skip`` from area ``index − 2``."""

    index: int
    channels: int
    size: tuple[int, int]
    feedforward: ConvSpec
    recurrent: ConvSpec
    skip: ConvSpec | None

    @property
    def skip_source(self) -> int | None:
        return None if self.skip is None else self.index - 2


@dataclass(frozen=True)
class CordsNetWiring:
    """CordsNet-R``depth`` for ``in_channels`` × ``image_size`` inputs and ``num_classes``
    outputs (see :func:`cordsnet_wiring`)."""

    depth: int
    in_channels: int
    num_classes: int
    image_size: tuple[int, int]
    stem: ConvSpec
    stem_size: tuple[int, int]  # after the average pool: the grid of area 0
    input_skip: ConvSpec
    areas: tuple[AreaSpec, ...]

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(a.channels for a in self.areas)

    @property
    def sizes(self) -> list[tuple[int, int]]:
        return [a.size for a in self.areas]

    @property
    def state_shapes(self) -> tuple[tuple[int, int, int], ...]:
        return tuple((a.channels, *a.size) for a in self.areas)

    @property
    def skips(self) -> list[ConvSpec]:
        return [a.skip for a in self.areas if a.skip is not None]

    @property
    def readout_features(self) -> int:
        return self.areas[-1].channels

    def convs(self) -> list[ConvSpec]:
        """Every convolution: stem, input skip, then per area feedforward, recurrent, skip."""
        out = [self.stem, self.input_skip]
        for a in self.areas:
            out += [a.feedforward, a.recurrent] + ([a.skip] if a.skip else [])
        return out

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the dynamical model's state dict: every convolution and the readout
        weight-normalised (``original0`` = ``g``, one per output unit; ``original1`` = ``v``),
        one bias per unit of each area, the readout bias."""
        shapes: dict[str, tuple[int, ...]] = {}
        for c in self.convs():
            shapes[f"{c.name}.parametrizations.weight.original0"] = (c.out_channels, 1, 1, 1)
            shapes[f"{c.name}.parametrizations.weight.original1"] = c.weight_shape
        for a in self.areas:
            shapes[f"area_bias.{a.index}"] = (a.channels, *a.size)
        shapes["fc.parametrizations.weight.original0"] = (self.num_classes, 1)
        shapes["fc.parametrizations.weight.original1"] = (self.num_classes, self.readout_features)
        shapes["fc.bias"] = (self.num_classes,)
        return shapes


def cordsnet_wiring(
    depth: int = 8,
    in_channels: int = 3,
    num_classes: int = 1000,
    image_size: int | Sequence[int] = 224,
) -> CordsNetWiring:
    """The wiring of CordsNet-R``depth`` (Table S3), with every grid size derived from
    ``image_size`` (int or ``(H, W)``): the stem divides by 4, each new stage by 2 again
    (224 → 56, 56, 28, 28, 14, 14, 7, 7; 32 → 8, 8, 4, 4, 2, 2, 1, 1)."""
    depth = check_depth(depth)
    size = pair(image_size)
    stem = ConvSpec(
        "stem", in_channels, STEM_CHANNELS, STEM_KERNEL, STEM_STRIDE, STEM_PADDING, size
    )
    pool_k, pool_s, pool_p = STEM_POOL
    grid = tuple(conv_output_size(n, pool_k, pool_s, pool_p) for n in stem.out_size)
    stem_size: tuple[int, int] = grid  # type: ignore[assignment]
    input_skip = ConvSpec("input_skip", STEM_CHANNELS, STEM_CHANNELS, 3, 1, 1, stem_size)
    areas: list[AreaSpec] = []
    c_prev, in_grid = STEM_CHANNELS, stem_size
    for i, c in enumerate(AREA_CHANNELS[:depth]):
        stride = 2 if is_stage_start(i) else 1
        ff = ConvSpec(f"feedforward.{i}", c_prev, c, 3, stride, 1, in_grid)
        out = ff.out_size
        skip = None
        if i >= 3 and i % 2 == 1:  # from the second area of the previous stage
            src = areas[i - 2]
            skip = ConvSpec(f"skip.{(i - 3) // 2}", src.channels, c, 1, 2, 0, src.size)
        areas.append(AreaSpec(i, c, out, ff, ConvSpec(f"recurrent.{i}", c, c, 3, 1, 1, out), skip))
        c_prev, in_grid = c, out
    return CordsNetWiring(
        depth, in_channels, num_classes, size, stem, stem_size, input_skip, tuple(areas)
    )


def area_sizes(image_size: int | Sequence[int], depth: int = 8) -> list[tuple[int, int]]:
    """Spatial size ``(H, W)`` of each area for an input of ``image_size`` (see
    :func:`cordsnet_wiring`)."""
    return cordsnet_wiring(depth, image_size=image_size).sizes
