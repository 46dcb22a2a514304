"""Dimensionality of neural activity (Appendix B.2 eq. 3, Fig. S1B, Fig. 4C).

Recorded activity of a CordsNet area has up to ~10⁶ neurons (C·H·W) and thousands of time
points, so nothing here forms the neuron × neuron covariance:

- :func:`participation_ratio` and :func:`cumulative_variance_explained` use the samples × samples
  Gram matrix (the non-zero eigenvalues of ``XᵀX`` and ``XXᵀ`` coincide).
- :class:`PCA` is a scikit-learn-style estimator. ``fit`` uses the Gram trick, accumulating the
  Gram matrix over blocks of neurons in float64 and computing components in a second pass
  over the same blocks (exact; memory ``samples²`` + one block). ``partial_fit`` streams batches
  of samples (trials simulated one at a time) with an incremental SVD that keeps
  ``n_components`` directions (exact while the data's rank fits, otherwise the standard
  incremental-PCA approximation). ``transform`` projects new trajectories.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["participation_ratio", "cumulative_variance_explained", "PCA"]


def _as_samples(activity: Tensor | np.ndarray, name: str = "activity") -> Tensor:
    if isinstance(activity, np.ndarray):
        activity = torch.from_numpy(activity)
    if not isinstance(activity, Tensor):
        raise TypeError(f"{name} must be a Tensor or ndarray, got {type(activity).__name__}")
    if activity.ndim < 2:
        raise ValueError(
            f"{name} must be (samples, neurons) or (trials, time, *state), got {tuple(activity.shape)}"
        )
    if activity.ndim > 2:
        activity = activity.reshape(activity.shape[0] * activity.shape[1], -1)
    return activity


def _gram_spectrum(activity: Tensor) -> Tensor:
    """Eigenvalues (decreasing, float64, ≥ 0) of the centred sample scatter ``XᵀX``."""
    x = activity.double() - activity.double().mean(dim=0, keepdim=True)
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0)


def participation_ratio(activity: Tensor) -> float:
    """Participation ratio ``PR = (Σ λ_i)² / Σ λ_i²`` of the activity covariance (Appendix B.2,
    eq. 3), computed from the Gram matrix of the centred samples so that the neuron × neuron
    covariance is never formed.

    Parameters
    ----------
    activity : Tensor
        ``(samples, neurons)``: time points (and trials) by neurons.
    """
    if activity.ndim != 2 or activity.shape[0] < 2:
        raise ValueError(
            f"activity must have shape (samples >= 2, neurons), got {tuple(activity.shape)}"
        )
    x = activity.double() - activity.double().mean(dim=0, keepdim=True)
    # tr(C) = ‖X‖²_F and tr(C²) = ‖X Xᵀ‖²_F (up to the same 1/(n-1) factor, which cancels)
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    trace = torch.trace(gram)
    trace_sq = (gram * gram).sum()
    if trace_sq == 0:
        return 0.0
    return float(trace**2 / trace_sq)


def cumulative_variance_explained(activity: Tensor) -> Tensor:
    """Fraction of variance explained by the first 1, 2, … principal components (Fig. S1B,
    middle).

    Parameters
    ----------
    activity : Tensor
        ``(samples, neurons)`` or ``(trials, time, *state)``.

    Returns
    -------
    Tensor
        ``(min(samples, neurons),)`` float64, non-decreasing, ending at 1 (all zeros for
        constant activity).
    """
    x = _as_samples(activity)
    if x.shape[0] < 2:
        raise ValueError(f"activity needs at least 2 samples, got {x.shape[0]}")
    eig = _gram_spectrum(x)
    total = eig.sum()
    if total <= 0:
        return torch.zeros_like(eig)
    return torch.cumsum(eig, 0) / total


class PCA:
    """Principal component analysis of large recordings (Fig. 4C) in the scikit-learn style.

    Parameters
    ----------
    n_components : int
        Number of components kept.
    block_size : int
        Neurons per block in :meth:`fit` (bounds the float64 working memory to
        ``samples × block_size``).

    Attributes (after fitting)
    --------------------------
    mean_ : Tensor
        ``(neurons,)`` float64 mean of the samples.
    components_ : Tensor
        ``(n_components, neurons)`` float64 orthonormal principal axes.
    explained_variance_ : Tensor
        ``(n_components,)`` variances along them (``1 / (samples − 1)`` normalisation).
    explained_variance_ratio_ : Tensor
        The same over the total variance.
    participation_ratio_ : float
        Eq. 3 of the full spectrum (:meth:`fit`) or of the kept components
        (:meth:`partial_fit`, a lower bound on the dimensionality it reports).
    n_samples_seen_ : int
    """

    def __init__(self, n_components: int = 10, *, block_size: int = 65536) -> None:
        if not isinstance(n_components, int) or isinstance(n_components, bool) or n_components < 1:
            raise ValueError(f"n_components must be a positive int (got {n_components!r})")
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be a positive int (got {block_size!r})")
        self.n_components = n_components
        self.block_size = block_size
        self._reset()

    def _reset(self) -> None:
        self.mean_: Tensor | None = None
        self.components_: Tensor | None = None
        self.singular_values_: Tensor | None = None
        self.explained_variance_: Tensor | None = None
        self.explained_variance_ratio_: Tensor | None = None
        self.participation_ratio_: float | None = None
        self.n_samples_seen_ = 0
        self._total_ss = 0.0

    # -- exact fit -------------------------------------------------------------------------

    def fit(self, activity: Tensor | np.ndarray) -> PCA:
        """Exact PCA by the Gram trick.

        Parameters
        ----------
        activity : Tensor
            ``(samples, neurons)`` or ``(trials, time, *state)`` (e.g. ``Trajectory.rates``
            flattened per area). ``n_components`` must not exceed ``min(samples, neurons)``.
        """
        x = _as_samples(activity)
        n_samples, n_neurons = x.shape
        if n_samples < 2:
            raise ValueError(f"activity needs at least 2 samples, got {n_samples}")
        k = self.n_components
        if k > min(n_samples, n_neurons):
            raise ValueError(
                f"n_components={k} exceeds min(samples, neurons) = {min(n_samples, n_neurons)}"
            )
        self._reset()
        mean = x.double().mean(dim=0)
        blocks = range(0, n_neurons, self.block_size)
        gram = torch.zeros(n_samples, n_samples, dtype=torch.float64, device=x.device)
        for start in blocks:
            xb = (
                x[:, start : start + self.block_size].double()
                - mean[start : start + self.block_size]
            )
            gram += xb @ xb.T
        eig, u = torch.linalg.eigh(gram)
        eig, u = eig.flip(0).clamp_min(0), u.flip(1)
        s = eig[:k].sqrt()
        u_k = u[:, :k] / s.clamp_min(torch.finfo(torch.float64).tiny)
        components = torch.empty(k, n_neurons, dtype=torch.float64, device=x.device)
        for start in blocks:
            xb = (
                x[:, start : start + self.block_size].double()
                - mean[start : start + self.block_size]
            )
            components[:, start : start + self.block_size] = u_k.T @ xb
        total = eig.sum()
        self.mean_, self.components_, self.singular_values_ = mean, components, s
        self.explained_variance_ = eig[:k] / (n_samples - 1)
        self.explained_variance_ratio_ = (
            eig[:k] / total if total > 0 else torch.zeros(k, dtype=torch.float64)
        )
        self.participation_ratio_ = float(total**2 / (eig**2).sum()) if total > 0 else 0.0
        self.n_samples_seen_ = n_samples
        self._total_ss = float(total)
        return self

    # -- streaming fit ---------------------------------------------------------------------

    def partial_fit(self, batch: Tensor | np.ndarray) -> PCA:
        """Update the fit with a batch of samples (incremental SVD, Ross et al. 2008).

        ``batch`` is ``(samples, neurons)`` or ``(trials, time, *state)``; memory is
        ``(n_components + samples) × neurons``.
        """
        x = _as_samples(batch, "batch").double()
        m, n_neurons = x.shape
        if self.mean_ is not None and n_neurons != self.mean_.shape[0]:
            raise ValueError(f"batch has {n_neurons} neurons, the fit has {self.mean_.shape[0]}")
        n_old = self.n_samples_seen_
        n_new = n_old + m
        batch_mean = x.mean(dim=0)
        xc = x - batch_mean
        if n_old == 0:
            stacked = xc
            mean = batch_mean
            self._total_ss = float((xc * xc).sum())
        else:
            mean = self.mean_ + (batch_mean - self.mean_) * (m / n_new)
            correction = ((n_old * m / n_new) ** 0.5) * (self.mean_ - batch_mean)
            stacked = torch.cat(
                [self.singular_values_[:, None] * self.components_, xc, correction[None]], dim=0
            )
            self._total_ss += float((xc * xc).sum()) + float((correction * correction).sum())
        # thin SVD through the small Gram matrix of the stacked rows
        gram = stacked @ stacked.T
        eig, u = torch.linalg.eigh(gram)
        eig, u = eig.flip(0).clamp_min(0), u.flip(1)
        k = min(self.n_components, stacked.shape[0], n_neurons)
        s = eig[:k].sqrt()
        self.components_ = (u[:, :k] / s.clamp_min(torch.finfo(torch.float64).tiny)).T @ stacked
        self.singular_values_ = s
        self.mean_ = mean
        self.n_samples_seen_ = n_new
        denom = max(n_new - 1, 1)
        self.explained_variance_ = eig[:k] / denom
        self.explained_variance_ratio_ = (
            eig[:k] / self._total_ss if self._total_ss > 0 else eig[:k] * 0
        )
        kept = eig[:k]
        self.participation_ratio_ = (
            float(kept.sum() ** 2 / (kept**2).sum()) if kept.sum() > 0 else 0.0
        )
        return self

    # -- projection ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self.components_ is None:
            raise RuntimeError("PCA is not fitted: call fit or partial_fit first")

    def transform(self, activity: Tensor | np.ndarray) -> Tensor:
        """Project activity onto the components.

        ``(samples, neurons)`` → ``(samples, n_components)``; ``(trials, time, *state)`` →
        ``(trials, time, n_components)`` (float64).
        """
        self._check_fitted()
        if isinstance(activity, np.ndarray):
            activity = torch.from_numpy(activity)
        lead = activity.shape[:2] if activity.ndim > 2 else activity.shape[:1]
        x = _as_samples(activity)
        if x.shape[1] != self.mean_.shape[0]:
            raise ValueError(
                f"activity has {x.shape[1]} neurons, the fit has {self.mean_.shape[0]}"
            )
        out = torch.zeros(
            x.shape[0], self.components_.shape[0], dtype=torch.float64, device=x.device
        )
        for start in range(0, x.shape[1], self.block_size):
            stop = start + self.block_size
            out += (x[:, start:stop].double() - self.mean_[start:stop]) @ self.components_[
                :, start:stop
            ].T
        return out.reshape(*lead, -1)

    def fit_transform(self, activity: Tensor | np.ndarray) -> Tensor:
        return self.fit(activity).transform(activity)

    def inverse_transform(self, projected: Tensor) -> Tensor:
        """Map component scores ``(..., n_components)`` back to neurons ``(..., neurons)``."""
        self._check_fitted()
        return projected.double() @ self.components_ + self.mean_
