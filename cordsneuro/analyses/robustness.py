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

What the averaging cannot remove: eq. 9 applies the rectifier *inside* the update,
``f(Ŵr + b + W_inp h_inp + noise)``, so a unit near threshold passes the positive half of the
noise and blocks the negative half — its mean rate rises with the noise. This mean shift is
constant in time, so no temporal filter attenuates it; the CNN's ReLUs shift its mean too.
:class:`NoiseRobustness` therefore splits the deviation into the squared mean shift and the
fluctuation about it: the fluctuation ratio (CNN / CordsNet) is the filtering of eq. 9 and
does not depend on the noise level, while the mean shift, which grows faster than the
fluctuation once the noise is comparable with the units' drive, sets how far the total ratio
falls at high noise.
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
        from cordsneuro._util import pair
        from cordsneuro.models.wiring import (
            AREA_CHANNELS,
            DEPTHS,
            STEM_CHANNELS,
            STEM_KERNEL,
            STEM_PADDING,
            STEM_STRIDE,
            area_sizes,
            is_stage_start,
        )

        if depth not in DEPTHS or isinstance(depth, bool):
            raise ValueError(f"depth must be one of {DEPTHS}, got {depth!r}")
        if not (isinstance(step_ms, (int, float)) and math.isfinite(step_ms) and step_ms > 0):
            raise ValueError(f"step_ms must be a positive number of ms (got {step_ms!r})")
        self.depth, self.in_channels, self.num_classes = depth, in_channels, num_classes
        self.image_size = pair(image_size, minimum=STEM_KERNEL)
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
            stride = 2 if is_stage_start(i) else 1
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
        raise ValueError(
            f"config.json names {config.get('class')!r}; expected one of {list(classes)}"
        )
    model = classes[config["class"]](**config["arguments"])
    model.load_state_dict(load_file(str(directory / "weights.safetensors")))
    return model.eval()


# ----------------------------------------------------------------------------- Fig. 3B


@dataclass
class SequenceResponse:
    """Activity and softmax output of each model over a stimulus sequence (Fig. 3B).

    Attributes
    ----------
    scenario : str
        ``"on_off"`` (image, then nothing) or ``"sequence"`` (image A, image B, then nothing).
    windows : list of (str, float, float)
        ``(label, start_ms, end_ms)`` of each epoch.
    times : dict of str → ndarray
        Per model, the time (ms, end of each step) of every sample.
    activity : dict of str → ndarray
        Per model, the mean rate of the last area at each sample ``(time,)``.
    probabilities : dict of str → ndarray
        Per model, the softmax output ``(time, classes)``.
    baseline : float
        CordsNet's mean last-area rate in its spontaneous state.
    labels : list of int
        The class of each image shown (the models' targets).
    """

    scenario: str
    windows: list
    times: dict = field(default_factory=dict)
    activity: dict = field(default_factory=dict)
    probabilities: dict = field(default_factory=dict)
    baseline: float = 0.0
    labels: list = field(default_factory=list)

    def window_choice(self, model: str, index: int, last_ms: float = 100.0) -> int:
        """The class with the largest mean softmax over the last ``last_ms`` of image window
        ``index`` (0 = first image)."""
        images = [w for w in self.windows if w[0].startswith("image")]
        _, start, end = images[index]
        t = self.times[model]
        sel = (t > max(start, end - last_ms)) & (t <= end)
        return int(self.probabilities[model][sel].mean(0).argmax())

    def recovery(self, model: str = "CordsNet", last_ms: float = 50.0) -> float:
        """How far the last-area activity is from baseline at the end of the final blank,
        as a fraction of its peak excursion: ``|a_end − a₀| / max|a − a₀|`` (0: back at
        baseline)."""
        a = self.activity[model]
        t = self.times[model]
        end = a[t > t[-1] - last_ms].mean()
        peak = np.abs(a - self.baseline).max()
        return float(abs(end - self.baseline) / peak) if peak > 0 else 0.0


def _schedule(scenario: str, on_ms: float, off_ms: float) -> list[tuple[str, float, int | None]]:
    if scenario == "on_off":
        return [("image A", on_ms, 0), ("blank", off_ms, None)]
    if scenario == "sequence":
        return [("image A", on_ms, 0), ("image B", on_ms, 1), ("blank", off_ms, None)]
    raise ValueError(f"scenario must be 'on_off' or 'sequence' (got {scenario!r})")


def sequence_response(
    cordsnet: Any,
    images: Tensor,
    *,
    cnn: nn.Module | None = None,
    rcnn: DiscreteRecurrentCNN | None = None,
    scenario: str = "on_off",
    on_ms: float = ON_MS,
    off_ms: float = OFF_MS,
    labels: Sequence[int] | None = None,
) -> SequenceResponse:
    """Fig. 3B: CordsNet, its feedforward CNN and a discrete-time recurrent CNN over a sequence.

    Parameters
    ----------
    cordsnet : CordsNet
        Starts from its spontaneous state; its last area and logits are recorded every step.
    images : Tensor
        ``(C, H, W)`` (``"on_off"``) or ``(2, C, H, W)`` (``"sequence"``), as the models take
        them.
    cnn : CordsNetCNN, optional
        Sees the frame present at each step (a blank screen is an all-zero image).
    rcnn : DiscreteRecurrentCNN, optional
        Runs from a zero state, one of its steps per ``step_ms``.
    scenario : ``"on_off"`` or ``"sequence"``
        Image for ``on_ms`` then nothing for ``off_ms`` (Fig. 3B left), or two images for
        ``on_ms`` each then nothing for ``off_ms`` (Fig. 3B right, with a closing blank to see
        the return to baseline).
    labels : sequence of int, optional
        The images' classes (kept for reporting).
    """
    from cordsneuro.models.cordsnet import CordsNet
    from cordsneuro.models.protocols import Epoch, Protocol

    if not isinstance(cordsnet, CordsNet):
        raise TypeError(f"cordsnet must be a CordsNet, got {type(cordsnet).__name__}")
    plan = _schedule(scenario, on_ms, off_ms)
    n_images = 1 if scenario == "on_off" else 2
    images = images[None] if images.ndim == 3 else images
    if images.ndim != 4 or images.shape[0] != n_images:
        raise ValueError(
            f"scenario {scenario!r} needs {n_images} image(s) (n, C, H, W); got {tuple(images.shape)}"
        )
    cordsnet.check_images(images)
    windows, start = [], 0.0
    for name, ms, _ in plan:
        windows.append((name, start, start + ms))
        start += ms
    result = SequenceResponse(scenario, windows, labels=list(labels or []))
    protocol = Protocol(
        tuple(
            Epoch.blank(ms, name) if k is None else Epoch.image(ms, k, name=name)
            for name, ms, k in plan
        )
    )
    last = cordsnet.depth - 1
    with torch.no_grad():
        traj = cordsnet.simulate(images[None], protocol, record_areas=[last])
        spont = cordsnet.spontaneous_state(1)
    result.times["CordsNet"] = traj.times.cpu().numpy()
    result.activity["CordsNet"] = traj.rates[0][0].float().mean(dim=(1, 2, 3)).cpu().numpy()
    result.probabilities["CordsNet"] = traj.outputs[0].float().softmax(-1).cpu().numpy()
    result.baseline = float(spont[last].float().mean())
    t_ms = result.times["CordsNet"]

    def frame_at(t: float) -> Tensor:
        for (_, s, e), (_, _, k) in zip(windows, plan):
            if s < t <= e:
                return torch.zeros_like(images[0]) if k is None else images[k]
        return torch.zeros_like(images[0])

    if cnn is not None:
        cnn.eval()
        with torch.no_grad():
            per_epoch = {}
            for (_, s, e), (_, _, k) in zip(windows, plan):
                x = torch.zeros_like(images[:1]) if k is None else images[k : k + 1]
                per_epoch[(s, e)] = (cnn.features(x)[-1].mean().item(), cnn(x).softmax(-1)[0])
        act, prob = [], []
        for t in t_ms:
            key = next((s, e) for (_, s, e) in windows if s < t <= e)
            act.append(per_epoch[key][0])
            prob.append(per_epoch[key][1].numpy())
        result.times["CNN"] = t_ms
        result.activity["CNN"] = np.array(act)
        result.probabilities["CNN"] = np.stack(prob)
    if rcnn is not None:
        rcnn.eval()
        n_steps = int(round(windows[-1][2] / rcnn.step_ms))
        times = rcnn.step_ms * np.arange(1, n_steps + 1)
        frames = torch.stack([frame_at(t) for t in times])[None]
        with torch.no_grad():
            logits, activity = rcnn(frames)
        result.times["discrete-time RCNN"] = times
        result.activity["discrete-time RCNN"] = activity[0].numpy()
        result.probabilities["discrete-time RCNN"] = logits[0].softmax(-1).numpy()
    return result


# ----------------------------------------------------------------------------- Fig. 3C–D


@dataclass
class NoiseRobustness:
    """Output-layer deviation and accuracy under per-step input noise (Fig. 3C–D).

    Attributes
    ----------
    levels : ndarray
        ``(k,)`` noise standard deviations (per pixel, per step).
    deviation : dict of str → ndarray
        Per model, ``(k,)`` mean-squared deviation of the logits from the noiseless run,
        averaged over images, classes and the steps of the read-out window (Fig. 3C).
    relative_deviation : dict of str → ndarray
        The same divided by the mean square of the noiseless logits (comparable across models
        whose logits have different scales).
    accuracy : dict of str → ndarray
        Per model, ``(k,)`` classification accuracy (CordsNet: logits at the last step of the
        presentation, the published inference; CNN: one noisy image).
    n_images : int
    mean_shift : dict of str → ndarray
        Per model, ``(k,)`` the part of ``deviation`` that is a systematic shift: the squared
        difference between the noise-averaged logits and the noiseless ones, averaged over
        images and classes (unbiased estimate from independent noise realisations).
        ``deviation − mean_shift`` is the fluctuation about it (:meth:`fluctuation`).
    """

    levels: np.ndarray
    deviation: dict
    accuracy: dict
    n_images: int
    relative_deviation: dict = field(default_factory=dict)
    mean_shift: dict = field(default_factory=dict)

    def fluctuation(self, model: str) -> np.ndarray:
        """``(k,)`` the deviation about the noise-averaged output: ``deviation −
        mean_shift``."""
        return self.deviation[model] - self.mean_shift[model]

    def ratio(self, component: str = "total") -> np.ndarray:
        """CNN / CordsNet at each noise level (NaN at zero noise) of the ``"total"``
        deviation (Fig. 3C), its ``"mean_shift"`` or its ``"fluctuation"``."""
        parts = {
            "total": lambda m: self.deviation[m],
            "mean_shift": lambda m: self.mean_shift[m],
            "fluctuation": self.fluctuation,
        }
        if component not in parts:
            raise ValueError(f"component must be one of {list(parts)} (got {component!r})")
        a, b = parts[component]("CordsNet"), parts[component]("CNN")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a > 0, b / a, np.nan)


def noise_robustness(
    cordsnet: Any,
    cnn: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    levels: Sequence[float] = NOISE_LEVELS,
    stimulus_ms: float = 200.0,
    window_ms: float = 100.0,
    repeats: int = 2,
    seed: int = 0,
    batch_size: int = 128,
) -> NoiseRobustness:
    """Fig. 3C–D: white Gaussian noise on every pixel of the input at every step.

    CordsNet sees each image for ``stimulus_ms`` from its spontaneous state with independent
    noise at each of its steps (:class:`~cordsneuro.models.Epoch` ``noise_std``; with the
    paper's dt = 2 ms, a new noise sample every 2 ms); the CNN sees one independent noisy copy
    per step of the same window. The deviation is the squared difference between the noisy
    and the noiseless logits at each step of the last ``window_ms`` of the presentation
    (after the response has settled), averaged over those steps, the classes, the images and
    ``repeats`` noise realisations — the per-step deviation of the output layer of the
    paper's Fig. 3C caption, "mean-squared deviation from noiseless activations of the output
    layer across … noisy images" (the paper states neither its noise levels nor a time
    window).

    Parameters
    ----------
    cordsnet : CordsNet
    cnn : CordsNetCNN
        Its feedforward counterpart (eval mode).
    images, labels : Tensor
        ``(n, C, H, W)`` inputs as the models take them, ``(n,)`` classes.
    levels : sequence of float
        Noise standard deviations, in the units of ``images`` (default :data:`NOISE_LEVELS`,
        five levels).
    stimulus_ms, window_ms : float
        Presentation length and the final window (ms) over which the deviation is measured.
    repeats : int
        Independent noise realisations per image (>= 2: the mean shift is estimated from
        pairs of realisations, which makes it unbiased).
    seed : int
        Seed of the noise.
    """
    from cordsneuro.models.cordsnet import CordsNet
    from cordsneuro.models.protocols import Protocol

    if not isinstance(cordsnet, CordsNet):
        raise TypeError(f"cordsnet must be a CordsNet, got {type(cordsnet).__name__}")
    levels = np.asarray([float(v) for v in levels])
    if levels.ndim != 1 or not len(levels) or not np.isfinite(levels).all() or (levels < 0).any():
        raise ValueError(f"levels must be finite noise std's >= 0 (got {levels.tolist()})")
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 2:
        raise ValueError(f"repeats must be an int >= 2 (got {repeats!r})")
    cordsnet.check_images(images)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must be ({images.shape[0]},), got {tuple(labels.shape)}")
    n_steps = Protocol.classification(stimulus_ms).steps(cordsnet.dt)[0]
    n_window = int(round(window_ms / cordsnet.dt))
    if not 1 <= n_window <= n_steps:
        raise ValueError(f"window_ms must be within (0, stimulus_ms], got {window_ms}")
    window = list(range(n_steps - n_window, n_steps))
    g = torch.Generator().manual_seed(int(seed))
    cnn.eval()
    models = ("CordsNet", "CNN")
    dev = {k: [] for k in models}
    shift = {k: [] for k in models}
    acc = {k: [] for k in models}
    power = dict.fromkeys(models, 0.0)  # mean square of the noiseless logits
    with torch.no_grad():
        for sigma in levels:
            sq = dict.fromkeys(models, 0.0)
            bias = dict.fromkeys(models, 0.0)
            right = dict.fromkeys(models, 0.0)
            for s in range(0, len(images), batch_size):
                x, y = images[s : s + batch_size], labels[s : s + batch_size]
                clean = cordsnet.simulate(
                    x, Protocol.classification(stimulus_ms), record_steps=window
                ).outputs
                clean_cnn = cnn(x)
                if sigma == levels[0]:
                    power["CordsNet"] += float((clean**2).mean(dim=(1, 2)).sum())
                    power["CNN"] += float((clean_cnn**2).mean(dim=1).sum())
                # per realisation: the window-averaged deviation (n, classes)
                means = {k: [] for k in models}
                for _ in range(repeats):
                    noisy = cordsnet.simulate(
                        x,
                        Protocol.classification(stimulus_ms, noise_std=float(sigma)),
                        record_steps=window,
                        generator=g,
                    ).outputs
                    d = noisy - clean
                    sq["CordsNet"] += float((d**2).mean(dim=(1, 2)).sum()) / repeats
                    means["CordsNet"].append(d.mean(dim=1))
                    right["CordsNet"] += float((noisy[:, -1].argmax(-1) == y).sum()) / repeats
                    for _ in range(n_window):
                        out = cnn(x + float(sigma) * torch.randn(x.shape, generator=g))
                        d = out - clean_cnn
                        sq["CNN"] += float((d**2).mean(dim=1).sum()) / (repeats * n_window)
                        means["CNN"].append(d)
                        right["CNN"] += float((out.argmax(-1) == y).sum()) / (repeats * n_window)
                for k in models:  # E[d]² from pairs of independent realisations (unbiased)
                    m = torch.stack(means[k])
                    r = m.shape[0]
                    pairs = (m.sum(0) ** 2 - (m**2).sum(0)) / (r * (r - 1))
                    bias[k] += float(pairs.mean(dim=1).sum())
            for k in models:
                dev[k].append(sq[k] / len(images))
                shift[k].append(bias[k] / len(images))
                acc[k].append(right[k] / len(images))
    return NoiseRobustness(
        levels=levels,
        deviation={k: np.array(v) for k, v in dev.items()},
        accuracy={k: np.array(v) for k, v in acc.items()},
        n_images=len(images),
        relative_deviation={
            k: np.array(v) / max(power[k] / len(images), 1e-30) for k, v in dev.items()
        },
        mean_shift={k: np.array(v) for k, v in shift.items()},
    )
