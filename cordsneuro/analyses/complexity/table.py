"""Tables of :class:`~cordsneuro.analyses.complexity.counter.ModelComplexity` rows: every
row of Fig. 2C, plain text, CSV, and the agreement of our counts with torchvision's."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cordsneuro._atomic import atomic_path
from cordsneuro.analyses.complexity.cordsnet_count import PAPER_STEPS, cordsnet_complexity
from cordsneuro.analyses.complexity.counter import ModelComplexity, _check_positive_int
from cordsneuro.analyses.complexity.torchvision_models import torchvision_complexity

__all__ = ["Agreement", "agreement", "complexity_table", "format_table", "write_csv"]


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
class Agreement:
    """How our counts of torchvision models agree with torchvision's recorded ones.

    Attributes
    ----------
    n_models, n_rows : int
        torchvision models and rows (weights) with a recorded ``_ops``.
    max_relative_error : float
        Largest ``|macs / reference_macs − 1|`` over those rows; ``worst`` names the row.
    params_equal : int
        Rows whose parameter count equals torchvision's recorded ``num_params``.
    tolerance : float
        The agreement asked for; ``agrees`` is ``max_relative_error <= tolerance``.
    """

    n_models: int
    n_rows: int
    max_relative_error: float
    worst: str
    params_equal: int
    tolerance: float

    @property
    def agrees(self) -> bool:
        return self.max_relative_error <= self.tolerance

    def __str__(self) -> str:
        return (
            f"torchvision: {self.n_models} models ({self.n_rows} weights) with recorded _ops; "
            f"max |relative difference| {self.max_relative_error:.3%} ({self.worst}); "
            f"{'within' if self.agrees else 'NOT within'} {self.tolerance:.0%}; "
            f"parameter counts equal to torchvision's num_params: {self.params_equal}/{self.n_rows}"
        )


def agreement(rows: Sequence[ModelComplexity], tolerance: float = 0.02) -> Agreement:
    """Compare the rows that carry torchvision's recorded counts with our counts."""
    if not (isinstance(tolerance, int | float) and tolerance >= 0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    checked = [r for r in rows if r.relative_error is not None]
    if checked:
        worst = max(checked, key=lambda r: abs(r.relative_error))
        max_err, worst_name = abs(worst.relative_error), f"{worst.name} {worst.weights}"
    else:
        max_err, worst_name = 0.0, "none"
    return Agreement(
        n_models=len({r.name for r in checked}),
        n_rows=len(checked),
        max_relative_error=max_err,
        worst=worst_name,
        params_equal=sum(r.params == r.reference_params for r in checked),
        tolerance=float(tolerance),
    )
