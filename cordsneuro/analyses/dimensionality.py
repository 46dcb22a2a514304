"""Dimensionality of neural activity (Appendix B.2 eq. 3, Fig. 4C)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["participation_ratio"]


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
