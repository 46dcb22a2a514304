"""Dynamical regimes of randomly initialised networks (Section 2.1, Fig. 1B, Appendix B.2,
Fig. S1B).

A Gaussian-initialised network with tanh at gain ``g`` settles to a fixed point (stable), a
limit cycle (oscillatory) or an aperiodic, high-dimensional attractor (chaotic). Here:

- :func:`simulate_autonomous`: autonomous activity after a transient, from random states.
- :func:`autocorrelation`: population-averaged activity autocorrelation against lag (ms).
- :func:`largest_lyapunov_exponent`: tangent-space method — a tangent vector is pushed through
  the Jacobian of the noise-free Euler step (a Jacobian-vector product, any model) and
  renormalised every step; the exponent is the mean log growth (per step and per ms).
- :func:`classify_regime`: ``"stable"`` / ``"oscillatory"`` / ``"chaotic"`` with the
  measurements behind the label (:class:`RegimeReport`).
- :func:`gain_sweep`: the same analysis across gains for any model factory (Fig. 1B / S1B).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.autograd.forward_ad as fwad
from torch import Tensor, nn

from cordsneuro.analyses.dimensionality import cumulative_variance_explained, participation_ratio

__all__ = [
    "RegimeReport",
    "simulate_autonomous",
    "autocorrelation",
    "largest_lyapunov_exponent",
    "classify_regime",
    "gain_sweep",
]

REGIMES = ("stable", "oscillatory", "chaotic")


def _check_duration(name: str, value: float, dt: float, minimum_steps: int = 1) -> int:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite duration in ms (got {value!r})")
    steps = int(round(value / dt))
    if steps < minimum_steps or value < 0:
        raise ValueError(
            f"{name} must be at least {minimum_steps} Euler step(s) of dt = {dt} ms "
            f"(got {value!r} ms)"
        )
    return steps


def _random_states(model: nn.Module, n_trials: int, init_std: float, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return (init_std * torch.randn(n_trials, model.n_neurons, generator=g)).to(
        model.device, model.dtype
    )


def simulate_autonomous(
    model: nn.Module,
    *,
    duration: float = 4000.0,
    transient: float = 2000.0,
    n_trials: int = 1,
    init_std: float = 1.0,
    seed: int = 0,
    state: Tensor | None = None,
) -> Tensor:
    """Autonomous (input-free, noise-free unless the model has noise) activity.

    Parameters
    ----------
    model : DynamicalRNN
    duration : float
        Recorded time in ms after the transient.
    transient : float
        Discarded time in ms (>= 0).
    n_trials : int
        Independent random initial states ``N(0, init_std²)`` per neuron.
    state : Tensor, optional
        Flat initial states ``(n_trials, N)`` instead of random ones.

    Returns
    -------
    Tensor
        Flat rates ``(n_trials, time, N)`` sampled every ``dt`` ms.
    """
    n_steps = _check_duration("duration", duration, model.dt, minimum_steps=2)
    n_transient = 0 if transient == 0 else _check_duration("transient", transient, model.dt, 0)
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive int (got {n_trials!r})")
    if not math.isfinite(init_std) or init_std < 0:
        raise ValueError(f"init_std must be finite and >= 0 (got {init_std!r})")
    flat = _random_states(model, n_trials, init_std, seed) if state is None else state
    if flat.ndim != 2 or flat.shape[1] != model.n_neurons:
        raise ValueError(
            f"state must be flat (n_trials, {model.n_neurons}), got {tuple(flat.shape)}"
        )
    with torch.no_grad():
        s = model.unflatten_state(flat)
        if n_transient:
            s = model(state=s, n_steps=n_transient, record=False).final_state
        traj = model(state=s, n_steps=n_steps)
    rates = traj.rates
    if isinstance(rates, tuple):
        return torch.cat([r.reshape(*r.shape[:2], -1) for r in rates], dim=2)
    return rates.reshape(*rates.shape[:2], -1)


def autocorrelation(activity: Tensor, max_lag: int | None = None) -> Tensor:
    """Population-averaged autocorrelation of activity fluctuations (Fig. S1B, right).

    Each neuron's time series is centred; the autocovariances (biased estimator, computed by
    FFT) are summed over neurons and trials and normalised by the lag-0 value, so the result
    starts at 1. A periodic network oscillates, a chaotic one decays to zero quickly.

    Parameters
    ----------
    activity : Tensor
        ``(time, neurons)`` or ``(trials, time, neurons)``.
    max_lag : int, optional
        Largest lag in steps (default: half the duration).

    Returns
    -------
    Tensor
        ``(max_lag + 1,)`` float64; NaN-free (all zeros if the activity is constant).
    """
    if activity.ndim == 2:
        activity = activity[None]
    if activity.ndim != 3 or activity.shape[1] < 2:
        raise ValueError(
            f"activity must be (time >= 2, neurons) or (trials, time, neurons), got {tuple(activity.shape)}"
        )
    n_time = activity.shape[1]
    max_lag = n_time // 2 if max_lag is None else max_lag
    if not isinstance(max_lag, int) or not 0 <= max_lag < n_time:
        raise ValueError(f"max_lag must be an int in [0, {n_time - 1}] (got {max_lag!r})")
    x = activity.double()
    x = x - x.mean(dim=1, keepdim=True)
    spectrum = torch.fft.rfft(x, n=2 * n_time, dim=1)
    acov = torch.fft.irfft(spectrum.abs() ** 2, n=2 * n_time, dim=1)[:, : max_lag + 1]
    total = acov.sum(dim=(0, 2))
    if total[0] <= 0:
        return torch.zeros(max_lag + 1, dtype=torch.float64)
    return total / total[0]


def largest_lyapunov_exponent(
    model: nn.Module,
    *,
    state: Tensor | None = None,
    inputs: Tensor | None = None,
    n_steps: int = 1000,
    n_transient: int = 500,
    n_trials: int = 1,
    init_std: float = 1.0,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Largest Lyapunov exponent by the tangent-space method with renormalisation.

    The state follows the noise-free Euler map ``F(r) = r + dt · dr/dt`` (eq. 9); a tangent
    vector ``v`` follows ``v ← J_F(r) v`` (a Jacobian-vector product, so any model works without
    its dense Jacobian) and is renormalised each step. After ``n_transient`` steps (state and
    tangent both settle) the exponent is the mean of ``log ‖J_F v‖`` over ``n_steps`` steps.
    For a linear network it converges to ``log ρ((1 − α) I + α W)``, the log spectral radius of
    the Euler update matrix.

    Parameters
    ----------
    model : DynamicalRNN
    state : Tensor, optional
        Flat initial states ``(n_trials, N)`` (random ``N(0, init_std²)`` by default).
    inputs : Tensor, optional
        A constant input ``(*input_shape)`` applied at every step.
    n_steps, n_transient : int
        Averaged and discarded steps.

    Returns
    -------
    per_step : Tensor
        ``(n_trials,)`` exponents per Euler step (float64).
    per_ms : Tensor
        The same divided by ``dt`` (1/ms); ``> 0`` means chaos.
    """
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int (got {n_steps!r})")
    if not isinstance(n_transient, int) or n_transient < 0:
        raise ValueError(f"n_transient must be an int >= 0 (got {n_transient!r})")
    x = _random_states(model, n_trials, init_std, seed) if state is None else state
    if x.ndim != 2 or x.shape[1] != model.n_neurons:
        raise ValueError(f"state must be flat (n_trials, {model.n_neurons}), got {tuple(x.shape)}")
    batch = x.shape[0]
    h = None if inputs is None else inputs.reshape(1, *inputs.shape).expand(batch, *inputs.shape)

    def euler(flat: Tensor) -> Tensor:
        return model.step(flat, h, noise=False)

    g = torch.Generator().manual_seed(seed + 1)
    v = torch.randn(x.shape, generator=g).to(x)
    v = v / v.norm(dim=1, keepdim=True)
    total = torch.zeros(batch, dtype=torch.float64, device=x.device)
    with torch.no_grad():
        for t in range(n_transient + n_steps):
            with fwad.dual_level():
                out = fwad.unpack_dual(euler(fwad.make_dual(x, v)))
                x, v = out.primal, out.tangent
            norm = v.norm(dim=1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)
            v = v / norm
            if t >= n_transient:
                total += norm[:, 0].double().log()
            if not bool(torch.isfinite(x).all()):
                raise FloatingPointError(
                    "the state diverged (non-finite) while estimating the exponent"
                )
    per_step = total / n_steps
    return per_step, per_step / model.dt


@dataclass
class RegimeReport:
    """What :func:`classify_regime` measured.

    Attributes
    ----------
    label : {"stable", "oscillatory", "chaotic"}
    lyapunov_per_ms : float
        Largest Lyapunov exponent (1/ms), mean over trials.
    lyapunov_tau : float
        The same in units of the mean time constant (``λ · τ``, dimensionless).
    fluctuation : float
        Temporal standard deviation of the late activity, averaged over neurons and trials.
    participation_ratio : float
        PR of the late activity (eq. 3).
    cumulative_variance : Tensor
        Cumulative variance explained by the principal components of the late activity.
    autocorrelation : Tensor
        Population autocorrelation against lag (steps of ``dt``).
    dt : float
        Sampling step (ms) of ``activity`` and ``autocorrelation``.
    activity : Tensor
        The analysed late activity ``(trials, time, N)``.
    """

    label: str
    lyapunov_per_ms: float
    lyapunov_tau: float
    fluctuation: float
    participation_ratio: float
    cumulative_variance: Tensor
    autocorrelation: Tensor
    dt: float
    activity: Tensor = field(repr=False)

    def __repr__(self) -> str:
        """One line of numbers: the label, the exponent, the fluctuation, the dimensionality
        (PR and the components needed for 90 % of the variance) and the autocorrelation time
        (first lag where it falls below 1/e), not the tensors themselves."""
        cve = self.cumulative_variance
        n90 = int(torch.searchsorted(cve, torch.tensor(0.9, dtype=cve.dtype)).item()) + 1
        below = torch.nonzero(self.autocorrelation < math.exp(-1)).flatten()
        decay = (
            f"{float(below[0]) * self.dt:g} ms"
            if below.numel()
            else f"> {(len(self.autocorrelation) - 1) * self.dt:g} ms"
        )
        return (
            f"RegimeReport(label={self.label!r}, lyapunov_per_ms={self.lyapunov_per_ms:.4g} "
            f"(λτ = {self.lyapunov_tau:.3g}), fluctuation={self.fluctuation:.3g}, "
            f"participation_ratio={self.participation_ratio:.3g}, 90 % variance in "
            f"{min(n90, len(cve))} of {len(cve)} PCs, autocorrelation < 1/e after {decay}, "
            f"activity {tuple(self.activity.shape)} at dt={self.dt:g} ms)"
        )


def classify_regime(
    model: nn.Module,
    *,
    duration: float = 4000.0,
    transient: float = 4000.0,
    n_trials: int = 2,
    init_std: float = 1.0,
    seed: int = 0,
    fluctuation_tol: float = 1e-3,
    lyapunov_threshold: float = 0.01,
    lyapunov_steps: int | None = None,
) -> RegimeReport:
    """Label the autonomous dynamics of a network stable, oscillatory or chaotic (Appendix B.2).

    Rule (each step a parameter):

    1. ``stable`` when the late activity no longer moves (its temporal standard deviation,
       averaged over neurons, is below ``fluctuation_tol``: it sits at a fixed point) or is
       still contracting onto one (``λ · τ < −lyapunov_threshold``).
    2. otherwise ``chaotic`` when the largest Lyapunov exponent in units of τ,
       ``λ · τ``, exceeds ``lyapunov_threshold`` (nearby trajectories diverge), else
       ``oscillatory`` (a limit cycle or quasi-periodic orbit: ``λ ≈ 0``).

    Parameters
    ----------
    model : DynamicalRNN
        Any model; its own ``dt`` and τ are used (cognitive defaults: τ = 100 ms, dt = 20 ms).
    duration, transient : float
        Analysed and discarded time in ms.
    n_trials : int
        Random initial states (the label is decided on their averages).
    lyapunov_steps : int, optional
        Euler steps averaged for the exponent (default: those in ``duration``).
    """
    for name, value in (
        ("fluctuation_tol", fluctuation_tol),
        ("lyapunov_threshold", lyapunov_threshold),
    ):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be finite and > 0 (got {value!r})")
    start = _random_states(model, n_trials, init_std, seed)
    activity = simulate_autonomous(model, duration=duration, transient=transient, state=start)
    fluctuation = float(activity.double().std(dim=1).mean())
    tau = model.tau
    tau_mean = (
        float(torch.stack([t.float().mean() for t in tau]).mean())
        if isinstance(tau, tuple)
        else float(tau.float().mean())
    )
    n_steps = lyapunov_steps if lyapunov_steps is not None else int(round(duration / model.dt))
    _, per_ms = largest_lyapunov_exponent(
        model, state=start, n_steps=n_steps, n_transient=int(round(transient / model.dt)), seed=seed
    )
    lyap = float(per_ms.mean())
    flat = activity.reshape(-1, activity.shape[-1])
    if fluctuation < fluctuation_tol or lyap * tau_mean < -lyapunov_threshold:
        label = "stable"
    elif lyap * tau_mean > lyapunov_threshold:
        label = "chaotic"
    else:
        label = "oscillatory"
    return RegimeReport(
        label=label,
        lyapunov_per_ms=lyap,
        lyapunov_tau=lyap * tau_mean,
        fluctuation=fluctuation,
        participation_ratio=participation_ratio(flat),
        cumulative_variance=cumulative_variance_explained(flat),
        autocorrelation=autocorrelation(activity),
        dt=model.dt,
        activity=activity,
    )


def gain_sweep(
    factory: Callable[[float], nn.Module],
    gains: Sequence[float],
    *,
    progress: bool = True,
    **classify_kwargs,
) -> list[RegimeReport]:
    """Classify the regime of ``factory(g)`` for each gain (Fig. 1B / S1B).

    Parameters
    ----------
    factory : callable
        ``g ↦ model``, e.g. ``lambda g: FullRNN(512, 1, 1, gain=g, seed=0)``.
    gains : sequence of float
        Finite, non-negative gains.
    **classify_kwargs
        Passed to :func:`classify_regime`.
    """
    gains = list(gains)
    if not gains:
        raise ValueError("gains must not be empty")
    for g in gains:
        if not isinstance(g, (int, float)) or not math.isfinite(g) or g < 0:
            raise ValueError(f"gains must be finite and >= 0 (got {g!r})")
    from tqdm.auto import tqdm

    return [
        classify_regime(factory(float(g)), **classify_kwargs)
        for g in tqdm(gains, desc="gain sweep", disable=not progress)
    ]
