"""Computational complexity: multiply-accumulates (MACs) and parameters (Section 3, Fig. 2C).

The paper compares CordsNet-R2…R8, simulated for the 300 Euler steps of its training protocol
(eq. 4), with the classification models of ``torchvision.models`` in a plot of MACs against
parameter counts (Fig. 2C): CordsNet-R8 has about as many parameters as ResNet-18, yet even
CordsNet-R2 needs more MACs to simulate than ViT-H/14 needs for one image.

What counts as a MAC
--------------------
One multiply-accumulate is one product added to a running sum, as in a dot product. We count
the MACs of

- convolutions (any groups, stride, dilation, padding, transposed): for each output element,
  ``C_in / groups · prod(kernel)`` MACs;
- matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``, ``matmul``, ``linear``, ``einsum``
  contractions, which PyTorch lowers to these): ``m · k · n`` for an ``(m, k) @ (k, n)`` product;
- scaled dot-product attention (``torch.nn.MultiheadAttention``, ViT, Swin, MaxViT): the two
  products ``Q Kᵀ`` and ``softmax(·) V``.

Element-wise work is **not** counted: bias additions, activations, normalisation (BatchNorm,
LayerNorm, weight normalisation of the weights), pooling, softmax, residual sums and the Euler
update ``r ← (1 − α) r + α σ(·)``. This is the convention of torchvision's own operation counts
(the ``_ops`` field of its weights' metadata, which are GMACs although torchvision labels the
column "GFLOPS": ResNet-18's 1.814 is its 1.814 G multiply-accumulates) and of the MAC counts
usually quoted for CNNs. One MAC is two floating-point operations (FLOPs).

Counting runs on the ``meta`` device: modules and inputs are replaced by tensors that carry
shapes and dtypes but no data, so no weight is materialised and no arithmetic is done; a
ViT-H/14 is counted in a fraction of a second. The per-operator formulas are those of
:class:`torch.utils.flop_counter.FlopCounterMode`, which counts FLOPs = 2 × MACs; we halve them.

CordsNet
--------
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

import contextlib
import csv
import difflib
import math
import numbers
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cordsneuro._atomic import atomic_path

__all__ = [
    "MacCount",
    "ModelComplexity",
    "CordsNetLayer",
    "count_macs",
    "count_parameters",
    "torchvision_models",
    "torchvision_weights",
    "TorchvisionWeights",
    "build_torchvision_model",
    "torchvision_complexity",
    "cordsnet_layers",
    "cordsnet_complexity",
    "cordsnet_parameter_count",
    "count_cordsnet",
    "complexity_table",
    "format_table",
    "write_csv",
    "Fig2CSummary",
    "summarize",
    "CORDSNET_CHANNELS",
    "PAPER_STEPS",
]

#: Euler steps of the paper's training simulation (eq. 4: 100 spontaneous, 100 stimulus, 100
#: blank steps of dt = 2 ms), the length over which Fig. 2C counts CordsNet's MACs.
PAPER_STEPS = 300

#: Channels of the recurrent areas of CordsNet-R8 (Table S3); R2/R4/R6 take the first 2/4/6.
CORDSNET_CHANNELS = (64, 64, 128, 128, 256, 256, 512, 512)

_STEM_CHANNELS = 64  # Table S3: 7×7, 64, stride 2 (the ResNet-18 stem)


# ----------------------------------------------------------------------------- validation


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_depth(depth: Any) -> int:
    if isinstance(depth, bool) or depth not in (2, 4, 6, 8):
        raise ValueError(f"depth must be one of 2, 4, 6, 8 (CordsNet-R2…R8), got {depth!r}")
    return int(depth)


# ----------------------------------------------------------------------------- generic counter


@dataclass(frozen=True)
class MacCount:
    """Multiply-accumulates of one call.

    Attributes
    ----------
    total : int
        All counted MACs.
    by_operator : dict[str, int]
        MACs per ATen operator (``"aten.convolution"``, ``"aten.mm"``, ...).
    by_module : dict[str, int]
        MACs per module path (``""`` for the whole call, ``"layer1.0.conv1"``, ...), as
        attributed by :class:`torch.utils.flop_counter.FlopCounterMode` (each module's total
        includes its submodules).
    """

    total: int
    by_operator: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)

    @property
    def gmacs(self) -> float:
        """Total in units of 10⁹ MACs."""
        return self.total / 1e9


def _to_meta(tree: Any) -> Any:
    """Replace every tensor in a (nested tuple/list/dict) argument by a meta tensor of the same
    shape and dtype."""
    from torch.utils._pytree import tree_map

    return tree_map(
        lambda x: torch.empty_like(x, device="meta") if isinstance(x, Tensor) else x, tree
    )


class _MethodCall(nn.Module):
    """Wraps ``module.<method>`` so that :func:`torch.func.functional_call` can substitute the
    module's parameters and buffers for the duration of any method call, not only ``forward``."""

    def __init__(self, module: nn.Module, method: str) -> None:
        super().__init__()
        self.inner = module
        self.method = method

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, self.method)(*args, **kwargs)


def count_macs(module: nn.Module, *args: Any, method: str = "forward", **kwargs: Any) -> MacCount:
    """Count the multiply-accumulates of one call of ``module`` on the meta device.

    Parameters
    ----------
    module : nn.Module
        Any module, on any device (or already on ``meta``). Its weights are neither copied nor
        read: for the count, every parameter and buffer is replaced by a data-less meta tensor of
        the same shape (:func:`torch.func.functional_call`), so the module is left untouched.
    *args, **kwargs
        Arguments of the call; tensors may live anywhere (only their shapes and dtypes are used),
        e.g. ``torch.empty(1, 3, 224, 224)``. Tensors the module creates inside the call without
        a device are created on ``meta`` too.
    method : str
        Which method to count (default ``"forward"``; e.g. ``"step"`` for one Euler step of a
        :class:`~cordsneuro.dynamics.DynamicalRNN`).

    Returns
    -------
    MacCount
        ``total`` MACs (see the module docstring for what counts), and the split by operator
        and by module.

    Raises
    ------
    RuntimeError
        If the call needs tensor *values* (``.item()``, ``.tolist()``, input validation,
        data-dependent control flow), which meta tensors do not have.
    """
    from torch.func import functional_call
    from torch.utils.flop_counter import FlopCounterMode

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not callable(getattr(module, method, None)):
        raise ValueError(f"method must name a method of {type(module).__name__}, got {method!r}")
    wrapper = _MethodCall(module, method)
    state = {
        name: torch.empty_like(t, device="meta")
        for name, t in [*wrapper.named_parameters(), *wrapper.named_buffers()]
    }
    args, kwargs = _to_meta(args), _to_meta(kwargs)
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.device("meta"), torch.no_grad():
            functional_call(wrapper, state, args, kwargs, strict=False)
    except (RuntimeError, NotImplementedError) as err:
        if "meta" not in str(err):
            raise
        raise RuntimeError(
            f"count_macs runs {type(module).__name__}.{method} on the meta device (shapes only, "
            f"no data), but the call needs tensor values ({err}); count a part of it that "
            "depends on shapes only (e.g. one step, the input drive, the readout)"
        ) from err
    return _mac_count(counter)


def _mac_count(counter: Any) -> MacCount:
    counts = counter.get_flop_counts()
    by_operator = {str(op): int(f) // 2 for op, f in counts.get("Global", {}).items()}
    by_module: dict[str, int] = {}
    for name, ops in counts.items():
        if name == "Global":
            continue
        parts = name.split(".")[1:]  # drop the wrapper's own name, then its "inner" attribute
        path = ".".join(parts[1:] if parts[:1] == ["inner"] else parts)
        by_module[path] = sum(int(f) for f in ops.values()) // 2
    # FlopCounterMode counts 2 FLOPs per multiply-accumulate for every operator it knows
    return MacCount(int(counter.get_total_flops()) // 2, by_operator, by_module)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of ``module`` (each shared tensor counted once). Works on ``meta``
    modules. Weight-normalised layers count their magnitude ``g`` and direction ``v``, as in
    their state dict."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- torchvision


def torchvision_models() -> list[str]:
    """Names of every classification model in ``torchvision.models`` (80 in torchvision 0.29;
    the paper plotted 79)."""
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models))


def _check_torchvision_name(name: Any) -> str:
    names = torchvision_models()
    if not isinstance(name, str) or name not in names:
        close = difflib.get_close_matches(str(name), names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown torchvision classification model {name!r}{hint} "
            f"(torchvision.models.list_models(module=torchvision.models) lists {len(names)})"
        )
    return name


@dataclass(frozen=True)
class TorchvisionWeights:
    """Metadata of one set of published torchvision weights.

    Attributes
    ----------
    name : str
        Enum member name, e.g. ``"IMAGENET1K_V1"``.
    image_size : int
        Crop size of its evaluation transform (pixels): the input size it is used at.
    ops : float or None
        torchvision's recorded ``_ops`` (G multiply-accumulates per image).
    num_params : int or None
        torchvision's recorded parameter count.
    """

    name: str
    image_size: int
    ops: float | None
    num_params: int | None


def torchvision_weights(name: str) -> list[TorchvisionWeights]:
    """The published ImageNet weights of torchvision model ``name`` with the input size they
    are evaluated at (the crop size of their transform) and torchvision's recorded operation
    count (``_ops``, GMACs) and parameter count. Reads metadata only; downloads nothing."""
    from torchvision.models import get_model_weights

    _check_torchvision_name(name)
    entries = []
    for w in get_model_weights(name):
        crop = getattr(w.transforms, "keywords", {}).get("crop_size")
        if crop is None:
            crop = w.meta["min_size"][0]
        size = int(crop[0] if isinstance(crop, Sequence) else crop)
        entries.append(
            TorchvisionWeights(w.name, size, w.meta.get("_ops"), w.meta.get("num_params"))
        )
    return entries


@contextlib.contextmanager
def _regnet_block_params_on_cpu() -> Iterator[None]:
    """RegNet builders derive their block widths with tensor arithmetic and ``.tolist()``, which
    meta tensors cannot do; evaluate that one (tiny, weight-free) computation on the CPU."""
    from torchvision.models import regnet

    original = regnet.BlockParams.__dict__["from_init_params"]

    def on_cpu(cls: type, *args: Any, **kwargs: Any) -> Any:
        with torch.device("cpu"):
            return original.__func__(cls, *args, **kwargs)

    regnet.BlockParams.from_init_params = classmethod(on_cpu)
    try:
        yield
    finally:
        regnet.BlockParams.from_init_params = original


def build_torchvision_model(name: str, image_size: int | None = None) -> nn.Module:
    """Build torchvision classification model ``name`` on the meta device, without weights, as
    its published weights configure it, in eval mode.

    Parameters
    ----------
    name : str
        A name from :func:`torchvision_models`.
    image_size : int, optional
        Input size; only the vision transformers (``vit_*``) depend on it (their position
        embedding). Default: the smallest size any of its published weights use.

    Notes
    -----
    As ``get_model(name, weights=...)`` does: GoogLeNet drops its auxiliary classifiers,
    Inception-v3 keeps its own (it is part of the published weights and of torchvision's
    parameter count; in eval mode neither runs).
    """
    from torchvision.models import get_model

    _check_torchvision_name(name)
    if image_size is None:
        image_size = min(e.image_size for e in torchvision_weights(name))
    image_size = _check_positive_int("image_size", image_size)
    kwargs: dict[str, Any] = {}
    if name.startswith("vit_"):
        kwargs["image_size"] = image_size
    if name in ("googlenet", "inception_v3"):
        kwargs["init_weights"] = False  # no scipy initialisation (and no warning) on meta
    if name == "googlenet":
        kwargs["aux_logits"] = False
    with _regnet_block_params_on_cpu(), torch.device("meta"):
        model = get_model(name, **kwargs)
    return model.eval()


@dataclass(frozen=True)
class ModelComplexity:
    """MACs and parameters of one model (one row of Fig. 2C).

    Attributes
    ----------
    name : str
        ``"resnet18"``, ``"CordsNet-R2"``, ...
    family : str
        ``"torchvision"`` or ``"cordsnet"``.
    image_size : int
        Input height = width (pixels).
    macs : int
        Multiply-accumulates for one image; for CordsNet, for one simulation of ``steps`` Euler
        steps on our fast path.
    params : int
        Parameters.
    weights : str or None
        torchvision weights whose input size and metadata the row uses.
    reference_macs : float or None
        torchvision's recorded count (``_ops`` × 10⁹) for those weights.
    reference_params : int or None
        torchvision's recorded ``num_params``.
    steps : int or None
        CordsNet: Euler steps simulated.
    published_macs : int or None
        CordsNet: MACs of the same simulation as the published code computes it.
    """

    name: str
    family: str
    image_size: int
    macs: int
    params: int
    weights: str | None = None
    reference_macs: float | None = None
    reference_params: int | None = None
    steps: int | None = None
    published_macs: int | None = None

    @property
    def relative_error(self) -> float | None:
        """``macs / reference_macs − 1`` (None without a reference)."""
        if not self.reference_macs:
            return None
        return self.macs / self.reference_macs - 1.0


def torchvision_complexity(
    names: Sequence[str] | None = None, all_weights: bool = False, progress: bool = False
) -> list[ModelComplexity]:
    """Count MACs and parameters of torchvision classification models on the meta device.

    Parameters
    ----------
    names : sequence of str, optional
        Models to count (default: all of :func:`torchvision_models`).
    all_weights : bool
        One row per published weights (each at its own input size, e.g. ViT-H/14 at 224 and
        518) instead of one row per model at the smallest input size its weights use.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of ModelComplexity
        With torchvision's recorded ``_ops`` and ``num_params`` as references.
    """
    from tqdm.auto import tqdm

    if names is None:
        names = torchvision_models()
    elif isinstance(names, str):
        raise TypeError("names must be a sequence of model names, not a single string")
    names = [_check_torchvision_name(n) for n in names]
    rows = []
    for name in tqdm(names, desc="counting torchvision models", disable=not progress):
        entries = torchvision_weights(name)
        if not all_weights:
            entries = [min(entries, key=lambda e: e.image_size)]  # first of the smallest
        for entry in entries:
            model = build_torchvision_model(name, entry.image_size)
            image = torch.empty(1, 3, entry.image_size, entry.image_size, device="meta")
            rows.append(
                ModelComplexity(
                    name=name,
                    family="torchvision",
                    image_size=entry.image_size,
                    macs=count_macs(model, image).total,
                    params=count_parameters(model),
                    weights=entry.name,
                    reference_macs=None if entry.ops is None else entry.ops * 1e9,
                    reference_params=entry.num_params,
                )
            )
    return rows


# ----------------------------------------------------------------------------- CordsNet


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class CordsNetLayer:
    """One weight layer of CordsNet and how often a simulation evaluates it.

    Attributes
    ----------
    name : str
        ``"stem"`` (7×7 input convolution), ``"input_skip"`` (3×3 convolution of the pooled
        stem output into area 2), ``"area{k}.recurrent"`` (3×3), ``"area{k}.feedforward"``
        (3×3 from the area below), ``"area{k}.skip"`` (1×1 stride 2), ``"area{k}.bias"``,
        ``"readout"`` (linear). Areas are numbered from 1.
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
    depth = _check_depth(depth)
    steps = _check_positive_int("steps", steps)
    image_size = _check_positive_int("image_size", image_size)
    in_channels = _check_positive_int("in_channels", in_channels)
    num_classes = _check_positive_int("num_classes", num_classes)
    stimuli = _check_positive_int("stimuli", stimuli)
    readouts = _check_positive_int("readouts", readouts)
    if stimuli > steps:
        raise ValueError(f"stimuli must be <= steps ({steps}), got {stimuli}")

    # Table S3: 7×7/2 stem convolution (no bias), then 3×3/2 average pool (padding 1)
    stem_size = _conv_out(image_size, 7, 2, 3)
    size = _conv_out(stem_size, 3, 2, 1)
    layers = [
        CordsNetLayer(
            "stem",
            macs=in_channels * 49 * _STEM_CHANNELS * stem_size**2,
            params=in_channels * 49 * _STEM_CHANNELS + _STEM_CHANNELS,  # v and g
            fast=stimuli,
            published=steps * depth,  # every area recomputes it every step
        )
    ]
    channels = CORDSNET_CHANNELS[:depth]
    sizes = []
    for k, c in enumerate(channels):
        c_in = _STEM_CHANNELS if k == 0 else channels[k - 1]
        stride = 2 if c != c_in else 1  # first area of each new stage halves the resolution
        if stride == 2:
            size = _conv_out(size, 3, 2, 1)
        sizes.append(size)
        pixels = size * size
        if k == 1:
            # input skip: 3×3 convolution of the pooled stem output, summed into area 2's input
            layers.append(
                CordsNetLayer(
                    "input_skip",
                    macs=_STEM_CHANNELS * 9 * _STEM_CHANNELS * sizes[0] ** 2,
                    params=_STEM_CHANNELS * 9 * _STEM_CHANNELS + _STEM_CHANNELS,
                    fast=stimuli,
                    published=steps,
                )
            )
        ff_macs, ff_params = c_in * 9 * c * pixels, c_in * 9 * c + c
        if k == 1:
            # area 2 reads relu(r_1) + InputSkip(stem): by linearity of its feedforward
            # convolution the fast path convolves the image part once per stimulus
            layers.append(CordsNetLayer("area2.feedforward_input", ff_macs, 0, stimuli, 0))
        # area 1 reads only the image (the stem output): the fast path convolves it once per
        # stimulus; every other area reads rates, every step
        layers.append(
            CordsNetLayer(
                f"area{k + 1}.feedforward", ff_macs, ff_params, stimuli if k == 0 else steps, steps
            )
        )
        if k >= 2 and stride == 2:
            # 1×1 stride-2 convolution from the second area of the previous stage
            c_skip = channels[k - 2]
            layers.append(
                CordsNetLayer(
                    f"area{k + 1}.skip",
                    c_skip * c * pixels,
                    c_skip * c + c,
                    steps,
                    steps,
                )
            )
        layers.append(
            CordsNetLayer(f"area{k + 1}.recurrent", c * 9 * c * pixels, c * 9 * c + c, steps, steps)
        )
        layers.append(CordsNetLayer(f"area{k + 1}.bias", 0, c * pixels, steps, steps))  # per unit
    # readout: average pool of relu of the last two areas, then a weight-normalised linear layer
    layers.append(
        CordsNetLayer(
            "readout",
            channels[-1] * num_classes,
            channels[-1] * num_classes + num_classes + num_classes,  # v, bias, g
            readouts,
            readouts,
        )
    )
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


# ----------------------------------------------------------------------------- tables


def complexity_table(
    steps: int = PAPER_STEPS,
    image_size: int = 224,
    names: Sequence[str] | None = None,
    all_weights: bool = False,
    progress: bool = False,
) -> list[ModelComplexity]:
    """Every row of Fig. 2C: the torchvision models (:func:`torchvision_complexity`, at their
    own input sizes) followed by CordsNet-R2…R8 over ``steps`` steps at ``image_size``."""
    steps = _check_positive_int("steps", steps)
    image_size = _check_positive_int("image_size", image_size)
    rows = torchvision_complexity(names, all_weights=all_weights, progress=progress)
    rows += [cordsnet_complexity(d, steps, image_size) for d in (2, 4, 6, 8)]
    return rows


def _fmt_g(value: float | None) -> str:
    return "" if value is None else f"{value / 1e9:.3f}"


def format_table(rows: Sequence[ModelComplexity]) -> str:
    """Plain-text table: MACs (G), parameters (M), torchvision's recorded values and the
    relative difference; for CordsNet the fast-path and published MACs."""
    header = (
        f"{'model':<20} {'weights':<26} {'size':>4} {'GMACs':>10} {'params (M)':>10} "
        f"{'_ops':>9} {'rel.diff':>9} {'published GMACs':>15}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        err = r.relative_error
        lines.append(
            f"{r.name:<20} {(r.weights or (f'{r.steps} steps' if r.steps else '')):<26} "
            f"{r.image_size:>4} {r.macs / 1e9:>10.3f} {r.params / 1e6:>10.3f} "
            f"{_fmt_g(r.reference_macs):>9} {'' if err is None else f'{err:+.2%}':>9} "
            f"{_fmt_g(r.published_macs):>15}"
        )
    return "\n".join(lines)


def write_csv(rows: Sequence[ModelComplexity], path: str | os.PathLike) -> Path:
    """Write the rows as CSV atomically (a temporary file in the same directory, then renamed).
    Columns: the :class:`ModelComplexity` fields and ``relative_error``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path must be a file path, got the directory {str(path)!r}")
    if not path.parent.exists():
        raise FileNotFoundError(f"directory {str(path.parent)!r} of path does not exist")
    columns = [f.name for f in fields(ModelComplexity)] + ["relative_error"]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({**asdict(r), "relative_error": r.relative_error})
    return path


@dataclass(frozen=True)
class Fig2CSummary:
    """The numbers behind Fig. 2C's statements (Section 3), from a table of rows.

    Attributes
    ----------
    n_models, n_rows : int
        torchvision models and rows (weights) with a recorded ``_ops`` in the table.
    max_relative_error : float
        Largest ``|macs / reference_macs − 1|`` over those rows; ``worst`` names the row.
    params_equal : int
        Rows whose parameter count equals torchvision's recorded ``num_params``.
    tolerance : float
        The agreement asked for; ``agrees`` is ``max_relative_error <= tolerance``.
    resnet18_params, cordsnet_r8_params : int
        "CordsNet-R8 has approximately the same number of parameters as ResNet-18".
    vit_h_14_macs : int
        ViT-H/14 at 224² (its ``IMAGENET1K_SWAG_LINEAR_V1`` weights' input size).
    r2_fast_macs, r2_published_macs : int
        CordsNet-R2 over ``steps`` steps at ``image_size``² on our fast path and as the
        published code computes it. The paper's claim ("CordsNet-R2 requires more MACs to
        simulate than ViT-H-14") is ``r2_published_macs > vit_h_14_macs``.
    """

    n_models: int
    n_rows: int
    max_relative_error: float
    worst: str
    params_equal: int
    tolerance: float
    resnet18_params: int
    cordsnet_r8_params: int
    vit_h_14_macs: int
    r2_fast_macs: int
    r2_published_macs: int
    steps: int
    image_size: int

    @property
    def agrees(self) -> bool:
        return self.max_relative_error <= self.tolerance

    @property
    def claim_holds(self) -> bool:
        """CordsNet-R2 (published computation) needs more MACs than ViT-H/14 at 224²."""
        return self.r2_published_macs > self.vit_h_14_macs

    def __str__(self) -> str:
        g = 1e9
        lines = [
            f"torchvision: {self.n_models} models ({self.n_rows} weights) with recorded _ops; "
            f"max |relative difference| {self.max_relative_error:.3%} ({self.worst}); "
            f"{'within' if self.agrees else 'NOT within'} {self.tolerance:.0%}; "
            f"parameter counts equal to torchvision's num_params: {self.params_equal}/{self.n_rows}",
            f"parameters: CordsNet-R8 {self.cordsnet_r8_params / 1e6:.2f} M vs ResNet-18 "
            f"{self.resnet18_params / 1e6:.2f} M (ratio {self.cordsnet_r8_params / self.resnet18_params:.3f})",
            f"Fig. 2C claim, CordsNet-R2 ({self.steps} steps at {self.image_size}x{self.image_size}) "
            f"vs ViT-H/14 at 224x224 ({self.vit_h_14_macs / g:.1f} GMACs): published computation "
            f"{self.r2_published_macs / g:.1f} GMACs -> "
            f"{'holds' if self.claim_holds else 'does NOT hold'}; our fast path "
            f"{self.r2_fast_macs / g:.1f} GMACs "
            f"({'more' if self.r2_fast_macs > self.vit_h_14_macs else 'fewer'} than ViT-H/14)",
        ]
        return "\n".join(lines)


def summarize(rows: Sequence[ModelComplexity], tolerance: float = 0.02) -> Fig2CSummary:
    """Summarise a :func:`complexity_table`: agreement with torchvision's ``_ops``, CordsNet-R8
    vs ResNet-18 parameters, CordsNet-R2 vs ViT-H/14 MACs. ResNet-18, ViT-H/14 (224²) and
    CordsNet-R2/R8 missing from ``rows`` are counted here (at 224² and 300 steps for CordsNet)."""
    if not (isinstance(tolerance, int | float) and tolerance >= 0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    checked = [r for r in rows if r.relative_error is not None]
    if checked:
        worst = max(checked, key=lambda r: abs(r.relative_error))
        max_err, worst_name = abs(worst.relative_error), f"{worst.name} {worst.weights}"
    else:
        max_err, worst_name = 0.0, "none"

    def find(name: str, size: int | None = None) -> ModelComplexity | None:
        return next(
            (r for r in rows if r.name == name and (size is None or r.image_size == size)), None
        )

    resnet = find("resnet18") or torchvision_complexity(["resnet18"])[0]
    vit = find("vit_h_14", 224)
    if vit is None:
        vit = ModelComplexity(
            "vit_h_14", "torchvision", 224,
            count_macs(build_torchvision_model("vit_h_14", 224), torch.empty(1, 3, 224, 224)).total,
            0,
        )  # fmt: skip
    r2, r8 = find("CordsNet-R2"), find("CordsNet-R8")
    r2 = r2 or cordsnet_complexity(2)
    r8 = r8 or cordsnet_complexity(8, image_size=r2.image_size)
    return Fig2CSummary(
        n_models=len({r.name for r in checked}),
        n_rows=len(checked),
        max_relative_error=max_err,
        worst=worst_name,
        params_equal=sum(r.params == r.reference_params for r in checked),
        tolerance=float(tolerance),
        resnet18_params=resnet.params,
        cordsnet_r8_params=r8.params,
        vit_h_14_macs=vit.macs,
        r2_fast_macs=r2.macs,
        r2_published_macs=r2.published_macs,
        steps=r2.steps,
        image_size=r2.image_size,
    )
