"""The generic MAC / parameter counter on the meta device (see :mod:`cordsneuro.analyses.complexity`
for what counts as a MAC)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["MacCount", "ModelComplexity", "count_macs", "count_parameters"]


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


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
