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

import math
from collections.abc import Callable

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


def _generator(seed: int | None) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))
    return g


def _check_count(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} (got {value!r})")


class SingleAreaRNN(DynamicalRNN):
    """One recurrent area with vector inputs and a linear readout.

    ``drive = W_rec r + b + W_inp h``. The input weights are ``N(0, 1/input_size)``, the bias
    starts at zero and the readout is ``N(0, 1/N)``; a subclass creates ``W_rec`` and defines
    :meth:`recurrent`.

    Parameters
    ----------
    input_size, output_size : int
        Widths of the input ``h`` and of the readout.
    gain : float
        Gain ``g`` of the random recurrent initialisation (the spectral radius of ``W_rec`` is
        about ``g`` for every architecture, so regimes appear at the same gains, Fig. 1B).
    seed : int, optional
        Seed of the initialisation (same seed, same weights).
    tau, dt, activation, prelu_slope, noise_std
        The dynamics of :class:`~cordsneuro.dynamics.DynamicalRNN`. Cognitive-task defaults:
        τ = 100 ms, dt = 20 ms, tanh.
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

    def _state_shape(self, n_neurons: int) -> tuple[int, ...]:
        return (n_neurons,)

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
            d = d + inputs @ self.w_inp.T
        return d.reshape(state.shape)

    def readout(self, state: Tensor) -> Tensor:
        return state.reshape(state.shape[0], -1) @ self.w_out.T + self.b_out

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

    def run_trials(
        self, inputs: Tensor, state: Tensor, *, generator: torch.Generator | None = None
    ) -> Trajectory:
        """Simulate validated inputs ``(batch, time, input_size)`` from ``state``
        ``(batch, *state_shape)`` and record every step; what :meth:`forward` runs.

        Each step is the model's Euler update (:meth:`~cordsneuro.dynamics.DynamicalRNN.update`)
        applied to ``W_rec r + (W_inp h_t + b)``, where ``W_inp h + b`` is computed for all steps
        at once before the loop and the readout for all steps after it. No validation and no
        data-dependent branch, so the method can be vectorised over stacked weights
        (:func:`torch.func.vmap`, used by :func:`cordsneuro.training.train_many`). The noise
        (``noise_std > 0``) is drawn as in the step-by-step path: same generator, same noise.
        """
        batch, n_time = inputs.shape[0], inputs.shape[1]
        offset = torch.addmm(self.bias, inputs.reshape(-1, inputs.shape[-1]), self.w_inp.T)
        offset = offset.view(batch, n_time, -1).unbind(1)  # one backward node, not one per step
        plus = self.recurrent_plus()
        alpha = self.alpha
        alpha = alpha.reshape(-1) if alpha.dim() else alpha
        noise_at = per_step_generators(generator, inputs.device) if self.noise_std > 0 else None
        r = state.reshape(batch, -1)
        kept = []
        for t in range(n_time):
            g = None if noise_at is None else noise_at(t)
            r = self.update(r, plus(r, offset[t]), alpha=alpha, generator=g)
            kept.append(r)
        flat = torch.stack(kept, dim=1)
        outputs = torch.addmm(self.b_out, flat.reshape(-1, flat.shape[-1]), self.w_out.T)
        times = self.dt * torch.arange(1, n_time + 1, device=inputs.device, dtype=torch.float32)
        shape = self.state_shapes[0]
        return Trajectory(
            rates=flat.view(batch, n_time, *shape),
            outputs=outputs.view(batch, n_time, -1),
            times=times,
            final_state=r.view(batch, *shape),
        )

    def check_inputs(self, inputs: Tensor) -> None:
        super().check_inputs(inputs)
        if inputs.ndim != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(
                f"inputs must have shape (batch, time, {self.input_size}), got {tuple(inputs.shape)}"
            )


@register_model
class FullRNN(SingleAreaRNN):
    """Fully connected RNN: dense ``W_rec`` with entries ``N(0, g²/N)`` (Sompolinsky et al. 1988),
    whose spectral radius tends to ``g`` for large N."""

    def __init__(self, n_neurons: int, input_size: int, output_size: int, **kwargs) -> None:
        super().__init__(n_neurons, input_size, output_size, **kwargs)
        w = (
            torch.randn(n_neurons, n_neurons, generator=self.generator)
            * self.gain
            / math.sqrt(n_neurons)
        )
        self.weight = nn.Parameter(w)

    def recurrent(self, rates: Tensor) -> Tensor:
        return rates @ self.weight.T

    def recurrent_matrix(self) -> Tensor:
        return self.weight

    def recurrent_plus(self) -> Callable[[Tensor, Tensor], Tensor]:
        w = self.weight.T
        return lambda rates, c: torch.addmm(c, rates, w)


@register_model
class LowRankRNN(SingleAreaRNN):
    """Low-rank RNN: ``W_rec = P Q``, P of shape N × R and Q of shape R × N (Appendix B.3).

    P and Q start with i.i.d. entries ``N(0, g / √N)`` so that the R non-zero eigenvalues of
    ``P Q`` (those of the R × R matrix ``Q P``) have magnitude about ``g``.
    """

    def __init__(
        self, n_neurons: int, input_size: int, output_size: int, *, rank: int = 2, **kwargs
    ) -> None:
        super().__init__(n_neurons, input_size, output_size, **kwargs)
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

    def recurrent_plus(self) -> Callable[[Tensor, Tensor], Tensor]:
        q, p = self.q.T, self.p.T
        return lambda rates, c: torch.addmm(c, rates @ q, p)


@register_model
class SparseRNN(SingleAreaRNN):
    """Sparsely connected RNN: ``W_rec = W ⊙ M`` with a fixed random binary mask (Appendix B.3).

    Give either the connection probability ``p`` (each entry of M is 1 with probability p) or
    the exact number of connections ``n_connections`` (drawn without replacement; Table S1
    matches parameter counts this way: its nominal sparsities round the counts). Non-zero
    weights are ``N(0, g² / (p N))`` with ``p = nnz(M) / N²``, so the same gain gives the same
    spectral radius as :class:`FullRNN`. Gradients flow only to the masked-in entries.
    """

    def __init__(
        self,
        n_neurons: int,
        input_size: int,
        output_size: int,
        *,
        p: float | None = None,
        n_connections: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(n_neurons, input_size, output_size, **kwargs)
        n2 = n_neurons * n_neurons
        if (p is None) == (n_connections is None):
            raise ValueError("give exactly one of p (connection probability) or n_connections")
        g = self.generator
        if p is not None:
            if not (isinstance(p, (int, float)) and 0 < p <= 1):
                raise ValueError(f"p must be a connection probability in (0, 1] (got {p!r})")
            mask = (torch.rand(n_neurons, n_neurons, generator=g) < p).float()
        else:
            if not isinstance(n_connections, int) or not 1 <= n_connections <= n2:
                raise ValueError(
                    f"n_connections must be an int in [1, N² = {n2}] (got {n_connections!r})"
                )
            mask = torch.zeros(n2)
            mask[torch.randperm(n2, generator=g)[:n_connections]] = 1.0
            mask = mask.reshape(n_neurons, n_neurons)
        density = max(mask.mean().item(), 1.0 / n2)
        self.register_buffer("mask", mask)
        w = (
            torch.randn(n_neurons, n_neurons, generator=g)
            * self.gain
            / math.sqrt(density * n_neurons)
        )
        self.weight = nn.Parameter(w * mask)

    def recurrent(self, rates: Tensor) -> Tensor:
        return rates @ (self.weight * self.mask).T

    def recurrent_matrix(self) -> Tensor:
        return self.weight * self.mask

    def recurrent_plus(self) -> Callable[[Tensor, Tensor], Tensor]:
        w = (self.weight * self.mask).T  # masked once per trial, not once per step
        return lambda rates, c: torch.addmm(c, rates, w)


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
        **kwargs,
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
        super().__init__(channels * height * width, input_size, output_size, **kwargs)
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
    """Trainable parameters of ``W_rec`` (Table S1): N² dense, 2RN low-rank, nnz(M) sparse,
    C²k² convolutional (no bias)."""
    if isinstance(model, SparseRNN):
        return int(model.mask.sum().item())
    if isinstance(model, LowRankRNN):
        return model.p.numel() + model.q.numel()
    if isinstance(model, ConvRNN):
        return model.kernel.numel()
    if isinstance(model, FullRNN):
        return model.weight.numel()
    raise TypeError(f"model must be a single-area RNN of this module (got {type(model).__name__})")
