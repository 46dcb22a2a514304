"""Tuning of single units (paper Fig. 5, right): which neurons of a trained network encode
stimulus quantity, category, spatial position or motion direction.

:func:`unit_tuning` averages each unit's rate over a window of every trial, groups trials by a
condition (number of dots, morph level, cue position, signed coherence…) and returns the
tuning curves and two selectivity indices per unit:

* ``selectivity`` — the fraction of the unit's across-trial variance explained by the
  condition (η² of a one-way ANOVA, in [0, 1]; 0: the unit ignores the condition);
* ``f_statistic`` and ``p_value`` of that ANOVA (``scipy.stats.f_oneway``), the test used to
  call a neuron "selective" in the numerosity and delayed-response studies.

For two groups (cat / dog, left / right) ``category_index`` gives the signed normalised
difference ``(μ_b − μ_a) / (σ_pooled)`` (d′). The most selective units are
``tuning.top(k)``; :func:`cordsneuro.plotting.plot_tuning` draws their curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Tuning", "unit_tuning", "trial_responses", "category_index"]


@dataclass
class Tuning:
    """Tuning curves and selectivity of ``N`` units over ``k`` condition levels.

    Attributes
    ----------
    levels : ndarray
        ``(k,)`` the condition's values, sorted.
    curves : ndarray
        ``(k, N)`` mean response per level.
    sem : ndarray
        ``(k, N)`` standard error of the mean per level.
    counts : ndarray
        ``(k,)`` trials per level.
    selectivity : ndarray
        ``(N,)`` η²: between-level variance / total variance.
    f_statistic, p_value : ndarray
        ``(N,)`` one-way ANOVA across levels (NaN for units that never vary).
    preferred : ndarray
        ``(N,)`` the level of each unit's largest mean response.
    name : str
        What the levels are (``"sample"``, ``"level"``...).
    """

    levels: np.ndarray
    curves: np.ndarray
    sem: np.ndarray
    counts: np.ndarray
    selectivity: np.ndarray
    f_statistic: np.ndarray
    p_value: np.ndarray
    preferred: np.ndarray
    name: str = ""

    def top(self, k: int = 4) -> np.ndarray:
        """Indices of the ``k`` most selective units (largest η²)."""
        order = np.argsort(-np.nan_to_num(self.selectivity, nan=-1.0), kind="stable")
        return order[: int(k)]

    def fraction_selective(self, alpha: float = 0.01) -> float:
        """Fraction of units whose ANOVA p-value is below ``alpha``."""
        return float(np.mean(np.nan_to_num(self.p_value, nan=1.0) < alpha))


def trial_responses(rates, window) -> np.ndarray:
    """Each unit's mean rate over a window of every trial.

    Parameters
    ----------
    rates : Tensor or ndarray
        ``(n_trials, time, N)`` (e.g. ``Trajectory.rates`` of a single-area RNN or the RNN
        rates of a :class:`~cordsneuro.models.MultiAreaModel`).
    window : slice, ndarray
        A slice of steps, or a bool mask ``(n_trials, time)`` (e.g. one epoch of each trial,
        from a batch's ``<epoch>_start`` / ``<epoch>_end``).

    Returns
    -------
    ndarray
        ``(n_trials, N)`` float64.
    """
    r = rates.detach().float().cpu().numpy() if hasattr(rates, "detach") else np.asarray(rates)
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 3:
        raise ValueError(f"rates must be (trials, time, neurons), got shape {r.shape}")
    if isinstance(window, slice):
        out = r[:, window].mean(axis=1)
        if r[:, window].shape[1] == 0:
            raise ValueError(f"window {window} selects no step of {r.shape[1]}")
        return out
    mask = np.asarray(window, dtype=bool)
    if mask.shape != r.shape[:2]:
        raise ValueError(f"window mask must have shape {r.shape[:2]}, got {mask.shape}")
    counts = mask.sum(1)
    if (counts == 0).any():
        raise ValueError("window mask selects no step for some trials")
    return np.einsum("nt,ntk->nk", mask.astype(np.float64), r) / counts[:, None]


def unit_tuning(responses: np.ndarray, labels: Sequence, name: str = "") -> Tuning:
    """Tuning curves and selectivity from per-trial responses.

    Parameters
    ----------
    responses : ndarray
        ``(n_trials, N)`` (see :func:`trial_responses`).
    labels : sequence
        ``(n_trials,)`` the condition of each trial; at least two levels, each with two trials.
    name : str
        Label of the condition.
    """
    from scipy import stats

    x = np.asarray(responses, dtype=np.float64)
    labels = np.asarray(labels)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(
            f"responses must be (trials, N) and labels (trials,); got {x.shape} and {labels.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("responses must be finite")
    levels = np.unique(labels)
    groups = [x[labels == v] for v in levels]
    counts = np.array([len(g) for g in groups])
    if len(levels) < 2 or counts.min() < 2:
        raise ValueError(
            f"need at least 2 levels with 2 trials each; got levels {levels.tolist()} with "
            f"counts {counts.tolist()}"
        )
    curves = np.stack([g.mean(0) for g in groups])
    sem = np.stack([g.std(0, ddof=1) / np.sqrt(len(g)) for g in groups])
    grand = x.mean(0)
    between = (counts[:, None] * (curves - grand) ** 2).sum(0)
    total = ((x - grand) ** 2).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        eta2 = np.where(total > 0, between / total, 0.0)
        f, p = stats.f_oneway(*groups, axis=0)
    return Tuning(
        levels=levels,
        curves=curves,
        sem=sem,
        counts=counts,
        selectivity=eta2,
        f_statistic=np.asarray(f, dtype=np.float64),
        p_value=np.asarray(p, dtype=np.float64),
        preferred=levels[curves.argmax(0)],
        name=name,
    )


def category_index(responses: np.ndarray, category: Sequence[int]) -> np.ndarray:
    """d′ of each unit between two categories (class 1 minus class 0, over the pooled
    standard deviation): ``(n_trials, N)``, ``(n_trials,)`` in {0, 1} → ``(N,)``."""
    x = np.asarray(responses, dtype=np.float64)
    c = np.asarray(category)
    if x.ndim != 2 or c.shape != (x.shape[0],) or not np.isin(c, (0, 1)).all():
        raise ValueError("responses must be (trials, N) and category (trials,) in {0, 1}")
    a, b = x[c == 0], x[c == 1]
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each category needs at least 2 trials")
    pooled = np.sqrt((a.var(0, ddof=1) + b.var(0, ddof=1)) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pooled > 0, (b.mean(0) - a.mean(0)) / pooled, 0.0)
