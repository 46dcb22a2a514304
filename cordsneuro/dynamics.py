"""The one dynamical-RNN core every model of the library shares.

Every model is a continuous-time rate network (paper eq. 2 / eq. 3)::

    T dr/dt = -r + σ(drive(r, h)),      drive = W_rec r + b + W_inp h (+ noise)

integrated by the forward Euler method (paper eq. 9)::

    r_{t+1} = (1 - α) r_t + α σ(drive(r_t, h_t)),      α = dt / τ.

Architectures differ only in how ``drive`` is computed, so a subclass of :class:`DynamicalRNN`
supplies :meth:`DynamicalRNN.drive` (and its parameters); this module owns time, integration,
activations, noise, recording, the vector field and state flattening. Time is in milliseconds.

A state is one tensor ``(batch, *shape)`` or, for multi-area models, a tuple of such tensors
(one per area). :meth:`DynamicalRNN.flatten_state` / :meth:`DynamicalRNN.unflatten_state` turn
either into a single ``(batch, N)`` vector for analyses.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Union, runtime_checkable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cordsneuro._atomic import atomic_path
from cordsneuro._util import jsonable

State = Union[Tensor, tuple[Tensor, ...]]  # noqa: UP007  (a runtime alias)

ACTIVATIONS = ("relu", "tanh", "softplus", "identity", "prelu")

#: Registry of saveable model classes, filled by :func:`register_model`.
MODEL_REGISTRY: dict[str, type[DynamicalRNN]] = {}


# ----------------------------------------------------------------------------- validation


def check_positive(name: str, value: float | Tensor) -> None:
    """Raise ``ValueError`` unless every element of ``value`` is finite and > 0."""
    t = torch.as_tensor(value, dtype=torch.float64)
    if not bool(torch.isfinite(t).all()) or not bool((t > 0).all()):
        raise ValueError(f"{name} must be finite and > 0 (got {_short(value)})")


def check_finite(name: str, value: Tensor) -> None:
    """Raise ``ValueError`` if ``value`` holds NaN or Inf."""
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must be finite: it contains NaN or Inf")


def _short(value: Any) -> str:
    if isinstance(value, Tensor) and value.numel() > 4:
        return f"tensor of shape {tuple(value.shape)}, min {value.min().item():.3g}"
    return repr(value.tolist() if isinstance(value, Tensor) else value)


# ----------------------------------------------------------------------------- activations


def activate(x: Tensor, activation: str, slope: float | Tensor = 0.0) -> Tensor:
    """Apply σ by name. ``prelu`` is ``max(0, x) + slope · min(0, x)`` (paper Section 3):
    the slope ``a`` is annealed from 1 (linear) to 0 (ReLU) in the training pipeline
    (Appendix C.2, Table S4)."""
    if activation == "relu":
        return F.relu(x)
    if activation == "tanh":
        return torch.tanh(x)
    if activation == "softplus":
        return F.softplus(x)
    if activation == "identity":
        return x
    if activation == "prelu":
        return torch.where(x >= 0, x, slope * x)
    raise ValueError(f"activation must be one of {ACTIVATIONS} (got {activation!r})")


def activation_derivative(x: Tensor, activation: str, slope: float | Tensor = 0.0) -> Tensor:
    """σ'(x), used by analytic Jacobians."""
    if activation == "relu":
        return (x > 0).to(x.dtype)
    if activation == "tanh":
        return 1 - torch.tanh(x) ** 2
    if activation == "softplus":
        return torch.sigmoid(x)
    if activation == "identity":
        return torch.ones_like(x)
    if activation == "prelu":
        return torch.where(x >= 0, torch.ones_like(x), torch.full_like(x, float(slope)))
    raise ValueError(f"activation must be one of {ACTIVATIONS} (got {activation!r})")


# ----------------------------------------------------------------------------- state helpers


def map_state(fn: Callable[..., Tensor], *states: State) -> State:
    """Apply ``fn`` area-wise to one or several states of the same structure."""
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states))
    return fn(*states)


def state_batch_size(state: State) -> int:
    return (state[0] if isinstance(state, tuple) else state).shape[0]


def per_step_generators(
    generator: torch.Generator | None, device: torch.device
) -> Callable[[int], torch.Generator]:
    """One random generator per time step, all derived from one draw of ``generator``.

    Step ``t`` draws its noise from a generator seeded ``base + t``, so the noise of a step does
    not depend on what was drawn before it: gradient checkpointing over time recomputes a
    segment with exactly the noise of the forward pass, and the same ``generator`` state gives
    the same noise whatever the segment length. ``generator=None`` takes ``base`` from torch's
    default generator.
    """
    base = int(torch.randint(0, 2**62, (1,), generator=generator).item())

    def at(t: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(base + t)

    return at


# ----------------------------------------------------------------------------- trajectory


@dataclass
class Trajectory:
    """What a simulation returns.

    Attributes
    ----------
    rates : Tensor or tuple of Tensor or None
        ``(batch, time, *state_shape)`` (one tensor per area for multi-area models); ``None``
        when recording was switched off. ``rates[:, t]`` is the state at ``times[t]``.
    outputs : Tensor or None
        ``(batch, time, n_outputs)`` readout at every recorded step.
    times : Tensor
        ``(time,)`` in ms: the time at the end of each Euler step, ``dt, 2 dt, …``.
    final_state : Tensor or tuple of Tensor
        The state after the last step, ``(batch, *state_shape)``; feed it back as ``state=`` to
        continue a simulation exactly.
    """

    rates: State | None
    outputs: Tensor | None
    times: Tensor
    final_state: State

    @property
    def dt(self) -> float:
        return float(self.times[1] - self.times[0]) if len(self.times) > 1 else float(self.times[0])

    def _map(self, fn: Callable[[Tensor], Any]) -> Trajectory:
        def apply(value: Any) -> Any:
            if isinstance(value, Tensor):
                return fn(value)
            if isinstance(value, tuple) and value and all(isinstance(v, Tensor) for v in value):
                return tuple(fn(v) for v in value)
            return value

        return dataclasses.replace(
            self, **{f.name: apply(getattr(self, f.name)) for f in dataclasses.fields(self)}
        )

    def detach(self) -> Trajectory:
        """The same trajectory with every tensor detached from the autograd graph."""
        return self._map(lambda t: t.detach())

    def numpy(self) -> Trajectory:
        """The same trajectory with every tensor a NumPy array (detached, on the CPU), ready for
        matplotlib: ``plt.plot(traj.times, traj.rates[0])``."""
        return self._map(lambda t: t.detach().cpu().numpy())


# ----------------------------------------------------------------------------- registry


def register_model(cls: type[DynamicalRNN]) -> type[DynamicalRNN]:
    """Class decorator: make ``cls`` saveable / loadable and record its constructor arguments.

    The arguments of the outermost constructor call are bound to the signature and stored
    (JSON-ready) in ``model.config`` so that :func:`load` can rebuild the model.
    """
    original_init = cls.__init__
    signature = inspect.signature(original_init)

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        args = tuple(_python_scalar(a) for a in args)
        kwargs = {k: _python_scalar(v) for k, v in kwargs.items()}
        outermost = "_config_owner" not in self.__dict__
        if outermost:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self")
            extra = arguments.pop("kwargs", {}) if "kwargs" in signature.parameters else {}
            arguments.update(extra)
            object.__setattr__(self, "_config_owner", cls)
            object.__setattr__(self, "config", {k: jsonable(v) for k, v in arguments.items()})
        original_init(self, *args, **kwargs)

    cls.__init__ = __init__
    MODEL_REGISTRY[cls.__name__] = cls
    return cls


def _python_scalar(value: Any) -> Any:
    """NumPy and 0-d torch scalars (sizes from a gymnasium env's spaces, ``np.int64``) → Python
    ``bool`` / ``int`` / ``float``, also inside tuples and lists; anything else unchanged."""
    if isinstance(value, (tuple, list)):
        return type(value)(_python_scalar(v) for v in value)
    if type(value).__module__ == "numpy" and hasattr(value, "item") and value.ndim == 0:
        return value.item()
    if isinstance(value, Tensor) and value.ndim == 0 and not value.requires_grad:
        return value.item()
    return value


# ----------------------------------------------------------------------------- the interface


@runtime_checkable
class AnalysableModel(Protocol):
    """What the analyses (:mod:`cordsneuro.analyses`) use of a model: every
    :class:`DynamicalRNN` provides it, so a user's own subclass works with every analysis.

    States are structured (a ``(batch, *shape)`` tensor, or a tuple of them, one per area) or
    flat ``(batch, N)``; :meth:`step` and :meth:`velocity` accept both and answer in kind.
    Times are in ms.
    """

    dt: float
    state_shapes: tuple[tuple[int, ...], ...]

    @property
    def n_neurons(self) -> int: ...

    @property
    def tau(self) -> State: ...

    @property
    def alpha(self) -> State: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def dtype(self) -> torch.dtype: ...

    def initial_state(self, batch_size: int) -> State: ...

    def flatten_state(self, state: State) -> Tensor: ...

    def unflatten_state(self, flat: Tensor) -> State: ...

    def drive(self, state: State, inputs: Tensor | None) -> State: ...

    def readout(self, state: State) -> Tensor: ...

    def velocity(self, state: State, inputs: Tensor | None = None) -> State: ...

    def step(
        self,
        state: State,
        inputs: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        noise: bool = True,
    ) -> State: ...

    def __call__(self, inputs: Tensor | None = None, **kwargs: Any) -> Trajectory: ...


# ----------------------------------------------------------------------------- the core


class DynamicalRNN(nn.Module):
    """Base class: a continuous-time rate network integrated by Euler (paper eq. 2, 3, 9).

    Subclasses set ``self.state_shapes`` (one shape per area; a single-area model has one) and
    implement :meth:`drive` and :meth:`readout`; everything else is shared.

    Parameters
    ----------
    tau : float or Tensor or sequence
        Neuron time constant(s) in ms (the diagonal of ``T`` in eq. 2). A scalar, one value per
        neuron (a tensor of the state shape, or flat of length N), or for multi-area models a
        tuple with one such entry per area.
    dt : float
        Euler step in ms. ``α = dt / τ`` must lie in (0, 1]: larger steps overshoot the leak.
    activation : str
        ``relu``, ``tanh``, ``softplus``, ``identity`` or ``prelu``.
    prelu_slope : float
        Slope ``a`` of ``prelu`` for negative drive (Section 3: annealed from 1 to 0).
    noise_std : float
        Standard deviation σ of private Gaussian noise added to the drive. The noise added at
        each Euler step is ``σ · sqrt(2 / α) · ξ``, ``ξ ~ N(0, 1)`` i.i.d. per neuron and step,
        the discretisation of a continuous-time white-noise term of intensity σ² (Song, Yang &
        Wang 2016). For a leaky unit without recurrence (identity σ, no input) the stationary
        variance of its rate is ``2σ² / (2 − α)``: σ² in the continuous-time limit (dt → 0),
        slightly more at a finite step (α = 0.2: 1.11 σ²). Noise is drawn only when
        ``noise_std > 0``; pass ``generator=`` to :meth:`forward` for reproducible noise.

    Attributes
    ----------
    meta : dict
        JSON-serialisable metadata kept with the model (default ``{}``), saved by :meth:`save`
        into ``config.json`` under ``"meta"`` and restored by :func:`load`. Vision models
        store ``{"preprocessing": {"mean": [...], "std": [...], "image_size": [H, W]},
        "classes": [...], "dataset": ..., "stage": ...}`` there.

    Notes
    -----
    What analyses use (the interface of :class:`AnalysableModel`): ``dt``, ``tau``, ``alpha``,
    ``n_neurons``, ``state_shapes``, ``device``, ``dtype``, :meth:`initial_state`,
    :meth:`flatten_state`, :meth:`unflatten_state`, :meth:`velocity` and :meth:`step` (on flat
    or structured states), :meth:`drive`, :meth:`readout` and calling the model
    (:meth:`forward`). A subclass that supplies :meth:`drive` and :meth:`readout` therefore
    works with every analysis.
    """

    state_shapes: tuple[tuple[int, ...], ...]

    def __init__(
        self,
        *,
        tau: float | Tensor | Sequence = 10.0,
        dt: float = 2.0,
        activation: str = "relu",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS} (got {activation!r})")
        check_positive("dt", dt)
        if not math.isfinite(noise_std) or noise_std < 0:
            raise ValueError(f"noise_std must be finite and >= 0 (got {noise_std!r})")
        self.activation = activation
        self.prelu_slope = float(prelu_slope)
        self.noise_std = float(noise_std)
        self.dt = float(dt)
        self._tau_spec = tau
        self.meta: dict[str, Any] = {}

    # -- set-up helpers for subclasses ------------------------------------------------------

    def _init_time_constants(self) -> None:
        """Turn the ``tau`` argument into buffers ``tau_<i>`` of each area's shape; call once
        ``state_shapes`` is known."""
        tau = self._tau_spec
        del self._tau_spec
        per_area = (
            tau if isinstance(tau, (tuple, list)) and self.n_areas > 1 else [tau] * self.n_areas
        )
        if len(per_area) != self.n_areas:
            raise ValueError(
                f"tau must give one entry per area ({self.n_areas}), got {len(per_area)}"
            )
        for i, (shape, t) in enumerate(zip(self.state_shapes, per_area)):
            t = torch.as_tensor(t, dtype=torch.float32)
            n = math.prod(shape)
            if t.numel() == 1:
                t = t.reshape(())
            elif t.numel() == n:
                t = t.reshape(shape)
            else:
                raise ValueError(
                    f"tau must be a scalar or one value per neuron ({n} = {shape}) "
                    f"for area {i}, got {t.numel()} values"
                )
            check_positive("tau", t)
            alpha = self.dt / t
            if bool((alpha > 1).any()):
                raise ValueError(
                    f"dt / tau must be <= 1 (Euler overshoots the leak); got dt={self.dt} ms "
                    f"and min tau={t.min().item()} ms"
                )
            self.register_buffer(f"tau_{i}", t, persistent=False)

    # -- shapes ----------------------------------------------------------------------------

    @property
    def n_areas(self) -> int:
        return len(self.state_shapes)

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of one area's state (single-area models)."""
        if self.n_areas != 1:
            raise AttributeError("multi-area model: use state_shapes")
        return self.state_shapes[0]

    @property
    def n_neurons(self) -> int:
        return sum(math.prod(s) for s in self.state_shapes)

    @property
    def tau(self) -> State:
        taus = tuple(getattr(self, f"tau_{i}") for i in range(self.n_areas))
        return taus if self.n_areas > 1 else taus[0]

    @property
    def alpha(self) -> State:
        """α = dt / τ per area (eq. 9)."""
        return map_state(lambda t: self.dt / t, self.tau)

    @property
    def device(self) -> torch.device:
        """Device of the parameters (CPU for a model without parameters)."""
        p = next(self.parameters(), None)
        return torch.device("cpu") if p is None else p.device

    @property
    def dtype(self) -> torch.dtype:
        """Floating-point dtype of the parameters (float32 for a model without parameters)."""
        p = next(self.parameters(), None)
        return torch.float32 if p is None else p.dtype

    def initial_state(self, batch_size: int) -> State:
        """The zero state ``(batch, *shape)`` per area."""
        zeros = tuple(
            torch.zeros(batch_size, *s, device=self.device, dtype=self.dtype)
            for s in self.state_shapes
        )
        return zeros if self.n_areas > 1 else zeros[0]

    def flatten_state(self, state: State) -> Tensor:
        """``(batch, *shapes)`` per area → ``(batch, N)``."""
        parts = state if isinstance(state, tuple) else (state,)
        return torch.cat([p.reshape(p.shape[0], -1) for p in parts], dim=1)

    def unflatten_state(self, flat: Tensor) -> State:
        """``(batch, N)`` → the model's state structure."""
        if flat.ndim != 2 or flat.shape[1] != self.n_neurons:
            raise ValueError(
                f"flat state must have shape (batch, {self.n_neurons}), got {tuple(flat.shape)}"
            )
        sizes = [math.prod(s) for s in self.state_shapes]
        parts = tuple(
            p.reshape(flat.shape[0], *s)
            for p, s in zip(torch.split(flat, sizes, dim=1), self.state_shapes)
        )
        return parts if self.n_areas > 1 else parts[0]

    def is_flat(self, state: State) -> bool:
        """Whether ``state`` is a flat ``(batch, N)`` tensor rather than the model's own
        structure (a tuple per area, or one ``(batch, *state_shape)`` tensor). For a model whose
        state is one vector area the two coincide (returns ``False``)."""
        if not isinstance(state, Tensor) or state.ndim != 2 or state.shape[1] != self.n_neurons:
            return False
        return self.n_areas > 1 or tuple(self.state_shapes[0]) != (self.n_neurons,)

    def check_state(self, state: State, name: str = "state") -> None:
        parts = state if isinstance(state, tuple) else (state,)
        if len(parts) != self.n_areas:
            raise ValueError(f"{name} must have {self.n_areas} area(s), got {len(parts)}")
        for p, s in zip(parts, self.state_shapes):
            if tuple(p.shape[1:]) != tuple(s):
                raise ValueError(
                    f"{name} must have shape (batch, {', '.join(map(str, s))}), got {tuple(p.shape)}"
                )
            check_finite(name, p)

    # -- what a subclass supplies ----------------------------------------------------------

    def drive(self, state: State, inputs: Tensor | None) -> State:
        """The argument of σ: ``W_rec r + b + W_inp h`` for one time step.

        ``inputs`` is one step's input ``(batch, *input_shape)`` or ``None`` (no input)."""
        raise NotImplementedError

    def readout(self, state: State) -> Tensor:
        """Linear readout of a state: ``(batch, n_outputs)``."""
        raise NotImplementedError

    def check_inputs(self, inputs: Tensor) -> None:
        """Validate a ``(batch, time, *input_shape)`` input tensor (subclasses extend)."""
        if not isinstance(inputs, Tensor):
            raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
        check_finite("inputs", inputs)

    # -- the dynamics ----------------------------------------------------------------------

    def sigma(self, x: Tensor) -> Tensor:
        return activate(x, self.activation, self.prelu_slope)

    def velocity(self, state: State, inputs: Tensor | None = None) -> State:
        """dr/dt = (−r + σ(drive)) / τ, per ms (eq. 2), without noise.

        ``state`` is structured (``(batch, *state_shape)``, a tuple per area) or flat
        ``(batch, N)`` (see :meth:`is_flat`); the velocity comes back in the same form."""
        flat = self.is_flat(state)
        r = self.unflatten_state(state) if flat else state
        v = map_state(lambda r, d, t: (self.sigma(d) - r) / t, r, self.drive(r, inputs), self.tau)
        return self.flatten_state(v) if flat else v

    def update(
        self,
        state: State,
        drive: State,
        *,
        alpha: State | None = None,
        generator: torch.Generator | None = None,
        noise: bool = True,
        out: State | None = None,
    ) -> State:
        """The Euler update given the drive: ``r ← r + α (σ(drive + noise) − r)`` (eq. 9).

        The one place the update is written: :meth:`step` and every fast simulation path call
        it. ``alpha`` defaults to :attr:`alpha` (a path that calls this many times may pass it
        once computed); ``noise=False`` leaves out the private noise; ``out``: tensors of the
        state's structure that receive the new state (and are returned)."""
        alpha = self.alpha if alpha is None else alpha
        if noise and self.noise_std > 0:
            drive = map_state(lambda d, a: d + self._noise_like(d, a, generator), drive, alpha)
        # lerp: r + α (σ − r) in one pass over the state
        if out is None:
            return map_state(lambda r, d, a: torch.lerp(r, self.sigma(d), a), state, drive, alpha)
        return map_state(
            lambda r, d, a, o: torch.lerp(r, self.sigma(d), a, out=o), state, drive, alpha, out
        )

    def step(
        self,
        state: State,
        inputs: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        noise: bool = True,
    ) -> State:
        """One Euler step of ``dt`` ms: ``r ← (1 − α) r + α σ(drive + noise)`` (eq. 9).

        ``state`` is structured or flat ``(batch, N)`` (see :meth:`is_flat`) and the new state
        comes back in the same form. ``inputs`` is one step's input ``(batch, *input_shape)``
        or ``None``; ``noise=False`` gives the deterministic map (used by analyses)."""
        flat = self.is_flat(state)
        r = self.unflatten_state(state) if flat else state
        new = self.update(r, self.drive(r, inputs), generator=generator, noise=noise)
        return self.flatten_state(new) if flat else new

    def _noise_like(self, d: Tensor, alpha: Tensor, generator: torch.Generator | None) -> Tensor:
        xi = torch.randn(d.shape, generator=generator, device=d.device, dtype=d.dtype)
        return self.noise_std * torch.sqrt(2.0 / alpha) * xi

    def forward(
        self,
        inputs: Tensor | None = None,
        *,
        state: State | None = None,
        n_steps: int | None = None,
        batch_size: int | None = None,
        record: bool = True,
        checkpoint_segment: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Trajectory:
        """Simulate the network.

        Parameters
        ----------
        inputs : Tensor, optional
            ``(batch, time, *input_shape)``; one Euler step per time index. ``None`` simulates
            the autonomous network for ``n_steps`` steps.
        state : Tensor or tuple, optional
            Initial state ``(batch, *state_shape)``; zero when omitted.
        n_steps, batch_size : int, optional
            For autonomous runs (``inputs=None``).
        record : bool
            Keep rates and outputs at every step (else only ``final_state``).
        checkpoint_segment : int, optional
            Gradient checkpointing over time: keep activations only every this many steps and
            recompute the rest in the backward pass (memory ∝ T / segment + segment).
        generator : torch.Generator, optional
            Source of the private noise.

        Notes
        -----
        Inputs of another floating-point dtype (e.g. float64 arrays converted with
        ``torch.from_numpy``) are cast to the model's dtype (:attr:`dtype`); NumPy arrays are
        accepted and converted.
        """
        inputs, state, n_time = self.prepare_run(inputs, state, n_steps, batch_size)
        if checkpoint_segment is not None and checkpoint_segment < 1:
            raise ValueError(f"checkpoint_segment must be >= 1 (got {checkpoint_segment})")

        device = (state[0] if isinstance(state, tuple) else state).device
        noise_at = per_step_generators(generator, device) if self.noise_std > 0 else None

        def step_fn(state: State, t: int) -> State:
            return self.step(
                state,
                None if inputs is None else inputs[:, t],
                generator=None if noise_at is None else noise_at(t),
            )

        state, recorded = self.integrate(
            step_fn,
            state,
            n_time,
            record_fn=(lambda s, t: s) if record else None,
            checkpoint_segment=checkpoint_segment,
        )

        times = self.dt * torch.arange(1, n_time + 1, device=device, dtype=torch.float32)
        if not record:
            return Trajectory(rates=None, outputs=None, times=times, final_state=state)
        rates = map_state(lambda *steps: torch.stack(steps, dim=1), *recorded)
        outputs = (
            torch.stack([self.readout(s) for s in recorded], dim=1) if self.has_readout else None
        )
        return Trajectory(rates=rates, outputs=outputs, times=times, final_state=state)

    def prepare_run(
        self,
        inputs: Tensor | None,
        state: State | None,
        n_steps: int | None,
        batch_size: int | None,
    ) -> tuple[Tensor | None, State, int]:
        """Validate the arguments of a simulation (see :meth:`forward`).

        Returns the inputs (a tensor in the model's dtype, or ``None``), the initial state
        (zeros when ``state`` is ``None``) and the number of steps. Every simulation path of
        every subclass starts here."""
        if inputs is not None:
            if type(inputs).__module__ == "numpy":
                inputs = torch.as_tensor(inputs)
            self.check_inputs(inputs)
            if inputs.is_floating_point() and inputs.dtype != self.dtype:
                inputs = inputs.to(self.dtype)
            batch, n_time = inputs.shape[0], inputs.shape[1]
            if n_steps is not None and n_steps != n_time:
                raise ValueError(
                    f"n_steps ({n_steps}) must equal the inputs' time length ({n_time})"
                )
        else:
            if n_steps is None or isinstance(n_steps, bool) or int(n_steps) != n_steps:
                raise ValueError(
                    f"n_steps must be a positive int when inputs is None (got {n_steps!r})"
                )
            n_time = int(n_steps)
            if n_time < 1:
                raise ValueError(
                    f"n_steps must be a positive int when inputs is None (got {n_steps!r})"
                )
            batch = (
                int(batch_size)
                if batch_size is not None
                else (state_batch_size(state) if state is not None else 1)
            )
        if state is None:
            state = self.initial_state(batch)
        else:
            self.check_state(state)
            if state_batch_size(state) != batch:
                raise ValueError(
                    f"state has batch size {state_batch_size(state)}, inputs have {batch}"
                )
        return inputs, state, n_time

    def integrate(
        self,
        step_fn: Callable[[State, int], State],
        state: State,
        n_steps: int,
        *,
        record_fn: Callable[[State, int], Any] | None = None,
        checkpoint_segment: int | None = None,
    ) -> tuple[State, list[Any]]:
        """The time loop shared by every simulation path: ``state = step_fn(state, t)`` for
        ``t = 0 … n_steps - 1``, keeping ``record_fn(state, t)`` after each step.

        With ``checkpoint_segment`` and gradients enabled the loop runs in segments of that
        many steps under :func:`torch.utils.checkpoint.checkpoint` (non-reentrant): only the
        state at segment boundaries (and what ``record_fn`` returns) is kept for the backward
        pass, the rest is recomputed (memory ∝ T / segment + segment instead of ∝ T). The last
        segment is not checkpointed: its backward pass follows at once, so recomputing it would
        keep as much memory and cost one more forward pass over it.
        ``step_fn`` must therefore be deterministic given ``(state, t)``: draw noise from
        :func:`per_step_generators` (as :meth:`forward` does), not from one running generator.
        """
        if checkpoint_segment is not None and checkpoint_segment < 1:
            raise ValueError(f"checkpoint_segment must be >= 1 (got {checkpoint_segment})")

        def run(state: State, start: int, stop: int) -> tuple[State, list[Any]]:
            kept = []
            for t in range(start, stop):
                state = step_fn(state, t)
                if record_fn is not None:
                    kept.append(record_fn(state, t))
            return state, kept

        recorded: list[Any] = []
        use_checkpoint = checkpoint_segment is not None and torch.is_grad_enabled()
        segment = checkpoint_segment if use_checkpoint else max(n_steps, 1)
        for start in range(0, n_steps, segment):
            stop = min(start + segment, n_steps)
            if use_checkpoint and stop < n_steps:
                state, seg = torch.utils.checkpoint.checkpoint(
                    run, state, start, stop, use_reentrant=False
                )
            else:
                state, seg = run(state, start, stop)
            recorded.extend(seg)
        return state, recorded

    @property
    def has_readout(self) -> bool:
        return True

    # -- saving ----------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> Path:
        """Save as a directory: ``config.json`` (class, constructor arguments, library version)
        and ``weights.safetensors``. Written to a temporary directory and renamed, so a crash
        never leaves a half-written model."""
        from safetensors.torch import save_file

        from cordsneuro import __version__

        directory = Path(directory)
        try:
            meta = json.loads(json.dumps(self.meta))
        except (TypeError, ValueError) as err:
            raise TypeError(f"model.meta must be JSON-serialisable ({err})") from err
        config = {
            "class": type(self).__name__,
            "module": type(self).__module__,
            "arguments": self.config,
            "dtype": str(self.dtype).removeprefix("torch."),
            "meta": meta,
            "cordsneuro_version": __version__,
        }
        with atomic_path(directory) as tmp:
            tmp.mkdir()
            tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
            save_file(tensors, str(tmp / "weights.safetensors"))
            (tmp / "config.json").write_text(json.dumps(config, indent=2))
        return directory


#: Modules of the library that define saveable models, imported by name when :func:`load`
#: meets a class that is not registered yet (so this module imports no subclass).
MODEL_MODULES = (
    "cordsneuro.models.recurrent",
    "cordsneuro.models.cordsnet",
    "cordsneuro.models.multiarea",
)


def model_class(name: str, module: str | None = None) -> type[DynamicalRNN]:
    """The registered model class ``name`` (see :func:`register_model`).

    A class not registered yet is looked for by importing ``module`` (the module recorded in a
    saved ``config.json``) when it is part of the library or already imported, then the
    library's :data:`MODEL_MODULES`. A user's own subclass is found once the module defining it
    has been imported (``import my_models`` before ``cordsneuro.load``)."""
    import importlib
    import sys

    if name in MODEL_REGISTRY:
        return MODEL_REGISTRY[name]
    candidates = (
        [module] if module and (module.startswith("cordsneuro.") or module in sys.modules) else []
    )
    for mod in [*candidates, *MODEL_MODULES]:
        if name in MODEL_REGISTRY:
            break
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:  # a module that exists but fails to import: say so
                raise
    if name not in MODEL_REGISTRY:
        hint = f" (defined in {module!r}: import it first)" if module else ""
        raise ValueError(
            f"config.json names class {name!r}{hint}; known classes: {sorted(MODEL_REGISTRY)}"
        )
    return MODEL_REGISTRY[name]


def load(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> DynamicalRNN:
    """Rebuild any saved model from its directory (see :meth:`DynamicalRNN.save`), with its
    ``meta``."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / "config.json", directory / "weights.safetensors"
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: a saved model directory holds config.json and weights.safetensors"
            )
    config = json.loads(config_path.read_text())
    name = config.get("class")
    model = model_class(name, config.get("module"))(**config["arguments"])
    model.meta = dict(config.get("meta") or {})
    tensors = load_file(str(weights_path), device=str(map_location))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"weights.safetensors does not match {name}: missing {missing}, unexpected {unexpected}"
        )
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise ValueError(
                f"weights.safetensors: {key} has shape {tuple(value.shape)}, "
                f"{name} expects {tuple(expected[key].shape)}"
            )
    dtype = getattr(torch, config.get("dtype", "float32"))
    model.to(dtype).load_state_dict(tensors)
    return model.to(map_location)
