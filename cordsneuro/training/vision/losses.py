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

(the image shown from the zero state for 100 steps). As in the authors' code the 30 weighted
terms are averaged where the paper writes a sum: a constant factor 1/30.

Labels are class indices ``(batch,)`` or class probabilities ``(batch, classes)`` (the soft
labels of CutMix / MixUp); both go through :func:`torch.nn.functional.cross_entropy`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "cordsnet_loss",
    "linear_loss",
    "ce_ramp",
    "check_labels",
    "cordsnet_training_loss",
    "linear_training_loss",
    "rnn_training_loss",
]

#: eq. 4: CE on steps 170–200, spontaneous penalty on steps 290–300, coefficient 1e-3.
CE_STEPS = (170, 200)
SPONTANEOUS_STEPS = (290, 300)
SPONTANEOUS_WEIGHT = 1e-3
#: eq. 8: CE on steps 70–100 of the image shown from the zero state.
LINEAR_CE_STEPS = (70, 100)


def ce_ramp(n: int = 30, device=None, dtype=torch.float32) -> Tensor:
    """``logspace(−3, 0, n)``: the weights of the cross-entropy at the last ``n`` steps."""
    return torch.logspace(-3, 0, n, device=device, dtype=dtype)


def check_labels(labels: Tensor, num_classes: int, batch: int | None = None) -> None:
    """Validate class indices ``(batch,)`` in ``[0, num_classes)`` or soft labels
    ``(batch, num_classes)`` (CutMix / MixUp: non-negative rows summing to 1)."""
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if batch is not None and (labels.ndim == 0 or labels.shape[0] != batch):
        raise ValueError(f"labels must have batch {batch}, got shape {tuple(labels.shape)}")
    if labels.ndim == 1:
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise TypeError(f"class-index labels must be integers (got {labels.dtype})")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise ValueError(
                f"labels must lie in [0, {num_classes}) for a {num_classes}-class readout; "
                f"got values from {int(labels.min())} to {int(labels.max())}"
            )
    elif labels.ndim == 2:
        if labels.shape[1] != num_classes or not labels.is_floating_point():
            raise ValueError(
                f"soft labels must be floating (batch, {num_classes}); got "
                f"{tuple(labels.shape)} {labels.dtype}"
            )
        if labels.numel() and (
            float(labels.min()) < 0 or not torch.allclose(labels.sum(1), torch.ones(()), atol=1e-4)
        ):
            raise ValueError("soft labels must be non-negative with rows summing to 1")
    else:
        raise ValueError(
            f"labels must be (batch,) class indices or (batch, classes) probabilities, got "
            f"shape {tuple(labels.shape)}"
        )


def _weighted_ce(outputs: Tensor, labels: Tensor, weights: Tensor | None) -> Tensor:
    if outputs.ndim != 3:
        raise ValueError(f"outputs must be (batch, steps, classes), got {tuple(outputs.shape)}")
    b, n, k = outputs.shape
    check_labels(labels, k, b)
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
    # mse_loss keeps the activity itself rather than its difference to the spontaneous state,
    # and its backward pass is one tensor: 5 MB less at the peak of eq. 4 at CordsNet-R2 32²
    penalty = torch.stack(
        [F.mse_loss(a, s.detach().unsqueeze(1).expand_as(a)) for a, s in zip(activity, spontaneous)]
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


def linear_training_loss(
    model,
    images: Tensor,
    labels: Tensor,
    *,
    checkpoint_segment: int | None = 10,
    **simulate_kwargs,
) -> Tensor:
    """Simulate the eq. 8 protocol on ``model`` (the linear CordsNet of step 2, or any
    CordsNet) and return the eq. 8 loss: from the zero state the image is shown for 100 steps
    (200 ms); the logits of steps 70–100 enter the log-weighted cross-entropy."""
    from cordsneuro.models.cordsnet import Protocol

    steps = LINEAR_CE_STEPS
    traj = model.simulate(
        images,
        Protocol.classification(stimulus_ms=steps[1] * model.dt),
        start="zero",
        record_outputs=True,
        record_steps=list(range(*steps)),
        checkpoint_segment=checkpoint_segment,
        **simulate_kwargs,
    )
    return linear_loss(traj.outputs, labels)


def rnn_training_loss(
    model,
    inputs: Tensor,
    labels: Tensor,
    *,
    checkpoint_segment: int | None = 10,
) -> Tensor:
    """The eq. 4 protocol and loss for a single-area RNN with vector inputs (the
    fully connected control of Table 1): 100 steps without input (the spontaneous state,
    no gradient), ``inputs`` ``(batch, features)`` for 100 steps, 100 steps without input."""
    n_on = CE_STEPS[1] - 100
    with torch.no_grad():
        spont = model(n_steps=100, batch_size=inputs.shape[0], record=False).final_state.detach()
    x = torch.cat(
        [
            inputs[:, None].expand(-1, n_on, -1),
            inputs.new_zeros(inputs.shape[0], SPONTANEOUS_STEPS[1] - CE_STEPS[1], inputs.shape[1]),
        ],
        dim=1,
    )
    traj = model(x, state=spont, checkpoint_segment=checkpoint_segment)
    ce_window = slice(CE_STEPS[0] - 100, CE_STEPS[1] - 100)
    sp_window = slice(SPONTANEOUS_STEPS[0] - 100, SPONTANEOUS_STEPS[1] - 100)
    return cordsnet_loss(traj.outputs[:, ce_window], labels, [traj.rates[:, sp_window]], [spont])
