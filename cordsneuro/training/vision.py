"""Vision training of CordsNet: the losses of the paper (eq. 4, eq. 8) and the eq. 4 training
simulation.

Eq. 4 (Section 3)::

    loss = logspace(−3, 0, 30) · CE(output[170:200], labels)
           + 1e-3 · MSE(activity[290:300], spontaneous)

with steps counted from the start of the spontaneous phase (0–100 no input, 100–200 image,
200–300 no input). As in the authors' training code, the cross-entropy is averaged over the
batch at each of the 30 steps, weighted and then averaged over the steps; the spontaneous
term is the per-area mean squared deviation from the spontaneous state, averaged over areas
and over the 10 steps; the spontaneous state itself carries no gradient.

Eq. 8 (the linear model of step 2)::

    loss_reduced = logspace(−3, 0, 30) · CE(output[70:100], labels)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["cordsnet_loss", "linear_loss", "ce_ramp", "cordsnet_training_loss"]

#: eq. 4: CE on steps 170–200, spontaneous penalty on steps 290–300, coefficient 1e-3.
CE_STEPS = (170, 200)
SPONTANEOUS_STEPS = (290, 300)
SPONTANEOUS_WEIGHT = 1e-3


def ce_ramp(n: int = 30, device=None, dtype=torch.float32) -> Tensor:
    """``logspace(−3, 0, n)``: the weights of the cross-entropy at the last ``n`` steps."""
    return torch.logspace(-3, 0, n, device=device, dtype=dtype)


def _weighted_ce(outputs: Tensor, labels: Tensor, weights: Tensor | None) -> Tensor:
    if outputs.ndim != 3:
        raise ValueError(f"outputs must be (batch, steps, classes), got {tuple(outputs.shape)}")
    b, n, k = outputs.shape
    if labels.shape[0] != b:
        raise ValueError(f"labels have batch {labels.shape[0]}, outputs {b}")
    weights = ce_ramp(n, outputs.device, outputs.dtype) if weights is None else weights
    if weights.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), got {tuple(weights.shape)}")
    per_step = torch.stack([F.cross_entropy(outputs[:, t], labels) for t in range(n)])
    return (per_step * weights).mean()


def linear_loss(outputs: Tensor, labels: Tensor, weights: Tensor | None = None) -> Tensor:
    """Eq. 8: log-weighted cross-entropy over the logits of the last 30 steps.

    Parameters
    ----------
    outputs : Tensor
        ``(batch, 30, classes)`` logits at steps 70–100 (or any window; ``weights`` defaults
        to ``logspace(−3, 0, window)``).
    labels : Tensor
        ``(batch,)`` class indices or ``(batch, classes)`` probabilities (CutMix / MixUp).
    """
    return _weighted_ce(outputs, labels, weights)


def cordsnet_loss(
    outputs: Tensor,
    labels: Tensor,
    activity: Sequence[Tensor],
    spontaneous: Sequence[Tensor],
    *,
    weights: Tensor | None = None,
    spontaneous_weight: float = SPONTANEOUS_WEIGHT,
) -> Tensor:
    """Eq. 4.

    Parameters
    ----------
    outputs : Tensor
        ``(batch, 30, classes)`` logits at steps 170–200.
    labels : Tensor
        ``(batch,)`` class indices or ``(batch, classes)`` probabilities.
    activity : sequence of Tensor
        Per area ``(batch, 10, C, H, W)``: the rates at steps 290–300.
    spontaneous : sequence of Tensor
        Per area ``(batch, C, H, W)``: the spontaneous state (step 100); detached here.
    """
    if len(activity) != len(spontaneous) or not activity:
        raise ValueError("activity and spontaneous must give the same (non-zero) number of areas")
    penalty = torch.stack(
        [((a - s.detach().unsqueeze(1)) ** 2).mean() for a, s in zip(activity, spontaneous)]
    ).mean()
    return _weighted_ce(outputs, labels, weights) + spontaneous_weight * penalty


def cordsnet_training_loss(
    model,
    images: Tensor,
    labels: Tensor,
    *,
    checkpoint_segment: int | None = 10,
    **simulate_kwargs,
) -> Tensor:
    """Simulate the eq. 4 protocol on ``model`` (a :class:`~cordsneuro.models.CordsNet`) and
    return the eq. 4 loss: spontaneous state (100 steps, no gradient), image for 100 steps,
    no input for 100 steps; logits kept at steps 170–200, every area at steps 290–300.

    ``checkpoint_segment`` (default 10 steps) enables gradient checkpointing over time;
    ``None`` stores every step. Other keyword arguments go to ``model.simulate``."""
    from cordsneuro.models.cordsnet import Protocol

    protocol = Protocol.training(stimulus_ms=100 * model.dt, blank_ms=100 * model.dt)
    start = model.spontaneous_state(
        images.shape[0],
        channels_last=simulate_kwargs.get("channels_last") is not False,
        precision=simulate_kwargs.get("precision", "fp32"),
    )
    # protocol steps are counted from the image onset (= step 100 of eq. 4)
    ce_steps = range(CE_STEPS[0] - 100, CE_STEPS[1] - 100)
    sp_steps = range(SPONTANEOUS_STEPS[0] - 100, SPONTANEOUS_STEPS[1] - 100)
    traj = model.simulate(
        images,
        protocol,
        start=start,
        record_areas="all",
        record_outputs=True,
        record_steps=list(sp_steps),
        output_steps=list(ce_steps),
        checkpoint_segment=checkpoint_segment,
        **simulate_kwargs,
    )
    return cordsnet_loss(traj.outputs, labels, traj.rates, start)
