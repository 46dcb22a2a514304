"""Stimulus protocols and recordings of CordsNet simulations (Section 3, Fig. 3B–D).

A :class:`Protocol` is a schedule of :class:`Epoch` s (spontaneous activity, image, blank,
image sequences, optional white noise on the input at each step) run by
:meth:`cordsneuro.models.cordsnet.CordsNet.simulate`; the recording comes back as a
:class:`VisionTrajectory`, convertible to an ``xarray.DataArray`` with dims
``("time_bin", "presentation", "neuroid")``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import Tensor

from cordsneuro.dynamics import Trajectory

__all__ = ["SPONTANEOUS_MS", "STIMULUS_MS", "Epoch", "Protocol", "VisionTrajectory"]

#: Section 3: 200 ms (100 steps) of spontaneous activity, then 200 ms of image.
SPONTANEOUS_MS = 200.0
STIMULUS_MS = 200.0


@dataclass(frozen=True)
class Epoch:
    """One epoch of a stimulus protocol.

    Attributes
    ----------
    duration : float
        Length in ms (a whole number of Euler steps ``dt``).
    stimulus : int or None
        Which image of each presentation is shown (index ``k`` into the ``images`` given to
        :meth:`CordsNet.simulate`); ``None``: no input (spontaneous activity / blank screen).
    noise_std : float
        Standard deviation of white Gaussian noise added to every pixel of the input image
        independently at every step of this epoch (Fig. 3C–D). Applied to image epochs only.
    name : str
        Label kept with the recording (``"spontaneous"``, ``"image"``, ``"blank"``, …).
    """

    duration: float
    stimulus: int | None = None
    noise_std: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.duration, (int, float)) and math.isfinite(self.duration)):
            raise ValueError(f"Epoch.duration must be a finite number of ms ({self.duration!r})")
        if self.duration <= 0:
            raise ValueError(f"Epoch.duration must be > 0 ms (got {self.duration})")
        if self.stimulus is not None and (
            not isinstance(self.stimulus, int)
            or isinstance(self.stimulus, bool)
            or self.stimulus < 0
        ):
            raise ValueError(f"Epoch.stimulus must be None or an int >= 0 ({self.stimulus!r})")
        if not math.isfinite(self.noise_std) or self.noise_std < 0:
            raise ValueError(f"Epoch.noise_std must be finite and >= 0 ({self.noise_std!r})")

    @classmethod
    def blank(cls, duration: float, name: str = "blank") -> Epoch:
        return cls(duration, None, 0.0, name)

    @classmethod
    def image(
        cls, duration: float, stimulus: int = 0, noise_std: float = 0.0, name: str = "image"
    ) -> Epoch:
        return cls(duration, stimulus, noise_std, name)


@dataclass(frozen=True)
class Protocol:
    """A schedule of :class:`Epoch` s, simulated back to back.

    The builders give the paper's protocols; any list of epochs is allowed.
    """

    epochs: tuple[Epoch, ...]

    def __post_init__(self) -> None:
        epochs = tuple(self.epochs)
        if not epochs or not all(isinstance(e, Epoch) for e in epochs):
            raise ValueError("Protocol.epochs must be a non-empty sequence of Epoch")
        object.__setattr__(self, "epochs", epochs)

    @property
    def duration(self) -> float:
        return sum(e.duration for e in self.epochs)

    @property
    def n_stimuli(self) -> int:
        """Number of distinct images per presentation the protocol refers to."""
        used = [e.stimulus for e in self.epochs if e.stimulus is not None]
        return max(used) + 1 if used else 0

    def steps(self, dt: float) -> list[int]:
        """Number of Euler steps of each epoch; each duration must be a multiple of ``dt``."""
        out = []
        for e in self.epochs:
            n = e.duration / dt
            if abs(n - round(n)) > 1e-6 * max(1.0, n):
                raise ValueError(
                    f"epoch {e.name or e}: duration {e.duration} ms is not a multiple of dt = {dt} ms"
                )
            out.append(int(round(n)))
        return out

    @classmethod
    def classification(cls, stimulus_ms: float = STIMULUS_MS, noise_std: float = 0.0) -> Protocol:
        """The published inference protocol (Section 3): from the spontaneous steady state,
        show the image for 200 ms (100 steps); the logits at the last step classify it."""
        return cls((Epoch.image(stimulus_ms, 0, noise_std),))

    @classmethod
    def training(
        cls, stimulus_ms: float = STIMULUS_MS, blank_ms: float = SPONTANEOUS_MS
    ) -> Protocol:
        """The eq. 4 training protocol after the spontaneous phase: image for 200 ms (steps
        100–200), then no input for 200 ms (steps 200–300)."""
        return cls((Epoch.image(stimulus_ms, 0), Epoch.blank(blank_ms)))

    @classmethod
    def sequence(
        cls,
        n_images: int,
        image_ms: float = STIMULUS_MS,
        blank_ms: float = 0.0,
        *,
        lead_ms: float = 0.0,
        noise_std: float = 0.0,
    ) -> Protocol:
        """``[blank lead] image 0 [blank] image 1 [blank] …`` (Fig. 3B: image / blank / image
        sequences)."""
        if n_images < 1:
            raise ValueError(f"n_images must be >= 1 (got {n_images})")
        epochs = [Epoch.blank(lead_ms, "spontaneous")] if lead_ms > 0 else []
        for k in range(n_images):
            epochs.append(Epoch.image(image_ms, k, noise_std, name=f"image {k}"))
            if blank_ms > 0:
                epochs.append(Epoch.blank(blank_ms))
        return cls(tuple(epochs))


# ----------------------------------------------------------------------------- trajectory


@dataclass
class VisionTrajectory(Trajectory):
    """A :class:`~cordsneuro.dynamics.Trajectory` of a CordsNet simulation.

    ``rates`` holds one tensor ``(batch, time, C, H, W)`` per recorded area (``areas`` names
    them; ``None`` when no area was recorded); ``outputs`` the logits ``(batch, time, classes)``
    at ``output_steps``; ``times`` (ms) the end of each recorded step; ``steps`` the step
    indices (0-based from the protocol's start) at which ``rates`` were kept (those of the
    outputs when no area is recorded); ``epochs`` the epoch name of each of them.
    """

    areas: tuple[int, ...] = ()
    steps: Tensor | None = None
    output_steps: Tensor | None = None
    epochs: tuple[str, ...] = field(default_factory=tuple)

    def to_xarray(self, areas: Sequence[int] | None = None):
        """Recorded activity as ``xarray.DataArray`` with dims ``("time_bin", "presentation",
        "neuroid")`` (the Brain-Score layout). Neuroids are the units of the chosen areas,
        flattened channel-major, with coordinates ``area`` (numbered from 0, as ``state[i]``
        and ``record_areas``: see :mod:`cordsneuro.models.wiring`), ``channel``, ``row``,
        ``col`` and ``neuroid_id``; time bins are indexed by their end time in ms
        (``time_bin``, so ``da.sel(time_bin=200.0)`` works) and carry ``time_bin_start`` /
        ``time_bin_end`` in ms and the ``epoch`` name; presentations carry
        ``presentation_index``."""
        import numpy as np
        import xarray as xr

        if self.rates is None:
            raise ValueError("no area was recorded: simulate with record_areas=[...]")
        areas = self.areas if areas is None else tuple(areas)
        missing = [a for a in areas if a not in self.areas]
        if missing:
            raise ValueError(f"areas {missing} were not recorded (recorded: {list(self.areas)})")
        blocks, coords = [], {"area": [], "channel": [], "row": [], "col": []}
        for a in areas:
            r = self.rates[self.areas.index(a)].detach().float().cpu()
            b, t, c, h, w = r.shape
            blocks.append(r.permute(1, 0, 2, 3, 4).reshape(t, b, c * h * w).numpy())
            cc, yy, xx = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
            coords["area"].append(np.full(c * h * w, a))
            coords["channel"].append(cc.ravel())
            coords["row"].append(yy.ravel())
            coords["col"].append(xx.ravel())
        data = np.concatenate(blocks, axis=2)
        neuroid = {k: ("neuroid", np.concatenate(v)) for k, v in coords.items()}
        neuroid["neuroid_id"] = (
            "neuroid",
            np.array(
                [
                    f"area{a}.c{c}.y{y}.x{x}"
                    for a, c, y, x in zip(
                        *(neuroid[k][1] for k in ("area", "channel", "row", "col"))
                    )
                ]
            ),
        )
        times = self.times.detach().cpu().numpy()
        return xr.DataArray(
            data,
            dims=("time_bin", "presentation", "neuroid"),
            coords={
                "time_bin": ("time_bin", times),
                "time_bin_start": ("time_bin", times - self.dt_ms),
                "time_bin_end": ("time_bin", times),
                "epoch": ("time_bin", np.array(self.epochs or [""] * len(times))),
                "presentation_index": ("presentation", np.arange(data.shape[1])),
                **neuroid,
            },
            name="rates",
        )

    dt_ms: float = 2.0


def _as_protocol(protocol) -> Protocol:
    if protocol is None:
        return Protocol.classification()
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, Epoch):
        return Protocol((protocol,))
    if isinstance(protocol, (list, tuple)):
        return Protocol(tuple(protocol))
    raise TypeError(
        f"protocol must be a Protocol or a list of Epoch, got {type(protocol).__name__}"
    )
