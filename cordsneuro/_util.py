"""Small helpers shared across the package (each written once): JSON conversion, the
convolution output-size formula, seeded generators, ``(height, width)`` pairs, task ids,
flushing subnormal floats.

Imports nothing from the package; torch only inside the functions that need it."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = [
    "conv_output_size",
    "flush_denormal",
    "flushing_denormals",
    "jsonable",
    "make_generator",
    "pair",
    "task_key",
]


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
) -> int:
    """Length of a convolution's (or pooling's) output along one axis.

    ``(size + pad_before + pad_after − dilation · (kernel − 1) − 1) // stride + 1``, with
    ``padding`` one int (both sides) or ``(before, after)``."""
    before, after = (padding, padding) if isinstance(padding, numbers.Integral) else padding
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def pair(
    value: int | Sequence[int], name: str = "image_size", minimum: int | None = None
) -> tuple[int, int]:
    """``(height, width)`` from one int or a sequence of two ints (NumPy integers accepted);
    with ``minimum``, both must be at least that."""

    def is_int(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(value):
        out = (int(value), int(value))
    elif (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(is_int(v) for v in value)
    ):
        out = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be an int or (height, width) (got {value!r})")
    if minimum is not None and min(out) < minimum:
        raise ValueError(f"{name} must be >= {minimum} (got {value!r})")
    return out


def make_generator(seed: int | None, device: Any = None) -> torch.Generator:
    """A ``torch.Generator`` (on ``device``, default CPU) seeded with ``seed``, or from fresh
    entropy when ``None``."""
    import torch

    generator = torch.Generator() if device is None else torch.Generator(device=device)
    return generator.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))


def task_key(name: str) -> str:
    """The short, lower-case key of a task id: ``"cordsneuro/PDM-v0"`` → ``"pdm"``."""
    return name.removeprefix("cordsneuro/").removesuffix("-v0").lower()


def jsonable(value: Any, *, strict: bool = True) -> Any:
    """``value`` as JSON-ready Python: tensors and NumPy arrays become lists, NumPy scalars
    numbers, tuples lists, paths strings, dict keys strings. ``strict``: raise ``TypeError`` on
    anything else (else return it unchanged)."""
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # torch.Tensor
        return value.detach().cpu().tolist()
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # NumPy arrays and scalars
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [jsonable(v, strict=strict) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, strict=strict) for k, v in value.items()}
    if isinstance(value, PurePath):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if strict:
        raise TypeError(f"a value of type {type(value).__name__} cannot be saved as JSON")
    return value


def flushing_denormals() -> bool:
    """Whether this thread flushes subnormal floats to zero (torch has no getter: a product
    that underflows to a subnormal comes out as 0 exactly when flushing is on)."""
    import torch

    return float(torch.tensor([1e-30]) * 1e-10) == 0.0


@contextmanager
def flush_denormal() -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU inside the block, then restore the mode.

    Rates that decay towards 0 for hundreds of steps (long blanks and delays) reach subnormal
    magnitudes (< 1.2e-38 in fp32), on which CPU arithmetic runs 7–11× slower; flushing them
    changes no result by more than 1.2e-38. Only the calling thread is affected (as with
    :func:`torch.set_flush_denormal`)."""
    import torch

    before = flushing_denormals()
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(before)
