"""Single-area dynamical RNNs compared in the paper (Section 2.1, Appendix B.3, Table S1).

All four share :class:`SingleAreaRNN`: vector inputs projected by a dense ``W_inp``, a bias per
neuron, a linear readout of the rates, and the dynamics of :class:`~cordsneuro.dynamics.DynamicalRNN`.
They differ only in the recurrent weight ``W_rec``:

========================  ==========================================  =====================
class                     ``W_rec``                                   recurrent parameters
========================  ==========================================  =====================
:class:`FullRNN`          dense N × N, ``N(0, g²/N)``                 N²
:class:`LowRankRNN`       ``P Q``, P: N × R, Q: R × N                 2 R N
:class:`SparseRNN`        ``W ⊙ M``, fixed random mask M              nnz(M)
:class:`ConvRNN`          2-D convolution on a C × H × W grid         C² k²
========================  ==========================================  =====================
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cordsneuro.dynamics import DynamicalRNN, State, Trajectory, per_step_generators, register_model

__all__ = [
    "SingleAreaRNN",
    "FullRNN",
    "LowRankRNN",
    "SparseRNN",
    "ConvRNN",
    "TABLE_S1",
    "table_s1",
    "recurrent_parameter_count",
]


#: Largest ConvRNN whose convolution :meth:`SingleAreaRNN.run_trials` expands to a dense matrix
#: for the fused trial loop; larger ones keep the convolution step by step (where the dense
#: product would cost more than the convolution).
DENSE_SCAN_MAX_NEURONS = 512


def _generator(seed: int | None) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))
    return g


def _check_count(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} (got {value!r})")


def _connectivity(name: str, value: Tensor | np.ndarray | list | None, shape: tuple[int, int]):
    """A connectivity mask as a float tensor of ``shape`` (entries multiply the weights), or
    ``None``."""
    if value is None:
        return None
    mask = torch.as_tensor(np.asarray(value, dtype=np.float32) if not isinstance(value, Tensor)
                           else value.detach().float())  # fmt: skip
    if tuple(mask.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(mask.shape)}")
    if not bool(torch.isfinite(mask).all()) or bool((mask < 0).any()):
        raise ValueError(f"{name} must hold finite values >= 0 (1 = connection, 0 = none)")
    return mask


class SingleAreaRNN(DynamicalRNN):
    """One recurrent area with vector inputs and a linear readout.

    ``drive = W_rec r + b + W_inp h``. The input weights are ``N(0, 1/input_size)``, the bias
    starts at zero and the readout is ``N(0, 1/N)``; a subclass creates ``W_rec`` and defines
    :meth:`recurrent`.

    Parameters
    ----------
    n_neurons : int
        Number of recurrent units N.
    input_size, output_size : int
        Widths of the input ``h`` and of the readout. NumPy / torch integers (e.g.
        ``env.observation_space.shape[0]``) are accepted and stored as Python ints.
    gain : float
        Gain ``g`` of the random recurrent initialisation (the spectral radius of ``W_rec`` is
        about ``g`` for every architecture, so regimes appear at the same gains, Fig. 1B).
    seed : int, optional
        Seed of the initialisation (same seed, same weights).
    tau, dt, activation, prelu_slope, noise_std
        The dynamics of :class:`~cordsneuro.dynamics.DynamicalRNN`. Cognitive-task defaults:
        τ = 100 ms, dt = 20 ms, tanh.
    input_connectivity : array (N, input_size), optional
        Mask multiplying ``W_inp`` (PsychRNN's ``input_connectivity``): 0 removes a connection,
        which then stays absent through training.
    output_connectivity : array (output_size, N), optional
        Mask multiplying the readout ``W_out`` (PsychRNN's ``output_connectivity``).
    """

    def __init__(
        self,
        n_neurons: int,
        input_size: int,
        output_size: int,
        *,
        gain: float = 1.0,
        seed: int | None = None,
        tau: float | Tensor = 100.0,
        dt: float = 20.0,
        activation: str = "tanh",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
        input_connectivity: Tensor | np.ndarray | None = None,
        output_connectivity: Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__(
            tau=tau, dt=dt, activation=activation, prelu_slope=prelu_slope, noise_std=noise_std
        )
        _check_count("n_neurons", n_neurons)
        _check_count("input_size", input_size)
        _check_count("output_size", output_size)
        if not math.isfinite(gain) or gain < 0:
            raise ValueError(f"gain must be finite and >= 0 (got {gain!r})")
        self.input_size = input_size
        self.output_size = output_size
        self.gain = float(gain)
        self.generator = _generator(seed)
        self.state_shapes = (self._state_shape(n_neurons),)
        self._init_time_constants()
        g = self.generator
        self.w_inp = nn.Parameter(
            torch.randn(n_neurons, input_size, generator=g) / math.sqrt(input_size)
        )
        self.bias = nn.Parameter(torch.zeros(n_neurons))
        self.w_out = nn.Parameter(
            torch.randn(output_size, n_neurons, generator=g) / math.sqrt(n_neurons)
        )
        self.b_out = nn.Parameter(torch.zeros(output_size))
        self.dale_ratio: float | None = None
        for name, value, shape in (
            ("input_connectivity", input_connectivity, (n_neurons, input_size)),
            ("output_connectivity", output_connectivity, (output_size, n_neurons)),
        ):
            mask = _connectivity(name, value, shape)
            if mask is not None:
                self.register_buffer(name, mask)
            else:
                setattr(self, name, None)

    def _state_shape(self, n_neurons: int) -> tuple[int, ...]:
        return (n_neurons,)

    def extra_repr(self) -> str:
        """The constructor's settings, so that ``repr(model)`` reads like the call that built
        it: sizes, τ (ms), dt (ms), activation, and every other argument that differs from its
        default (masks and per-neuron τ summarised by their shape)."""

        def show(value) -> str:
            if isinstance(value, list):
                array = np.asarray(value, dtype=np.float64)
                if array.ndim >= 2 and array.size:
                    return f"<{' × '.join(map(str, array.shape))} mask, {int((array != 0).sum())} connections>"
                return f"<{array.size} values>"
            return repr(value)

        config = getattr(self, "config", None)
        if config is None:  # a subclass that is not registered records no arguments
            return (
                f"n_neurons={self.n_neurons}, input_size={self.input_size}, "
                f"output_size={self.output_size}, dt={self.dt}, activation={self.activation!r}"
            )
        defaults = {
            k: v.default for k, v in inspect.signature(type(self).__init__).parameters.items()
        }
        always = ("tau", "dt", "activation", "gain")
        return ", ".join(
            f"{k}={show(v)}"
            for k, v in config.items()
            if k in always or defaults.get(k, inspect.Parameter.empty) != v
        )

    # -- Dale's law (PsychRNN), for the architectures whose W_rec has one entry per synapse ---

    def _init_dale(self, dale_ratio: float | None, excitatory_output: bool) -> None:
        """Excitatory / inhibitory populations: the first ``round(dale_ratio · N)`` units are
        excitatory. Registers ``dale_sign`` (N,) = ±1 (0-size buffers are avoided: without
        Dale's law nothing is registered)."""
        if dale_ratio is None:
            return
        if self.activation not in ("relu", "softplus"):
            raise ValueError(
                "dale_ratio needs non-negative rates (activation 'relu' or 'softplus'): with "
                f"activation={self.activation!r} a negative rate would flip the sign of a "
                "neuron's synapses"
            )
        n = self.n_neurons
        if not (isinstance(dale_ratio, (int, float)) and 0 < dale_ratio < 1):
            raise ValueError(f"dale_ratio must be a fraction in (0, 1) (got {dale_ratio!r})")
        n_exc = round(dale_ratio * n)
        if not 1 <= n_exc <= n - 1:
            raise ValueError(
                f"dale_ratio={dale_ratio} leaves no excitatory or no inhibitory unit in N = {n}"
            )
        self.dale_ratio = float(dale_ratio)
        self.excitatory_output = bool(excitatory_output)
        sign = torch.ones(n)
        sign[n_exc:] = -1.0
        self.register_buffer("dale_sign", sign)
        if excitatory_output:
            with torch.no_grad():
                self.w_out.abs_()

    @property
    def n_excitatory(self) -> int | None:
        """Number of excitatory units (the first ones) under Dale's law, else ``None``."""
        return None if self.dale_ratio is None else int((self.dale_sign > 0).sum())

    def _signed(self, weight: Tensor) -> Tensor:
        """``|W| · D`` with ``D = diag(±1)`` over presynaptic units (columns), under Dale's law."""
        return weight if self.dale_ratio is None else weight.abs() * self.dale_sign

    def _dale_init(self, weight: Tensor, mask: Tensor | None) -> Tensor:
        """A Dale's-law start: magnitudes of ``weight``, inhibitory columns scaled by
        ``N_E / N_I`` so that excitation and inhibition balance on average (PsychRNN), then the
        whole effective matrix rescaled to spectral radius ``gain``."""
        w = weight.abs()
        n_exc = self.n_excitatory
        w[:, n_exc:] *= n_exc / (self.n_neurons - n_exc)
        effective = w * self.dale_sign if mask is None else w * mask * self.dale_sign
        radius = torch.linalg.eigvals(effective.double()).abs().max().item()
        return w * (self.gain / radius) if radius > 0 else w

    # -- effective weights -----------------------------------------------------------------

    def input_weight(self) -> Tensor:
        """The effective ``W_inp`` (N, input_size): masked by ``input_connectivity``."""
        w = self.w_inp
        return w if self.input_connectivity is None else w * self.input_connectivity

    def output_weight(self) -> Tensor:
        """The effective readout (output_size, N): masked by ``output_connectivity``; under
        Dale's law with ``excitatory_output``, ``|W_out|`` on the excitatory units only."""
        w = self.w_out
        if self.output_connectivity is not None:
            w = w * self.output_connectivity
        if self.dale_ratio is not None and self.excitatory_output:
            w = w.abs() * (self.dale_sign > 0)
        return w

    # -- what a subclass supplies ----------------------------------------------------------

    def recurrent(self, rates: Tensor) -> Tensor:
        """``W_rec r`` for flat rates ``(batch, N)``."""
        raise NotImplementedError

    def recurrent_matrix(self) -> Tensor:
        """The dense ``N × N`` recurrent weight matrix (row = postsynaptic neuron)."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------

    def recurrent_operator(self) -> Callable[[Tensor], Tensor]:
        """A matrix-free map ``x ↦ W_rec x`` for ``x`` of shape ``(N,)`` or ``(batch, N)``."""

        def apply(x: Tensor) -> Tensor:
            squeeze = x.ndim == 1
            y = self.recurrent(x.reshape(-1, self.n_neurons))
            return y[0] if squeeze else y

        return apply

    def drive(self, state: Tensor, inputs: Tensor | None) -> Tensor:
        flat = state.reshape(state.shape[0], -1)
        d = self.recurrent(flat) + self.bias
        if inputs is not None:
            d = d + inputs @ self.input_weight().T
        return d.reshape(state.shape)

    def readout(self, state: Tensor) -> Tensor:
        return state.reshape(state.shape[0], -1) @ self.output_weight().T + self.b_out

    def recurrent_plus(self) -> Callable[[Tensor, Tensor], Tensor]:
        """A map ``(rates (batch, N), c (batch, N)) ↦ W_rec r + c`` for a whole trial.

        Built once per simulation, so a subclass can form its weight once (a masked matrix)
        and fuse the sum into one matrix product (``addmm``). Default: ``recurrent(r) + c``."""
        return lambda rates, c: self.recurrent(rates) + c

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
        """Simulate the network (see :meth:`cordsneuro.dynamics.DynamicalRNN.forward`).

        A recorded run driven by inputs takes :meth:`run_trials` (the same Euler steps, with
        the input projection of the whole trial and the readout of all steps each done as one
        matrix product); other runs take the step-by-step path of the base class."""
        if inputs is None or not record or checkpoint_segment is not None:
            return super().forward(
                inputs, state=state, n_steps=n_steps, batch_size=batch_size, record=record,
                checkpoint_segment=checkpoint_segment, generator=generator,
            )  # fmt: skip
        inputs, state, _ = self.prepare_run(inputs, state, n_steps, batch_size)
        return self.run_trials(inputs, state, generator=generator)

    def scan_weight(self) -> Tensor | tuple[Tensor, Tensor] | None:
        """``W_rec`` as :meth:`run_trials` hands it to the fused trial loop
        (:func:`~cordsneuro.models.scan.euler_scan`): a dense matrix or factors ``(P, Q)`` with
        ``W_rec = P Q``, built differentiably from the parameters; or ``None`` to take the
        step-by-step loop.

        Default ``None``: a subclass opts in (the library's four networks do)."""
        return None

    def run_trials(
        self, inputs: Tensor, state: Tensor, *, generator: torch.Generator | None = None
    ) -> Trajectory:
        """Simulate validated inputs ``(batch, time, input_size)`` from ``state``
        ``(batch, *state_shape)`` and record every step; what :meth:`forward` runs.

        The Euler steps are those of :meth:`~cordsneuro.dynamics.DynamicalRNN.update` applied to
        ``W_rec r + (W_inp h_t + b)``, where ``W_inp h + b`` is computed for all steps at once
        before the loop and the readout for all steps after it. When the model has a
        :meth:`scan_weight` (a dense matrix or low-rank factors) and σ is one of :data:`~cordsneuro.models.scan.SCAN_ACTIVATIONS`,
        the loop is :func:`~cordsneuro.models.scan.euler_scan` (one autograd node per trial,
        back-propagation through time written out); otherwise it calls :meth:`update` step by
        step. The noise (``noise_std > 0``) is drawn as in the step-by-step path of
        :meth:`forward`: same generator, same noise.
        """
        from cordsneuro.models.scan import SCAN_ACTIVATIONS, euler_scan

        batch, n_time = inputs.shape[0], inputs.shape[1]
        time_major = inputs.transpose(0, 1).reshape(-1, inputs.shape[-1])
        offset = torch.addmm(self.bias, time_major, self.input_weight().T).view(n_time, batch, -1)
        alpha = self.alpha
        alpha = alpha.reshape(-1) if alpha.dim() else alpha
        noise_at = per_step_generators(generator, inputs.device) if self.noise_std > 0 else None
        r = state.reshape(batch, -1)
        weight = self.scan_weight() if self.activation in SCAN_ACTIVATIONS else None
        if weight is not None:
            if noise_at is not None:
                noise = [self._noise_like(offset[t], alpha, noise_at(t)) for t in range(n_time)]
                offset = offset + torch.stack(noise)
            rates = euler_scan(weight, offset, r, alpha, self.activation)
        else:
            plus, kept = self.recurrent_plus(), []
            for t, c in enumerate(offset.unbind(0)):  # one backward node, not one per step
                g = None if noise_at is None else noise_at(t)
                r = self.update(r, plus(r, c), alpha=alpha, generator=g)
                kept.append(r)
            rates = torch.stack(kept)
        outputs = torch.matmul(rates, self.output_weight().T) + self.b_out
        times = self.dt * torch.arange(1, n_time + 1, device=inputs.device, dtype=torch.float32)
        shape = self.state_shapes[0]
        return Trajectory(
            rates=rates.transpose(0, 1).view(batch, n_time, *shape),
            outputs=outputs.transpose(0, 1),
            times=times,
            final_state=rates[-1].view(batch, *shape),
        )

    def check_inputs(self, inputs: Tensor) -> None:
        super().check_inputs(inputs)
        if inputs.ndim != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(
                f"inputs must have shape (batch, time, {self.input_size}), got {tuple(inputs.shape)}"
            )


class _SynapticRNN(SingleAreaRNN):
    """Shared by :class:`FullRNN` and :class:`SparseRNN`, whose ``W_rec`` holds one weight per
    synapse: ``W_rec = W ⊙ M`` (M: the connectivity mask, or all ones), and under Dale's law
    ``|W ⊙ M| · D``. Gradients reach only the entries the mask keeps."""

    def _init_recurrent(
        self, mask: Tensor | None, dale_ratio: float | None, excitatory_output: bool
    ) -> None:
        n = self.n_neurons
        if mask is not None:
            self.register_buffer("mask", mask)
        else:
            self.mask = None
        self._init_dale(dale_ratio, excitatory_output)
        # N(0, g² / (p N)) with p the density of the mask: the same gain gives the same
        # spectral radius with or without a mask
        density = 1.0 if mask is None else max((mask != 0).float().mean().item(), 1.0 / n**2)
        w = torch.randn(n, n, generator=self.generator) * self.gain / math.sqrt(density * n)
        if self.dale_ratio is not None:
            w = self._dale_init(w, mask)
        self.weight = nn.Parameter(w if mask is None else w * mask)

    def recurrent_matrix(self) -> Tensor:
        w = self.weight if self.mask is None else self.weight * self.mask
        return self._signed(w)

    def recurrent(self, rates: Tensor) -> Tensor:
        return rates @ self.recurrent_matrix().T

    def scan_weight(self) -> Tensor:
        return self.recurrent_matrix()

    def recurrent_plus(self) -> Callable[[Tensor, Tensor], Tensor]:
        w = self.recurrent_matrix().T  # masked / signed once per trial, not once per step
        return lambda rates, c: torch.addmm(c, rates, w)


@register_model
class FullRNN(_SynapticRNN):
    """Fully connected RNN: dense ``W_rec`` with entries ``N(0, g²/N)`` (Sompolinsky et al. 1988),
    whose spectral radius tends to ``g`` for large N.

    Parameters
    ----------
    n_neurons, input_size, output_size, gain, seed, tau, dt, activation, prelu_slope, noise_std
        As :class:`SingleAreaRNN` (τ = 100 ms, dt = 20 ms, tanh).
    dale_ratio : float, optional
        Dale's law (as PsychRNN): the first ``round(dale_ratio · N)`` units are excitatory, the
        rest inhibitory, and the effective recurrent matrix is ``W_rec = |W| · D`` with
        ``D = diag(±1)`` over presynaptic units, so every outgoing weight of a unit has its
        sign. Needs non-negative rates (``activation="relu"`` or ``"softplus"``). The start is
        balanced (inhibitory columns scaled by N_E / N_I) and rescaled to spectral radius
        ``gain``. ``W_inp`` stays unconstrained: the input channels are not units of the
        network (mask it with ``input_connectivity`` if needed).
    excitatory_output : bool
        With ``dale_ratio``: read out from excitatory units only, with non-negative weights
        (PsychRNN's ``Dale_out``). Ignored without Dale's law.
    input_connectivity, rec_connectivity, output_connectivity : array, optional
        Masks multiplying ``W_inp`` (N, input_size), ``W_rec`` (N, N) and ``W_out``
        (output_size, N) (PsychRNN's ``*_connectivity``). A removed connection stays removed
        through training; ``W_rec``'s starting variance is divided by the mask's density.
    """

    def __init__(
        self,
        n_neurons: int,
        input_size: int,
        output_size: int,
        *,
        gain: float = 1.0,
        seed: int | None = None,
        tau: float | Tensor = 100.0,
        dt: float = 20.0,
        activation: str = "tanh",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
        dale_ratio: float | None = None,
        excitatory_output: bool = True,
        input_connectivity: Tensor | np.ndarray | None = None,
        rec_connectivity: Tensor | np.ndarray | None = None,
        output_connectivity: Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__(
            n_neurons, input_size, output_size, gain=gain, seed=seed, tau=tau, dt=dt,
            activation=activation, prelu_slope=prelu_slope, noise_std=noise_std,
            input_connectivity=input_connectivity, output_connectivity=output_connectivity,
        )  # fmt: skip
        mask = _connectivity("rec_connectivity", rec_connectivity, (n_neurons, n_neurons))
        self._init_recurrent(mask, dale_ratio, excitatory_output)


@register_model
class LowRankRNN(SingleAreaRNN):
    """Low-rank RNN: ``W_rec = P Q``, P of shape N × R and Q of shape R × N (Appendix B.3).

    P and Q start with i.i.d. entries ``N(0, g / √N)`` so that the R non-zero eigenvalues of
    ``P Q`` (those of the R × R matrix ``Q P``) have magnitude about ``g``.

    Dale's law and a recurrent connectivity mask are not offered: an entry of ``P Q`` is a sum
    over the rank, not a parameter of its own, so constraining its sign or zeroing it breaks
    the low-rank structure (the masked or sign-constrained matrix is no longer of rank R).

    Parameters
    ----------
    n_neurons, input_size, output_size, gain, seed, tau, dt, activation, prelu_slope, noise_std
        As :class:`SingleAreaRNN` (τ = 100 ms, dt = 20 ms, tanh).
    rank : int
        R, in ``[1, n_neurons]``.
    input_connectivity, output_connectivity : array, optional
        Masks on ``W_inp`` and ``W_out`` (see :class:`SingleAreaRNN`).
    """

    def __init__(
        self,
        n_neurons: int,
        input_size: int,
        output_size: int,
        *,
        rank: int = 2,
        gain: float = 1.0,
        seed: int | None = None,
        tau: float | Tensor = 100.0,
        dt: float = 20.0,
        activation: str = "tanh",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
        input_connectivity: Tensor | np.ndarray | None = None,
        output_connectivity: Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__(
            n_neurons, input_size, output_size, gain=gain, seed=seed, tau=tau, dt=dt,
            activation=activation, prelu_slope=prelu_slope, noise_std=noise_std,
            input_connectivity=input_connectivity, output_connectivity=output_connectivity,
        )  # fmt: skip
        if not isinstance(rank, int) or not 1 <= rank <= n_neurons:
            raise ValueError(f"rank must be an int in [1, n_neurons={n_neurons}] (got {rank!r})")
        self.rank = rank
        std = math.sqrt(self.gain / math.sqrt(n_neurons))
        self.p = nn.Parameter(torch.randn(n_neurons, rank, generator=self.generator) * std)
        self.q = nn.Parameter(torch.randn(rank, n_neurons, generator=self.generator) * std)

    def recurrent(self, rates: Tensor) -> Tensor:
        return (rates @ self.q.T) @ self.p.T

    def recurrent_matrix(self) -> Tensor:
        return self.p @ self.q

    def scan_weight(self) -> tuple[Tensor, Tensor]:
        return self.p, self.q

    def recurrent_plus(self) -> Callable[[Tensor, Tensor], Tensor]:
        q, p = self.q.T, self.p.T
        return lambda rates, c: torch.addmm(c, rates @ q, p)


@register_model
class SparseRNN(_SynapticRNN):
    """Sparsely connected RNN: ``W_rec = W ⊙ M`` with a fixed binary mask (Appendix B.3).

    Give exactly one of: the connection probability ``p`` (each entry of a random M is 1 with
    probability p), the exact number of connections ``n_connections`` (drawn without
    replacement; Table S1 matches parameter counts this way: its nominal sparsities round the
    counts), or the mask itself, ``rec_connectivity`` (PsychRNN's name). Non-zero weights are
    ``N(0, g² / (p N))`` with ``p = nnz(M) / N²``, so the same gain gives the same spectral
    radius as :class:`FullRNN`. Gradients flow only to the masked-in entries, so the mask
    survives training.

    Parameters
    ----------
    n_neurons, input_size, output_size, gain, seed, tau, dt, activation, prelu_slope, noise_std
        As :class:`SingleAreaRNN` (τ = 100 ms, dt = 20 ms, tanh).
    p, n_connections, rec_connectivity
        The mask M (exactly one of them).
    dale_ratio, excitatory_output, input_connectivity, output_connectivity
        As :class:`FullRNN`.
    """

    def __init__(
        self,
        n_neurons: int,
        input_size: int,
        output_size: int,
        *,
        p: float | None = None,
        n_connections: int | None = None,
        gain: float = 1.0,
        seed: int | None = None,
        tau: float | Tensor = 100.0,
        dt: float = 20.0,
        activation: str = "tanh",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
        dale_ratio: float | None = None,
        excitatory_output: bool = True,
        input_connectivity: Tensor | np.ndarray | None = None,
        rec_connectivity: Tensor | np.ndarray | None = None,
        output_connectivity: Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__(
            n_neurons, input_size, output_size, gain=gain, seed=seed, tau=tau, dt=dt,
            activation=activation, prelu_slope=prelu_slope, noise_std=noise_std,
            input_connectivity=input_connectivity, output_connectivity=output_connectivity,
        )  # fmt: skip
        n2 = n_neurons * n_neurons
        if sum(v is not None for v in (p, n_connections, rec_connectivity)) != 1:
            raise ValueError(
                "give exactly one of p (connection probability), n_connections or "
                "rec_connectivity (the mask)"
            )
        g = self.generator
        if p is not None:
            if not (isinstance(p, (int, float)) and 0 < p <= 1):
                raise ValueError(f"p must be a connection probability in (0, 1] (got {p!r})")
            mask = (torch.rand(n_neurons, n_neurons, generator=g) < p).float()
        elif n_connections is not None:
            if not isinstance(n_connections, int) or not 1 <= n_connections <= n2:
                raise ValueError(
                    f"n_connections must be an int in [1, N² = {n2}] (got {n_connections!r})"
                )
            mask = torch.zeros(n2)
            mask[torch.randperm(n2, generator=g)[:n_connections]] = 1.0
            mask = mask.reshape(n_neurons, n_neurons)
        else:
            mask = _connectivity("rec_connectivity", rec_connectivity, (n_neurons, n_neurons))
        self._init_recurrent(mask, dale_ratio, excitatory_output)


@register_model
class ConvRNN(SingleAreaRNN):
    """Convolutional dynamical RNN with one area (the CordsNet of Section 2.1 and Fig. 1B).

    The state is a ``channels × height × width`` grid (N = C·H·W neurons); ``W_rec`` is a 2-D
    convolution with a ``kernel_size × kernel_size`` kernel, stride 1 and an output of the same
    size as its input. With an even kernel (the paper uses k = 4 and 6, Table S1) the padding
    is asymmetric: ``(k - 1) // 2`` before and ``k // 2`` after along each axis, which is what
    ``padding="same"`` does in PyTorch. ``padding="circular"`` wraps the grid (a torus), whose
    operator is block-circulant and diagonalised by the 2-D FFT.

    The kernel starts ``N(0, g² / (C k²))`` (fan-in scaling): like :class:`FullRNN`, ``g`` sets
    the spectral scale, so stable, oscillatory and chaotic regimes (Fig. 1B) occur at
    comparable gains. Inputs reach the grid through a dense ``N × input_size`` projection.

    Dale's law and a recurrent connectivity mask are not offered: a kernel weight is shared by
    every position of the grid, so it cannot follow the sign of one presynaptic unit, and
    zeroing entries of the N × N matrix would break the weight sharing that makes it a
    convolution (choose ``kernel_size`` to limit connections to a neighbourhood instead).

    Parameters
    ----------
    channels, height, width : int
        The grid C × H × W (N = C·H·W neurons).
    input_size, output_size, gain, seed, tau, dt, activation, prelu_slope, noise_std
        As :class:`SingleAreaRNN` (τ = 100 ms, dt = 20 ms, tanh).
    kernel_size : int
        k of the k × k recurrent kernel (at most min(H, W)).
    padding : {"zeros", "circular"}
    input_connectivity, output_connectivity : array, optional
        Masks on ``W_inp`` (N, input_size) and ``W_out`` (output_size, N), N in C, H, W order.
    """

    def __init__(
        self,
        channels: int,
        height: int,
        width: int,
        input_size: int,
        output_size: int,
        *,
        kernel_size: int = 3,
        padding: str = "zeros",
        gain: float = 1.0,
        seed: int | None = None,
        tau: float | Tensor = 100.0,
        dt: float = 20.0,
        activation: str = "tanh",
        prelu_slope: float = 0.0,
        noise_std: float = 0.0,
        input_connectivity: Tensor | np.ndarray | None = None,
        output_connectivity: Tensor | np.ndarray | None = None,
    ) -> None:
        _check_count("channels", channels)
        _check_count("height", height)
        _check_count("width", width)
        _check_count("kernel_size", kernel_size)
        if kernel_size > min(height, width):
            raise ValueError(
                f"kernel_size ({kernel_size}) must not exceed the grid ({height} × {width})"
            )
        if padding not in ("zeros", "circular"):
            raise ValueError(f"padding must be 'zeros' or 'circular' (got {padding!r})")
        object.__setattr__(self, "grid", (channels, height, width))  # needed by _state_shape
        super().__init__(
            channels * height * width, input_size, output_size, gain=gain, seed=seed, tau=tau,
            dt=dt, activation=activation, prelu_slope=prelu_slope, noise_std=noise_std,
            input_connectivity=input_connectivity, output_connectivity=output_connectivity,
        )  # fmt: skip
        self.kernel_size = kernel_size
        self.padding = padding
        std = self.gain / math.sqrt(channels * kernel_size * kernel_size)
        k = (
            torch.randn(channels, channels, kernel_size, kernel_size, generator=self.generator)
            * std
        )
        self.kernel = nn.Parameter(k)

    def _state_shape(self, n_neurons: int) -> tuple[int, ...]:
        return self.grid

    @property
    def pad(self) -> tuple[int, int, int, int]:
        """``(left, right, top, bottom)`` padding giving a same-size output."""
        k = self.kernel_size
        return ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)

    def convolve(self, grid: Tensor) -> Tensor:
        """The recurrent convolution on ``(batch, C, H, W)``."""
        mode = "circular" if self.padding == "circular" else "constant"
        return F.conv2d(F.pad(grid, self.pad, mode=mode), self.kernel)

    def recurrent(self, rates: Tensor) -> Tensor:
        grid = rates.reshape(rates.shape[0], *self.grid)
        return self.convolve(grid).reshape(rates.shape[0], -1)

    def recurrent_matrix(self) -> Tensor:
        """Dense ``N × N`` matrix of the convolution (Appendix B.1), built from the kernel by
        scattering each tap to its (output, input) positions: no forward pass per unit vector
        (:func:`cordsneuro.models.convolution.conv_matrix`)."""
        from cordsneuro.models.convolution import conv_matrix

        mode = "circular" if self.padding == "circular" else "zeros"
        return conv_matrix(self.kernel, self.grid[1:], padding=self.pad, padding_mode=mode)

    def scan_weight(self) -> Tensor | None:
        # dense only where one N × N product costs less than the small convolution's overhead
        return self.recurrent_matrix() if self.n_neurons <= DENSE_SCAN_MAX_NEURONS else None


# ----------------------------------------------------------------------------- Table S1

#: Table S1: parameter-matched networks per size. ConvRNN: grid side = channels and kernel k;
#: low-rank: rank; sparse: nominal sparsity and the exact connection count the table reports.
TABLE_S1: dict[int, dict[str, dict]] = {
    125: {
        "conv": {"side": 5, "kernel_size": 4, "count": 400},
        "lowrank": {"rank": 2, "count": 500},
        "sparse": {"p": 0.032, "count": 500},
    },
    216: {
        "conv": {"side": 6, "kernel_size": 5, "count": 900},
        "lowrank": {"rank": 2, "count": 864},
        "sparse": {"p": 0.0185, "count": 864},
    },
    512: {
        "conv": {"side": 8, "kernel_size": 6, "count": 2304},
        "lowrank": {"rank": 2, "count": 2048},
        "sparse": {"p": 0.008, "count": 2048},
    },
}

ARCHITECTURES = ("full", "lowrank", "sparse", "conv")


def table_s1(
    n_neurons: int, architecture: str, input_size: int = 1, output_size: int = 1, **kwargs
) -> SingleAreaRNN:
    """Build the parameter-matched network of Table S1.

    Parameters
    ----------
    n_neurons : {125, 216, 512}
    architecture : {"full", "lowrank", "sparse", "conv"}
        ``conv`` is a :class:`ConvRNN` on a cube (5×5×5 k4, 6×6×6 k5, 8×8×8 k6); ``sparse`` has
        exactly the connection count of the table (its nominal sparsity rounds it).
    **kwargs
        Passed to the constructor (``gain``, ``seed``, ``activation``, ``tau``, ``dt``...).
    """
    if n_neurons not in TABLE_S1:
        raise ValueError(
            f"n_neurons must be one of Table S1's sizes {sorted(TABLE_S1)} (got {n_neurons!r})"
        )
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES} (got {architecture!r})")
    row = TABLE_S1[n_neurons]
    if architecture == "full":
        return FullRNN(n_neurons, input_size, output_size, **kwargs)
    if architecture == "lowrank":
        return LowRankRNN(n_neurons, input_size, output_size, rank=row["lowrank"]["rank"], **kwargs)
    if architecture == "sparse":
        return SparseRNN(
            n_neurons, input_size, output_size, n_connections=row["sparse"]["count"], **kwargs
        )
    side = row["conv"]["side"]
    return ConvRNN(
        side, side, side, input_size, output_size, kernel_size=row["conv"]["kernel_size"], **kwargs
    )


def recurrent_parameter_count(model: SingleAreaRNN) -> int:
    """Trainable parameters of ``W_rec`` (Table S1): N² dense, 2RN low-rank, nnz(M) sparse (and
    masked dense), C²k² convolutional (no bias)."""
    if isinstance(model, _SynapticRNN) and model.mask is not None:
        return int((model.mask != 0).sum().item())
    if isinstance(model, LowRankRNN):
        return model.p.numel() + model.q.numel()
    if isinstance(model, ConvRNN):
        return model.kernel.numel()
    if isinstance(model, FullRNN):
        return model.weight.numel()
    raise TypeError(f"model must be a single-area RNN of this module (got {type(model).__name__})")
