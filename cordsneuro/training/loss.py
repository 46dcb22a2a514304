"""The training loss: per-step weighted cross-entropy or squared error (eq. of the weighted
mean below), and the regularisers PsychRNN users expect (L1 / L2 on weights, L2 on rates)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["weighted_loss", "weight_penalty", "rate_penalty"]


def weighted_loss(outputs: Tensor, targets: Tensor, weights: Tensor, answer: str) -> Tensor:
    """``Σ_{b,t} w_bt ℓ_bt / Σ_{b,t} w_bt``: the per-step loss ℓ averaged with weights.

    Parameters
    ----------
    outputs : Tensor
        ``(batch, time, n_out)``.
    targets : Tensor
        ``(batch, time)`` class indices (``answer="categorical"``, ℓ = cross-entropy) or
        ``(batch, time, n_out)`` (``"continuous"``, ℓ = squared error averaged over outputs).
    weights : Tensor
        ``(batch, time)`` float, >= 0 (:meth:`cordsneuro.tasks.Task.loss_weights`); with 0/1
        weights this is the mean loss over the weighted steps.
    """
    if answer == "categorical":
        per_step = F.cross_entropy(outputs.flatten(0, 1), targets.flatten(), reduction="none")
        per_step = per_step.view(targets.shape)
    elif answer == "continuous":
        per_step = ((outputs - targets) ** 2).mean(-1)
    else:
        raise ValueError(f"answer must be 'categorical' or 'continuous' (got {answer!r})")
    weights = weights.to(per_step.dtype)
    return (per_step * weights).sum() / weights.sum().clamp_min(torch.finfo(per_step.dtype).tiny)


def weight_penalty(parameters: Iterable[tuple[str, Tensor]], l1: float, l2: float) -> Tensor:
    """``l1 · Σ mean|W| + l2 · Σ mean W²`` over the weight matrices and kernels (parameters with
    two or more dimensions; biases and time constants are left alone), as PsychRNN's
    ``L1_in/L1_rec/L1_out`` and ``L2_*`` (one coefficient for all weights here)."""
    total = torch.zeros(())
    for _, p in parameters:
        if p.dim() >= 2 and p.requires_grad:
            total = total.to(p.device) + l1 * p.abs().mean() + l2 * (p**2).mean()
    return total


def rate_penalty(rates: Tensor | tuple[Tensor, ...], l2: float) -> Tensor:
    """``l2 · mean r²`` over trials, steps and neurons (PsychRNN's ``L2_firing_rate``); for a
    state made of several areas, the sum over areas."""
    areas = rates if isinstance(rates, tuple) else (rates,)
    return sum(l2 * (r**2).mean() for r in areas)
