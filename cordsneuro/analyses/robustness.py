"""Vision behaviour of CordsNet against feedforward and discrete-time networks (Section 4,
Fig. 3B–D).

* **Fig. 3B** — :func:`sequence_response`: an image on for 400 ms then off for 400 ms, or two
  images in sequence (400 ms each), shown to CordsNet (from its spontaneous state), to its
  feedforward CNN (one independent pass per time step: no notion of time) and to a
  discrete-time recurrent CNN trained to answer at one step (:class:`DiscreteRecurrentCNN`,
  the CORnet-RT comparison of the paper). Returns the mean activity of the last area and the
  softmax output of each model over time.
* **Fig. 3C–D** — :func:`noise_robustness`: independent white Gaussian noise added to every
  pixel at every time step; the mean-squared deviation of the output layer (the logits) from
  the noiseless run, and the accuracy, at each noise level, CordsNet against its CNN.

The mechanism (eq. 9): each Euler step lets only ``α = dt/τ`` of the new, noisy drive into the
state, so the state averages the input noise over about ``τ/dt`` steps, and the recurrent
weights filter it further; a feedforward network passes every noisy frame straight through.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cordsneuro._atomic import atomic_path

__all__ = [
    "DiscreteRecurrentCNN",
    "save_comparison_model",
    "load_comparison_model",
    "SequenceResponse",
    "sequence_response",
    "NoiseRobustness",
    "noise_robustness",
    "ON_MS",
    "OFF_MS",
    "NOISE_LEVELS",
]

#: Fig. 3B: the image is shown for 400 ms, then removed for 400 ms (Section 4).
ON_MS = 400.0
OFF_MS = 400.0
#: Fig. 3D: five noise levels (standard deviation of the per-pixel noise, in units of the
#: normalised input). The paper does not give its values; these span "barely visible" to
#: "the image is buried".
NOISE_LEVELS = (0.0, 0.25, 0.5, 1.0, 2.0)


# ----------------------------------------------------------------------------- CORnet-RT style


class DiscreteRecurrentCNN(nn.Module):
    """A discrete-time recurrent CNN in the style of CORnet-RT (Kubilius et al. 2019), the
    paper's third comparison in Fig. 3B.

    The same stem and area widths as CordsNet-R``depth`` (Table S3), but no leak and no
    continuous time: at step ``t`` every area ``l`` takes the previous step's output of the
    area below (the image for area 0) and its own previous output::

        h_0(t) = ReLU( Conv_inp,0(stem(x_t)) + Conv_rec,0(h_0(t−1)) + b_0 )
        h_l(t) = ReLU( Conv_inp,l(h_{l−1}(t−1)) + Conv_rec,l(h_l(t−1)) + b_l )
        logits(t) = Linear( AvgPool(h_last(t)) )

    It is trained to answer at one step only (``answer_step``, counted from the image onset
    with a zero start), as CORnet-RT is. Each step lasts ``step_ms`` of simulated time when it
    is compared with CordsNet over a protocol in ms.

    Parameters
    ----------
    depth, in_channels, num_classes, image_size :
        As for :class:`~cordsneuro.models.CordsNet`.
    answer_step : int
        The step (1-based) at which the training loss is applied (default ``depth + 2``: the
        image needs ``depth`` steps to reach the last area).
    step_ms : float
        Duration of one discrete step in ms (default 10 ms).
    seed : int, optional
        Seed of the initialisation.
    """

    def __init__(
        self,
        depth: int = 2,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        image_size: int | Sequence[int] = 32,
        answer_step: int | None = None,
        step_ms: float = 10.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        from cordsneuro.models.cordsnet import (
            AREA_CHANNELS,
            DEPTHS,
            STEM_CHANNELS,
            STEM_KERNEL,
            STEM_PADDING,
            STEM_STRIDE,
            _is_stage_start,
            _pair,
            area_sizes,
        )

        if depth not in DEPTHS or isinstance(depth, bool):
            raise ValueError(f"depth must be one of {DEPTHS}, got {depth!r}")
        if not (isinstance(step_ms, (int, float)) and math.isfinite(step_ms) and step_ms > 0):
            raise ValueError(f"step_ms must be a positive number of ms (got {step_ms!r})")
        self.depth, self.in_channels, self.num_classes = depth, in_channels, num_classes
        self.image_size = _pair(image_size)
        self.answer_step = depth + 2 if answer_step is None else int(answer_step)
        if self.answer_step < 1:
            raise ValueError(f"answer_step must be >= 1 (got {answer_step!r})")
        self.step_ms = float(step_ms)
        self.arguments = {
            "depth": depth, "in_channels": in_channels, "num_classes": num_classes,
            "image_size": list(self.image_size), "answer_step": self.answer_step,
            "step_ms": self.step_ms,
        }  # fmt: skip
        if seed is not None:
            torch.manual_seed(int(seed))
        channels = AREA_CHANNELS[:depth]
        self.sizes = area_sizes(self.image_size, depth)
        self.stem = nn.Conv2d(
            in_channels, STEM_CHANNELS, STEM_KERNEL, STEM_STRIDE, STEM_PADDING, bias=False
        )
        self.feedforward = nn.ModuleList()
        self.recurrent = nn.ModuleList()
        c_prev = STEM_CHANNELS
        for i, c in enumerate(channels):
            stride = 2 if _is_stage_start(i) else 1
            self.feedforward.append(nn.Conv2d(c_prev, c, 3, stride, 1, bias=True))
            self.recurrent.append(nn.Conv2d(c, c, 3, 1, 1, bias=False))
            c_prev = c
        self.channels = channels
        self.fc = nn.Linear(channels[-1], num_classes)

    def forward(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """Run over ``frames (batch, steps, C, H, W)`` (zeros = no image) from a zero state.

        Returns ``logits (batch, steps, classes)`` and the last area's mean activity
        ``(batch, steps)``."""
        if frames.ndim != 5 or tuple(frames.shape[2:]) != (self.in_channels, *self.image_size):
            raise ValueError(
                f"frames must have shape (batch, steps, {self.in_channels}, "
                f"{self.image_size[0]}, {self.image_size[1]}); got {tuple(frames.shape)}"
            )
        b = frames.shape[0]
        h = [frames.new_zeros(b, c, *s) for c, s in zip(self.channels, self.sizes)]
        logits, activity = [], []
        for t in range(frames.shape[1]):
            stem = F.avg_pool2d(self.stem(frames[:, t]), 3, 2, 1)
            below = [stem, *h[:-1]]
            h = [
                F.relu(ff(x) + rec(r))
                for ff, rec, x, r in zip(self.feedforward, self.recurrent, below, h)
            ]
            logits.append(self.fc(h[-1].mean(dim=(2, 3))))
            activity.append(h[-1].mean(dim=(1, 2, 3)))
        return torch.stack(logits, 1), torch.stack(activity, 1)

    def classify(self, images: Tensor) -> Tensor:
        """Logits ``(batch, classes)`` at ``answer_step`` with the image held from step 1."""
        frames = images[:, None].expand(-1, self.answer_step, -1, -1, -1)
        return self(frames)[0][:, -1]


def save_comparison_model(model: nn.Module, directory: str | os.PathLike) -> Path:
    """Save a :class:`~cordsneuro.models.CordsNetCNN` or :class:`DiscreteRecurrentCNN` as a
    directory (``config.json`` + ``weights.safetensors``, written atomically)."""
    from safetensors.torch import save_file

    from cordsneuro.models.feedforward import CordsNetCNN

    if isinstance(model, CordsNetCNN):
        arguments = {
            "depth": model.depth, "in_channels": model.in_channels,
            "num_classes": model.num_classes, "image_size": list(model.image_size),
            "batchnorm": model.batchnorm,
        }  # fmt: skip
    elif isinstance(model, DiscreteRecurrentCNN):
        arguments = dict(model.arguments)
    else:
        raise TypeError(
            f"model must be a CordsNetCNN or a DiscreteRecurrentCNN, got {type(model).__name__}"
        )
    directory = Path(directory)
    with atomic_path(directory) as tmp:
        tmp.mkdir()
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(tensors, str(tmp / "weights.safetensors"))
        config = {"class": type(model).__name__, "arguments": arguments}
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
    return directory


def load_comparison_model(directory: str | os.PathLike) -> nn.Module:
    """Load what :func:`save_comparison_model` wrote (in eval mode)."""
    from safetensors.torch import load_file

    from cordsneuro.models.feedforward import CordsNetCNN

    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} is missing: not a saved comparison model")
    config = json.loads(config_path.read_text())
    classes = {"CordsNetCNN": CordsNetCNN, "DiscreteRecurrentCNN": DiscreteRecurrentCNN}
    if config.get("class") not in classes:
        raise ValueError(f"config.json names {config.get('class')!r}; expected one of {list(classes)}")
    model = classes[config["class"]](**config["arguments"])
    model.load_state_dict(load_file(str(directory / "weights.safetensors")))
    return model.eval()
