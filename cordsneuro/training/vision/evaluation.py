"""Evaluation as the paper reports it (Section 3, Table 1, Appendix D, Fig. S4).

* :func:`window_accuracy`: accuracy at every step of the inference window (steps 170–200 of
  eq. 4 for CordsNet and the fully connected control; steps 70–100 of eq. 8 for the linear
  model; the plain top-1 accuracy for the CNN). ``accuracy`` is at the last step.
* :func:`accuracy_over_time`: accuracy at every step of a trial (spontaneous, image, blank).
* :func:`mono_stability`: Appendix D's check. From the spontaneous state, image A for 200 ms,
  blank for 200 ms, image B for 200 ms, blank for 200 ms. The network is mono-stable when the
  activity after each blank returns to the spontaneous level (relative deviation
  ``‖r − r_spont‖ / ‖r_spont − r_image‖``, small) and image B, shown from wherever image A left
  the network, is classified as well as from the spontaneous state.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

__all__ = [
    "model_kind",
    "window_logits",
    "window_accuracy",
    "accuracy_over_time",
    "mono_stability",
    "MONO_STABLE_TOLERANCE",
]

#: Largest relative return deviation counted as "back to the spontaneous level".
MONO_STABLE_TOLERANCE = 0.05
#: Steps of the eq. 4 trial: 100 spontaneous, 100 image, 100 blank (2 ms each).
SPONT, IMAGE, BLANK = 100, 100, 100
#: Inference window inside the image phase (eq. 4: steps 170–200 = image steps 70–100).
WINDOW = (70, 100)


def model_kind(model) -> str:
    """``"cnn"``, ``"linear"`` (CordsNet with identity σ), ``"cordsnet"`` or ``"rnn"``."""
    from cordsneuro.models.cordsnet import CordsNet
    from cordsneuro.models.feedforward import CordsNetCNN

    if isinstance(model, CordsNetCNN):
        return "cnn"
    if isinstance(model, CordsNet):
        return "linear" if model.activation == "identity" else "cordsnet"
    return "rnn"


def _rnn_trial(model, images: Tensor, epochs: list[tuple[int, Tensor | None]]):
    """Simulate a single-area RNN on flattened images through ``[(steps, images or None)]``
    from its spontaneous state; returns logits ``(batch, time, classes)`` and rates."""
    x = images.flatten(1)
    with torch.no_grad():
        state = model(n_steps=SPONT, batch_size=x.shape[0], record=False).final_state
    frames = [
        (x if img is not None else torch.zeros_like(x))[:, None].expand(-1, n, -1)
        for n, img in epochs
    ]
    traj = model(torch.cat(frames, 1), state=state)
    return traj.outputs, traj.rates


def window_logits(model, images: Tensor, **simulate_kwargs) -> Tensor:
    """Logits ``(batch, window, classes)`` over the inference window (``window`` = 1 for the
    CNN). The linear model starts from zero (eq. 8), the others from the spontaneous state."""
    from cordsneuro.models.cordsnet import Protocol

    kind = model_kind(model)
    if kind == "cnn":
        return model(images)[:, None]
    if kind == "rnn":
        return _rnn_trial(model, images, [(IMAGE, images)])[0][:, WINDOW[0] : WINDOW[1]]
    traj = model.simulate(
        images,
        Protocol.classification(),
        start="zero" if kind == "linear" else "spontaneous",
        record_steps=list(range(*WINDOW)),
        **simulate_kwargs,
    )
    return traj.outputs


@torch.no_grad()
def window_accuracy(
    model, batches: Iterable[tuple[Tensor, Tensor]], device=None, **simulate_kwargs
) -> dict:
    """Accuracy over the inference window on ``batches`` of ``(images, labels)``.

    Returns ``{"correct": (window,) tensor of counts, "n": count}``; sum these over ranks, then
    :func:`summarize_counts` gives ``accuracy`` (last step) and ``window_accuracy`` (mean)."""
    correct, n = None, 0
    was_training = model.training
    model.eval()
    for images, labels in batches:
        if device is not None:
            images, labels = images.to(device), labels.to(device)
        logits = window_logits(model, images, **simulate_kwargs)
        hits = (logits.argmax(-1) == labels[:, None]).sum(0).double().cpu()
        correct = hits if correct is None else correct + hits
        n += len(labels)
    model.train(was_training)
    return {"correct": correct, "n": n}


def summarize_counts(correct: Tensor, n: int) -> dict[str, float]:
    """``accuracy`` at the last step and ``window_accuracy`` (mean over the window)."""
    acc = correct / max(n, 1)
    return {"accuracy": float(acc[-1]), "window_accuracy": float(acc.mean())}


@torch.no_grad()
def accuracy_over_time(model, images: Tensor, labels: Tensor) -> dict[str, Tensor]:
    """Accuracy at every step of the eq. 4 trial (100 spontaneous steps, 100 image, 100
    blank), from the spontaneous state: ``{"time_ms": (200,), "accuracy": (200,)}``, time
    counted from the image onset (the first 100 steps have the image on)."""
    from cordsneuro.models.cordsnet import Protocol

    kind = model_kind(model)
    if kind == "rnn":
        logits = _rnn_trial(model, images, [(IMAGE, images), (BLANK, None)])[0]
        dt = model.dt
    else:
        traj = model.simulate(
            images,
            Protocol.training(),
            start="zero" if kind == "linear" else "spontaneous",
        )
        logits, dt = traj.outputs, model.dt
    acc = (logits.argmax(-1) == labels[:, None]).double().mean(0)
    return {"time_ms": dt * torch.arange(1, acc.shape[0] + 1, dtype=torch.float64), "accuracy": acc}


@torch.no_grad()
def mono_stability(model, images: Tensor, labels: Tensor, *, seed: int = 0) -> dict:
    """Appendix D: image A, blank, image B, blank, from the spontaneous state (every model,
    the linear one included: 100 steps without input from zero).

    ``images``/``labels`` are split in two halves; the second half's images are shown second
    (B). Returns relative return deviations after each blank (per the whole network state),
    the accuracy on B after A, on B alone from the spontaneous state, the logits over time
    ``(batch, 400, classes)`` and ``mono_stable`` (both deviations below
    :data:`MONO_STABLE_TOLERANCE` and B's accuracy within 2 points of B alone)."""
    from cordsneuro.models.cordsnet import Protocol

    half = images.shape[0] // 2
    a, b = images[:half], images[half : 2 * half]
    la, lb = labels[:half], labels[half : 2 * half]
    kind = model_kind(model)
    if kind == "cnn":
        raise ValueError("mono-stability concerns dynamical models, not the CNN")
    step_ends = [IMAGE, IMAGE + BLANK, 2 * IMAGE + BLANK, 2 * (IMAGE + BLANK)]
    if kind == "rnn":
        fa, fb = a.flatten(1), b.flatten(1)
        spont = model(n_steps=SPONT, batch_size=fa.shape[0], record=False).final_state
        blank = torch.zeros_like(fa)
        x = torch.cat(
            [
                t[:, None].expand(-1, n, -1)
                for t, n in ((fa, IMAGE), (blank, BLANK), (fb, IMAGE), (blank, BLANK))
            ],
            1,
        )
        traj = model(x, state=spont)
        logits, states = traj.outputs, [traj.rates[:, t - 1] for t in step_ends]
        alone = window_logits(model, b)[:, -1]
        flat = [s.flatten(1) for s in states]
        spont_flat = spont.flatten(1)
    else:
        traj = model.simulate(
            torch.stack([a, b], 1),
            Protocol.sequence(2, image_ms=IMAGE * model.dt, blank_ms=BLANK * model.dt),
            record_areas="all",
            record_steps=[t - 1 for t in step_ends],
            output_steps=list(range(step_ends[-1])),
        )
        logits = traj.outputs
        states = [[r[:, k] for r in traj.rates] for k in range(4)]
        flat = [torch.cat([s.flatten(1) for s in st], 1) for st in states]
        spont_state = model.spontaneous_state(a.shape[0])
        spont_flat = torch.cat([s.flatten(1) for s in spont_state], 1)
        alone = window_logits(model, b)[:, -1]

    def deviation(after: Tensor, image_state: Tensor) -> float:
        scale = (image_state - spont_flat).norm(dim=1).clamp_min(1e-12)
        return float(((after - spont_flat).norm(dim=1) / scale).mean())

    acc_a = float((logits[:, step_ends[0] - 1].argmax(-1) == la).double().mean())
    acc_b = float((logits[:, step_ends[2] - 1].argmax(-1) == lb).double().mean())
    acc_b_alone = float((alone.argmax(-1) == lb).double().mean())
    dev1, dev2 = deviation(flat[1], flat[0]), deviation(flat[3], flat[2])
    return {
        "return_deviation_after_a": dev1,
        "return_deviation_after_b": dev2,
        "accuracy_a": acc_a,
        "accuracy_b_after_a": acc_b,
        "accuracy_b_alone": acc_b_alone,
        "mono_stable": bool(
            dev1 < MONO_STABLE_TOLERANCE
            and dev2 < MONO_STABLE_TOLERANCE
            and acc_b >= acc_b_alone - 0.02
        ),
        "logits": logits,
        "labels": (la, lb),
        "time_ms": model.dt * torch.arange(1, logits.shape[1] + 1, dtype=torch.float64),
    }
