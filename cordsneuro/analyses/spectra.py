"""Spectra of recurrent (convolutional) operators and of vector-field Jacobians.

Appendix B.1 turns a convolution into a 2-D weight matrix; Section 4 and Fig. 4A–B compute the
top eigenvalues of CordsNet's recurrent convolutions (and of ``W_conv − I``, eq. 6) directly
from the kernel. The paper's own code runs 300 Arnoldi steps in a Python loop followed by 5,000
unshifted QR iterations in float32; here every spectrum is either exact (dense, or the 2-D FFT
for circular padding) or computed matrix-free by implicitly restarted Arnoldi (ARPACK through
:class:`scipy.sparse.linalg.LinearOperator`) in float64, which reaches machine precision on the
eigenvalues it returns.

Main entry points
-----------------
- :func:`conv_matrix`: the exact dense matrix of any 2-D convolution (channels, stride, dilation,
  zero or circular padding) for a given input size, built by scattering the kernel taps.
- :func:`conv_operator`: the same map matrix-free (one ``conv2d`` per product).
- :func:`singular_values`: singular values of a dense matrix or convolution (Fig. S1A).
- :func:`circular_conv_eigenvalues` / :func:`circular_conv_singular_values`: exact spectra of
  circular convolutions from one ``C × C`` matrix per spatial frequency (block-circulant).
- :func:`top_eigenvalues`: top-k eigenvalues (largest magnitude ``"LM"`` or largest real part
  ``"LR"``) and eigenvectors of any linear operator.
- :func:`recurrent_eigenvalues`: of a single-area model's ``W_rec`` (or ``W_rec − I``).
- :func:`jacobian_operator` / :func:`jacobian_eigenvalues`: the Jacobian of the full vector
  field ``dr/dt`` of any :class:`~cordsneuro.dynamics.DynamicalRNN` at a state, by
  Jacobian-vector products (never a dense Jacobian unless the network is small).
- :func:`power_iteration`: batched power iteration for the top eigenvector.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cordsneuro.models.convolution import (
    Padding,
    _conv_geometry,
    conv_matrix,
    conv_output_shape,
)

__all__ = [
    "Spectrum",
    "conv_matrix",
    "conv_operator",
    "conv_output_shape",
    "singular_values",
    "circular_conv_eigenvalues",
    "circular_conv_singular_values",
    "top_eigenvalues",
    "recurrent_eigenvalues",
    "jacobian_operator",
    "jacobian_eigenvalues",
    "power_iteration",
]

Operator = Tensor | np.ndarray | Callable[[Tensor], Tensor]

#: Below this many neurons, spectra default to the exact dense computation.
DENSE_LIMIT = 2000


# ----------------------------------------------------------------------------- convolutions


def conv_operator(
    kernel: Tensor | nn.Conv2d,
    input_shape: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    padding_mode: str = "zeros",
    dilation: int | Sequence[int] = 1,
    dtype: torch.dtype | None = torch.float64,
) -> Callable[[Tensor], Tensor]:
    """Matrix-free ``x ↦ K x`` of the convolution :func:`conv_matrix` builds densely.

    Returns a function mapping flat ``(batch, C_in·H·W)`` (or ``(C_in·H·W,)``) to flat
    ``(batch, C_out·H_out·W_out)``. The kernel is detached and cast to ``dtype`` once
    (float64 by default, what eigen-solvers need for full accuracy; ``None`` keeps it).
    """
    kernel, (h, w), stride, pad, mode, dilation = _conv_geometry(
        kernel, input_shape, stride, padding, padding_mode, dilation
    )
    weight = kernel.detach() if dtype is None else kernel.detach().to(dtype)
    c_in = weight.shape[1]
    pad_mode = "circular" if mode == "circular" else "constant"

    def apply(x: Tensor) -> Tensor:
        squeeze = x.ndim == 1
        grid = x.reshape(-1, c_in, h, w).to(weight.dtype)
        if any(pad):
            grid = F.pad(grid, pad, mode=pad_mode)
        y = F.conv2d(grid, weight, stride=stride, dilation=dilation).reshape(grid.shape[0], -1)
        return y[0] if squeeze else y

    apply.shape = (
        math.prod(conv_output_shape(weight, (h, w), stride=stride, padding=pad, dilation=dilation)),
        c_in * h * w,
    )
    return apply


def singular_values(
    operator: Tensor | np.ndarray | nn.Conv2d,
    input_shape: Sequence[int] | None = None,
    **conv_kwargs: Any,
) -> Tensor:
    """Singular values, in decreasing order, of a dense matrix or of a convolution (Fig. S1A).

    ``operator`` is a 2-D matrix, or a 4-D kernel / ``nn.Conv2d`` together with ``input_shape``
    and the :func:`conv_matrix` keywords. Computed in float64.
    """
    if isinstance(operator, np.ndarray):
        operator = torch.from_numpy(operator)
    if isinstance(operator, nn.Conv2d) or (isinstance(operator, Tensor) and operator.ndim == 4):
        if input_shape is None:
            raise ValueError("input_shape (H, W) is required for a convolution kernel")
        operator = conv_matrix(operator, input_shape, **conv_kwargs)
    if not isinstance(operator, Tensor) or operator.ndim != 2:
        raise ValueError("operator must be a 2-D matrix or a (C_out, C_in, kh, kw) kernel")
    return torch.linalg.svdvals(operator.detach().double())


def _frequency_blocks(
    kernel: Tensor, input_shape: Sequence[int], padding: Padding, dilation: int | Sequence[int]
) -> Tensor:
    """The ``C × C`` matrix of a circular, stride-1, same-size convolution at each spatial
    frequency: ``(H·W, C, C)`` complex128."""
    kernel, (h, w), _, pad, _, dilation = _conv_geometry(
        kernel, input_shape, 1, padding, "circular", dilation
    )
    c_out, c_in, kh, kw = kernel.shape
    if c_out != c_in:
        raise ValueError(f"an eigen-spectrum needs C_out == C_in (got {c_out} and {c_in})")
    if pad[0] + pad[1] != dilation[1] * (kw - 1) or pad[2] + pad[3] != dilation[0] * (kh - 1):
        raise ValueError(f"padding {pad} does not give an output of the input's size {h}×{w}")
    k = kernel.detach().to(torch.complex128)
    # input (c, (y + dy·dil − top) mod H, ...) under the Fourier mode exp(2πi (p y / H + q x / W))
    # picks up the phase exp(2πi (p (dy·dil − top) / H + q (dx·dil − left) / W)).
    p = torch.arange(h, dtype=torch.float64)
    q = torch.arange(w, dtype=torch.float64)
    oy = torch.arange(kh, dtype=torch.float64) * dilation[0] - pad[2]
    ox = torch.arange(kw, dtype=torch.float64) * dilation[1] - pad[0]
    phase_y = torch.exp(2j * math.pi * p[:, None] * oy[None, :] / h)  # (H, kh)
    phase_x = torch.exp(2j * math.pi * q[:, None] * ox[None, :] / w)  # (W, kw)
    blocks = torch.einsum("oiyx,py,qx->pqoi", k, phase_y, phase_x)
    return blocks.reshape(h * w, c_out, c_in)


def circular_conv_eigenvalues(
    kernel: Tensor | nn.Conv2d,
    input_shape: Sequence[int],
    *,
    padding: Padding = "same",
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """All ``C·H·W`` eigenvalues of a circular (periodic) stride-1 convolution, exactly.

    The operator is block-circulant: the 2-D Fourier modes diagonalise the spatial part, so the
    spectrum is the union over the ``H·W`` spatial frequencies of the eigenvalues of one
    ``C × C`` matrix ``Σ_taps K[:, :, dy, dx] · phase`` (cost ``H W C³`` instead of
    ``(C H W)³``). ``padding`` fixes the alignment of the kernel (default: centred, or
    ``(k−1)//2`` before for even kernels; any ``(left, right, top, bottom)`` with
    ``left + right = k − 1`` is allowed); it does not change the spectrum of a circular
    convolution's modes' magnitudes, only its phases.

    Returns
    -------
    Tensor
        ``(C·H·W,)`` complex128, sorted by decreasing magnitude.
    """
    blocks = _frequency_blocks(kernel, input_shape, padding, dilation)
    eig = torch.linalg.eigvals(blocks).reshape(-1)
    return eig[torch.argsort(eig.abs(), descending=True)]


def circular_conv_singular_values(
    kernel: Tensor | nn.Conv2d,
    input_shape: Sequence[int],
    *,
    padding: Padding = "same",
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """All singular values of a circular stride-1 convolution (decreasing), from the
    per-frequency ``C × C`` blocks (the Fourier basis is unitary)."""
    blocks = _frequency_blocks(kernel, input_shape, padding, dilation)
    sv = torch.linalg.svdvals(blocks).reshape(-1)
    return torch.sort(sv, descending=True).values


# ----------------------------------------------------------------------------- eigen-solvers


@dataclass
class Spectrum:
    """Eigenvalues (and optionally eigenvectors) of an operator.

    Attributes
    ----------
    values : np.ndarray
        ``(k,)`` complex128, sorted by the selection criterion (decreasing magnitude for
        ``"LM"``, decreasing real part for ``"LR"``).
    vectors : np.ndarray or None
        ``(n, k)`` complex128 unit eigenvectors (column ``i`` belongs to ``values[i]``).
    residuals : np.ndarray or None
        ``‖A v − λ v‖`` per pair when eigenvectors were computed.
    method : str
        ``"dense"`` or ``"arpack"``.
    n_matvec : int
        Operator applications used.
    """

    values: np.ndarray
    vectors: np.ndarray | None
    residuals: np.ndarray | None
    method: str
    n_matvec: int


class _CountingOperator:
    """Wrap a torch operator for scipy: float64 numpy in and out, counting products."""

    def __init__(
        self,
        apply: Callable[[Tensor], Tensor],
        n: int,
        dtype: torch.dtype,
        device: torch.device,
        progress: bool = False,
    ) -> None:
        self.apply, self.n, self.dtype, self.device = apply, n, dtype, device
        self.count = 0
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(desc="Arnoldi", unit=" products")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        cols = x.reshape(self.n, -1)
        self.count += cols.shape[1]
        if self.bar is not None:
            self.bar.update(cols.shape[1])
        parts = []
        for part in (cols.real, cols.imag) if np.iscomplexobj(cols) else (cols,):
            t = torch.from_numpy(np.ascontiguousarray(part.T)).to(self.device, self.dtype)
            with torch.no_grad():
                y = self.apply(t)
            parts.append(y.detach().to("cpu", torch.float64).numpy().T)
        y = parts[0] + 1j * parts[1] if len(parts) == 2 else parts[0]
        return y.reshape(x.shape) if x.ndim == 1 else y


def _as_apply(
    operator: Operator, n: int | None
) -> tuple[Callable[[Tensor], Tensor], int, Tensor | None]:
    """A batched torch map ``(batch, n) → (batch, n)``, the size n, and the dense matrix if
    one was given."""
    if isinstance(operator, np.ndarray):
        operator = torch.from_numpy(operator)
    if isinstance(operator, Tensor):
        if operator.ndim != 2 or operator.shape[0] != operator.shape[1]:
            raise ValueError(f"operator matrix must be square, got shape {tuple(operator.shape)}")
        if n is not None and n != operator.shape[0]:
            raise ValueError(
                f"n={n} does not match the operator matrix of size {operator.shape[0]}"
            )
        matrix = operator.detach()
        return (lambda x: x @ matrix.T.to(x.dtype)), matrix.shape[0], matrix
    if not callable(operator):
        raise TypeError(f"operator must be a matrix or a callable, got {type(operator).__name__}")
    shape = getattr(operator, "shape", None)
    if n is not None and shape is not None and tuple(shape) != (n, n):
        raise ValueError(f"operator maps {shape[1]} to {shape[0]} values, expected a {n} × {n} map")
    if n is None:
        if shape is None:
            raise ValueError("n (the operator's size) is required for a callable operator")
        if shape[0] != shape[1]:
            raise ValueError(f"operator must be square, it maps {shape[1]} to {shape[0]} values")
        n = shape[0]
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (got {n!r})")
    return operator, n, None


def _check_k(k: int, n: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k < n:
        raise ValueError(f"k must be an int with 1 <= k < n = {n} (got {k!r})")


def _order(values: np.ndarray, which: str) -> np.ndarray:
    key = -np.abs(values) if which == "LM" else -values.real
    return np.lexsort((-values.imag, key))


def top_eigenvalues(
    operator: Operator,
    k: int = 10,
    *,
    n: int | None = None,
    which: str = "LM",
    shift: float = 0.0,
    return_eigenvectors: bool = False,
    method: str = "auto",
    tol: float = 0.0,
    ncv: int | None = None,
    maxiter: int | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> Spectrum:
    """Top-k eigenvalues (and eigenvectors) of a real linear operator ``A − shift·I``.

    Parameters
    ----------
    operator : Tensor, ndarray or callable
        A dense ``n × n`` matrix, or a function mapping ``(batch, n)`` tensors to ``(batch, n)``
        (e.g. :func:`conv_operator`, :func:`jacobian_operator`, a model's
        ``recurrent_operator()``). It receives tensors of ``dtype`` on ``device``.
    k : int
        Number of eigenvalues, ``1 <= k < n``.
    n : int, optional
        Size of a callable operator (read from its ``shape`` attribute if it has one).
    which : {"LM", "LR"}
        Largest magnitude or largest real part.
    shift : float
        Compute the spectrum of ``A − shift·I`` (``shift=1`` gives ``W − I`` of eq. 6).
    return_eigenvectors : bool
        Also return unit eigenvectors and their residuals ``‖A v − λ v‖``.
    method : {"auto", "dense", "arpack"}
        ``auto``: dense ``eig`` for ``n <= 2000`` (exact), else implicitly restarted Arnoldi
        (ARPACK, :func:`scipy.sparse.linalg.eigs`) with products computed by the operator.
    tol : float
        ARPACK relative accuracy of the Ritz values (0 = machine precision).
    ncv : int, optional
        ARPACK Krylov subspace size; default ``max(3k, 40)`` (at most n − 1).
    maxiter : int, optional
        ARPACK restarts limit (default ``max(1000, n)``).
    seed : int
        Seed of the starting vector.
    dtype, device :
        Of the vectors handed to the operator (float64 for full accuracy).
    progress : bool
        Show a tqdm counter of operator products (long ARPACK runs).

    Returns
    -------
    Spectrum
    """
    if which not in ("LM", "LR"):
        raise ValueError(
            f"which must be 'LM' (largest magnitude) or 'LR' (largest real part), got {which!r}"
        )
    if method not in ("auto", "dense", "arpack"):
        raise ValueError(f"method must be 'auto', 'dense' or 'arpack' (got {method!r})")
    if not math.isfinite(shift):
        raise ValueError(f"shift must be finite (got {shift!r})")
    apply, n, matrix = _as_apply(operator, n)
    _check_k(k, n)
    device = torch.device(device)
    probe = torch.zeros(1, n, dtype=dtype, device=device)
    try:
        with torch.no_grad():
            out = apply(probe)
    except RuntimeError as error:
        raise ValueError(f"operator cannot be applied to (batch, {n}) vectors: {error}") from error
    if tuple(out.shape) != (1, n):
        raise ValueError(
            f"operator must map (batch, {n}) to (batch, {n}); it returned {tuple(out.shape)}"
        )
    shifted = apply if shift == 0 else (lambda x: apply(x) - shift * x)
    if method == "dense" or (method == "auto" and n <= DENSE_LIMIT) or n < 3 or k >= n - 1:
        if method == "arpack":
            raise ValueError(f"ARPACK needs k < n - 1 (k={k}, n={n}); use method='dense'")
        if matrix is not None:
            dense = matrix.to("cpu", torch.float64).numpy() - shift * np.eye(n)
        else:
            dense = np.empty((n, n))
            eye = torch.eye(n, dtype=dtype, device=device)
            with torch.no_grad():
                for start in range(0, n, 512):
                    dense[:, start : start + 512] = (
                        shifted(eye[start : start + 512]).to("cpu", torch.float64).numpy().T
                    )
        import scipy.linalg

        if return_eigenvectors:
            values, vectors = scipy.linalg.eig(dense)
        else:
            values, vectors = scipy.linalg.eigvals(dense), None
        order = _order(values, which)[:k]
        values = values[order]
        residuals = None
        if vectors is not None:
            vectors = vectors[:, order]
            residuals = np.linalg.norm(dense @ vectors - vectors * values, axis=0)
        return Spectrum(values, vectors, residuals, "dense", n)

    from scipy.sparse.linalg import LinearOperator, eigs

    counter = _CountingOperator(shifted, n, dtype, device, progress)
    linear = LinearOperator((n, n), matvec=counter, matmat=counter, dtype=np.float64)
    ncv = min(n - 1, max(3 * k, 40)) if ncv is None else ncv
    if not k + 2 <= ncv <= n:
        raise ValueError(f"ncv must be in [k + 2, n] = [{k + 2}, {n}] (got {ncv})")
    v0 = np.random.default_rng(seed).standard_normal(n)
    result = eigs(
        linear,
        k=k,
        which=which,
        tol=tol,
        ncv=ncv,
        v0=v0,
        maxiter=maxiter if maxiter is not None else max(1000, n),
        return_eigenvectors=return_eigenvectors,
    )
    if counter.bar is not None:
        counter.bar.close()
    values, vectors = result if return_eigenvectors else (result, None)
    order = _order(values, which)
    values = values[order]
    residuals = None
    if vectors is not None:
        vectors = vectors[:, order]
        vectors = vectors / np.linalg.norm(vectors, axis=0)
        residuals = np.linalg.norm(counter(vectors) - vectors * values, axis=0)
    return Spectrum(values, vectors, residuals, "arpack", counter.count)


def _double_copy(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    clone = copy.deepcopy(model)
    clone.to(dtype)
    clone.requires_grad_(False)
    return clone


def recurrent_eigenvalues(
    model: nn.Module,
    k: int = 10,
    *,
    which: str = "LM",
    minus_identity: bool = False,
    **kwargs: Any,
) -> Spectrum:
    """Top-k eigenvalues of a single-area model's recurrent weights ``W_rec`` (or of
    ``W_rec − I``, eq. 6, whose eigenvalues set the linearised time course of Fig. 4B),
    matrix-free through ``model.recurrent_operator()`` in float64 (the model is copied).
    Keywords go to :func:`top_eigenvalues`."""
    if not hasattr(model, "recurrent_operator"):
        raise TypeError(
            f"{type(model).__name__} has no recurrent_operator(); use jacobian_eigenvalues for "
            "multi-area models"
        )
    dtype = kwargs.pop("dtype", torch.float64)
    clone = _double_copy(model, dtype)
    return top_eigenvalues(
        clone.recurrent_operator(),
        k,
        n=clone.n_neurons,
        which=which,
        shift=1.0 if minus_identity else 0.0,
        dtype=dtype,
        device=next(iter(clone.parameters())).device,
        **kwargs,
    )


def _constant_input(model: nn.Module, inputs: Tensor | None, batch: int) -> Tensor | None:
    if inputs is None:
        return None
    return (
        inputs.reshape(1, *inputs.shape).expand(batch, *inputs.shape)
        if inputs.ndim >= 1
        else inputs
    )


def _linearized(field: Callable[[Tensor], Tensor], x0: Tensor) -> Callable[[Tensor], Tensor]:
    """``v ↦ J_field(x0) v``. Uses :func:`torch.func.linearize` (the tangent map is traced once,
    so a product costs one linear pass) and falls back to forward-mode AD (primal and tangent
    each time) for models it cannot trace."""
    import warnings

    import torch.autograd.forward_ad as fwad

    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            _, linear = torch.func.linearize(field, x0)
            probe = torch.zeros_like(x0)
            linear(probe)
        return lambda v: linear(v).detach()
    except Exception:  # noqa: BLE001 - any tracing failure: use plain forward-mode AD
        pass

    def forward_mode(v: Tensor) -> Tensor:
        with torch.no_grad(), fwad.dual_level():
            return fwad.unpack_dual(field(fwad.make_dual(x0, v))).tangent

    return forward_mode


def jacobian_operator(
    model: nn.Module,
    state: Tensor | tuple[Tensor, ...],
    inputs: Tensor | None = None,
    *,
    kind: str = "velocity",
    dtype: torch.dtype | None = torch.float64,
) -> Callable[[Tensor], Tensor]:
    """Matrix-free Jacobian of a model's vector field at one state, by Jacobian-vector products.

    Parameters
    ----------
    model : DynamicalRNN
        Any model (single- or multi-area); a float64 copy is used unless ``dtype`` is None.
    state : Tensor or tuple of Tensor
        One state: flat ``(N,)`` / ``(1, N)``, or the model's structure with batch 1.
    inputs : Tensor, optional
        One time step's constant input, ``(*input_shape)`` (no batch axis); ``None`` = no input.
    kind : {"velocity", "step"}
        ``velocity``: ``J = ∂(dr/dt)/∂r`` in 1/ms (eq. 2; fixed points are stable when every
        eigenvalue has negative real part). ``step``: the noise-free Euler map
        ``r ↦ r + dt · dr/dt`` (eq. 9), ``I + dt J`` (stable when the spectral radius < 1).

    Returns
    -------
    callable
        ``(batch, N) → (batch, N)``, with ``.shape = (N, N)``.
    """
    if kind not in ("velocity", "step"):
        raise ValueError(f"kind must be 'velocity' or 'step' (got {kind!r})")
    clone = model if dtype is None else _double_copy(model, dtype)
    n = clone.n_neurons
    if isinstance(state, tuple):
        flat = clone.flatten_state(state)
    else:
        flat = state.reshape(1, -1) if state.ndim == 1 else state
        if flat.ndim != 2 or flat.shape[1] != n:
            flat = clone.flatten_state(state)
    if flat.shape != (1, n):
        raise ValueError(
            f"state must be one state of {n} neurons (got flat shape {tuple(flat.shape)})"
        )
    ref = next(iter(clone.parameters()), None)
    work_dtype = dtype if dtype is not None else (ref.dtype if ref is not None else flat.dtype)
    x0 = flat.detach().to(work_dtype)
    h = None if inputs is None else inputs.detach().to(work_dtype).reshape(1, *inputs.shape)

    def field(x: Tensor) -> Tensor:
        return clone.step(x, h, noise=False) if kind == "step" else clone.velocity(x, h)

    tangent = _linearized(field, x0)

    def apply(v: Tensor) -> Tensor:
        squeeze = v.ndim == 1
        v = v.reshape(-1, n).to(work_dtype)
        out = torch.cat([tangent(v[i : i + 1]) for i in range(len(v))])
        return out[0] if squeeze else out

    apply.shape = (n, n)
    return apply


def jacobian_eigenvalues(
    model: nn.Module,
    state: Tensor | tuple[Tensor, ...],
    inputs: Tensor | None = None,
    k: int = 10,
    *,
    which: str = "LR",
    kind: str = "velocity",
    **kwargs: Any,
) -> Spectrum:
    """Top-k eigenvalues of the vector-field Jacobian of any model at a state (dense when the
    network has at most 2,000 neurons, ARPACK on Jacobian-vector products otherwise). See
    :func:`jacobian_operator` for the arguments, :func:`top_eigenvalues` for the keywords.
    Eigenvalues are in 1/ms for ``kind="velocity"``."""
    op = jacobian_operator(
        model, state, inputs, kind=kind, dtype=kwargs.pop("dtype", torch.float64)
    )
    return top_eigenvalues(op, k, n=op.shape[0], which=which, **kwargs)


def power_iteration(
    operator: Operator,
    *,
    n: int | None = None,
    n_trials: int = 8,
    n_iter: int = 1000,
    tol: float = 1e-10,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[float, Tensor]:
    """Dominant eigenvalue and eigenvector by power iteration, ``n_trials`` random starts at
    once (one batched operator call per iteration).

    Converges when the eigenvalue of largest magnitude is real and separated from the rest
    (rate ``|λ₂/λ₁|``); a dominant complex pair makes the iterate rotate in its plane, which is
    reported by a large residual — use :func:`top_eigenvalues` then.

    Returns
    -------
    eigenvalue : float
        Rayleigh quotient of the best trial (smallest residual).
    eigenvector : Tensor
        ``(n,)`` unit vector.
    """
    apply, n, _ = _as_apply(operator, n)
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive int (got {n_trials!r})")
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive int (got {n_iter!r})")
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(n_trials, n, generator=g, dtype=dtype)
    v = v / v.norm(dim=1, keepdim=True)
    with torch.no_grad():
        for _ in range(n_iter):
            w = apply(v)
            lam = (v * w).sum(dim=1, keepdim=True)
            residual = (w - lam * v).norm(dim=1)
            if bool(residual.min() < tol * lam.abs().max().clamp_min(1e-300)):
                break
            v = w / w.norm(dim=1, keepdim=True).clamp_min(1e-300)
        w = apply(v)
        lam = (v * w).sum(dim=1)
        residual = (w - lam[:, None] * v).norm(dim=1)
    best = int(torch.argmin(residual))
    return float(lam[best]), v[best]
