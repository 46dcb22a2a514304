"""Dimensionality of neural activity (Appendix B.2 eq. 3, Fig. S1B, Fig. 4C).

Recorded activity ranges from a 125-neuron RNN simulated for thousands of trials (10⁶ samples
× 125 neurons) to a CordsNet area of ~10⁶ neurons (C·H·W) over thousands of time points, so
every computation here works on the cheaper side of the data matrix X (samples × neurons):

- :func:`participation_ratio` and :func:`cumulative_variance_explained` use the neuron
  covariance ``XᵀX`` when there are more samples than neurons and the samples × samples Gram
  matrix ``XXᵀ`` otherwise (their non-zero eigenvalues coincide).
- :class:`PCA` is a scikit-learn-style estimator whose ``fit`` picks its solver from the
  shape: the neuron covariance (exact, one pass over blocks of samples, memory N²), the Gram
  matrix (exact, blocks of neurons, memory samples²) or a randomized SVD (Halko, Martinsson &
  Tropp 2011; a few passes over blocks of samples, memory (samples + N) × (k + oversampling)).
  ``fit`` also accepts data that do not fit in memory: a memory-mapped array, or a function
  returning a fresh iterator of sample blocks (e.g. trials simulated on the fly).
  ``partial_fit`` streams batches of samples with an incremental SVD; ``transform`` projects
  new trajectories.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch import Tensor

__all__ = ["participation_ratio", "cumulative_variance_explained", "PCA"]


def _as_samples(activity: Tensor | np.ndarray, name: str = "activity") -> Tensor:
    if isinstance(activity, np.ndarray):
        with warnings.catch_warnings():  # a read-only np.memmap: shared, never written
            warnings.filterwarnings("ignore", message=".*not writable", category=UserWarning)
            activity = torch.from_numpy(activity)
    if not isinstance(activity, Tensor):
        raise TypeError(f"{name} must be a Tensor or ndarray, got {type(activity).__name__}")
    if activity.ndim < 2:
        raise ValueError(
            f"{name} must be (samples, neurons) or (trials, time, *state), got {tuple(activity.shape)}"
        )
    if activity.ndim > 2:
        activity = activity.reshape(activity.shape[0] * activity.shape[1], -1)
    return activity.detach()  # analyses never need the graph of a trajectory


def _gram_spectrum(activity: Tensor) -> Tensor:
    """Eigenvalues (decreasing, float64, ≥ 0) of the centred sample scatter ``XᵀX``."""
    x = activity.double() - activity.double().mean(dim=0, keepdim=True)
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0)


def participation_ratio(activity: Tensor | np.ndarray) -> float:
    """Participation ratio ``PR = (Σ λ_i)² / Σ λ_i²`` of the activity covariance (Appendix B.2,
    eq. 3), from the smaller of the neuron covariance and the samples × samples Gram matrix of
    the centred samples (``tr(C)`` and ``tr(C²)`` are the same on both sides).

    Parameters
    ----------
    activity : Tensor or ndarray
        ``(samples, neurons)`` (time points and trials by neurons) or ``(trials, time, *state)``
        (e.g. ``Trajectory.rates``), as :class:`PCA` takes.
    """
    x = _as_samples(activity)
    if x.shape[0] < 2:
        raise ValueError(
            f"activity must have at least 2 samples (samples, neurons), got {tuple(x.shape)}"
        )
    x = x.double() - x.double().mean(dim=0, keepdim=True)
    # tr(C) = ‖X‖²_F and tr(C²) = ‖X Xᵀ‖²_F (up to the same 1/(n-1) factor, which cancels)
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    trace = torch.trace(gram)
    trace_sq = (gram * gram).sum()
    if trace_sq == 0:
        return 0.0
    return float(trace**2 / trace_sq)


def cumulative_variance_explained(activity: Tensor) -> Tensor:
    """Fraction of variance explained by the first 1, 2, … principal components (Fig. S1B,
    middle).

    Parameters
    ----------
    activity : Tensor
        ``(samples, neurons)`` or ``(trials, time, *state)``.

    Returns
    -------
    Tensor
        ``(min(samples, neurons),)`` float64, non-decreasing, ending at 1 (all zeros for
        constant activity).
    """
    x = _as_samples(activity)
    if x.shape[0] < 2:
        raise ValueError(f"activity needs at least 2 samples, got {x.shape[0]}")
    eig = _gram_spectrum(x)
    total = eig.sum()
    if total <= 0:
        return torch.zeros_like(eig)
    return torch.cumsum(eig, 0) / total


SOLVERS = ("auto", "covariance", "gram", "randomized")

#: Prefer an exact solver unless it costs this many times the randomized one (see
#: :meth:`PCA.fit`).
EXACT_COST_FACTOR = 4


def _flip_signs(components: Tensor) -> Tensor:
    """The sign convention of scikit-learn's PCA (``svd_flip(u_based_decision=False)``): the
    entry of largest magnitude in each component ``(k, neurons)`` is positive."""
    rows = torch.arange(components.shape[0], device=components.device)
    signs = torch.sign(components[rows, components.abs().argmax(dim=1)])
    signs[signs == 0] = 1
    return components * signs[:, None]


class _Blocks:
    """The sample blocks of ``fit``'s input, readable several times.

    An array (Tensor, ndarray, ``np.memmap``) is read ``block_size // neurons`` samples at a
    time (at least one); a callable is called once per pass and must return a fresh iterable
    of blocks; a list or tuple of arrays is iterated as is. Each block is ``(samples, neurons)`` or
    ``(trials, time, *state)``."""

    def __init__(self, activity, block_size: int) -> None:
        self.array: Tensor | None = None
        self.block_size = block_size
        if isinstance(activity, (Tensor, np.ndarray)):
            self.array = _as_samples(activity)
            self.n_samples, self.n_neurons = self.array.shape
            self._factory = self._array_blocks
        elif callable(activity):
            self._factory = activity
        elif isinstance(activity, Iterator) or not isinstance(activity, Iterable):
            raise TypeError(
                "activity must be an array (Tensor, ndarray, np.memmap), a list of sample "
                "blocks or a function returning a fresh iterable of blocks (fit reads the data "
                f"several times); got {type(activity).__name__}. To stream a one-shot "
                "iterator use partial_fit."
            )
        else:
            self._factory = lambda: iter(activity)
        if self.array is None:
            first = next(iter(self._blocks_of(self._factory())), None)
            if first is None:
                raise ValueError("activity yielded no samples")
            self.n_neurons = first.shape[1]
            self.n_samples = None  # known after the first pass
        else:
            first = self.array
        self.dtype, self.device = first.dtype, first.device

    def _array_blocks(self):
        rows = max(1, self.block_size // self.n_neurons)
        for start in range(0, self.array.shape[0], rows):
            yield self.array[start : start + rows]

    def _blocks_of(self, iterable):
        for block in iterable:
            x = _as_samples(block, "a block of activity")
            if x.shape[1] != getattr(self, "n_neurons", x.shape[1]):
                raise ValueError(
                    f"every block must have {self.n_neurons} neurons, got {x.shape[1]}"
                )
            if x.shape[0]:
                yield x

    def __iter__(self):
        return self._blocks_of(self._factory())


class PCA:
    """Principal component analysis of large recordings (Fig. 4C) in the scikit-learn style.

    Parameters
    ----------
    n_components : int
        Number of components kept (k).
    solver : {"auto", "covariance", "gram", "randomized"}
        How :meth:`fit` computes the components (see there); ``"auto"`` picks from the shape.
    block_size : int
        Values (samples × neurons) read at once: blocks of ``block_size // neurons`` samples
        (covariance, randomized, :meth:`transform`) or ``block_size // samples`` neurons (gram).
        Bounds the working memory (2²⁶ values: 256 MB in float32) for data that do not fit in
        memory.
    n_oversamples, n_power_iter : int
        Randomized solver: sketch width ``k + n_oversamples`` and power iterations ``q``
        (each costs two passes over the data; more iterations sharpen components whose
        variances are close to the next ones).
    seed : int
        Seed of the randomized solver's Gaussian test matrix.

    Attributes (after fitting)
    --------------------------
    mean_ : Tensor
        ``(neurons,)`` float64 mean of the samples.
    components_ : Tensor
        ``(n_components, neurons)`` float64 orthonormal principal axes; the entry of largest
        magnitude of each is positive (scikit-learn's convention).
    singular_values_ : Tensor
        ``(n_components,)`` of the centred data.
    explained_variance_ : Tensor
        ``(n_components,)`` variances along them (``1 / (samples − 1)`` normalisation).
    explained_variance_ratio_ : Tensor
        The same over the total variance (exact for every solver).
    participation_ratio_ : float
        Eq. 3 of the full spectrum (exact solvers) or of the kept components (randomized
        solver and :meth:`partial_fit`: a lower bound, since adding smaller eigenvalues always
        raises it).
    n_samples_seen_ : int
    solver_ : str
        The solver :meth:`fit` used.
    """

    def __init__(
        self,
        n_components: int = 10,
        *,
        solver: str = "auto",
        block_size: int = 2**26,
        n_oversamples: int = 10,
        n_power_iter: int = 2,
        seed: int = 0,
    ) -> None:
        if not isinstance(n_components, int) or isinstance(n_components, bool) or n_components < 1:
            raise ValueError(f"n_components must be a positive int (got {n_components!r})")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS} (got {solver!r})")
        for name, value, minimum in (("block_size", block_size, 1),
                                     ("n_oversamples", n_oversamples, 0),
                                     ("n_power_iter", n_power_iter, 0)):  # fmt: skip
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"{name} must be an int >= {minimum} (got {value!r})")
        self.n_components = n_components
        self.solver = solver
        self.block_size = block_size
        self.n_oversamples = n_oversamples
        self.n_power_iter = n_power_iter
        self.seed = seed
        self._reset()

    def _reset(self) -> None:
        self.mean_: Tensor | None = None
        self.components_: Tensor | None = None
        self.singular_values_: Tensor | None = None
        self.explained_variance_: Tensor | None = None
        self.explained_variance_ratio_: Tensor | None = None
        self.participation_ratio_: float | None = None
        self.n_samples_seen_ = 0
        self.solver_: str | None = None
        self._total_ss = 0.0

    # -- fit -------------------------------------------------------------------------------

    def _choose_solver(self, blocks: _Blocks) -> str:
        """Exact when it costs at most :data:`EXACT_COST_FACTOR` × the randomized solver.

        Per sample and neuron the exact solvers cost ``2 min(samples, N)`` flops (one product
        of the data with itself), the randomized one ``2 (2 q + 2) (k + p)`` (one product of
        width k + p per pass). Without the sample count (blocks from a function) the exact
        side is the covariance, chosen from N alone."""
        width = 2 * (2 * self.n_power_iter + 2) * (self.n_components + self.n_oversamples)
        n, m = blocks.n_samples, blocks.n_neurons
        smaller = m if n is None else min(n, m)
        if 2 * smaller > EXACT_COST_FACTOR * width:
            return "randomized"
        if n is None or m <= n:
            return "covariance"
        return "gram"

    def fit(self, activity) -> PCA:
        """Fit the components.

        Solvers (``solver="auto"`` takes the cheapest exact one unless the randomized SVD is
        more than :data:`EXACT_COST_FACTOR` times cheaper):

        - ``"covariance"``: the N × N neuron covariance accumulated over sample blocks in
          float64, then its eigenvectors; exact, one pass, memory N². For many samples and
          few neurons (10⁶ × 125: one pass).
        - ``"gram"``: the samples × samples Gram matrix accumulated over blocks of neurons
          (arrays only), components from a second pass; exact, memory samples².
        - ``"randomized"``: randomized SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4 with
          ``n_power_iter`` power iterations) of the centred data, applied one sample block at
          a time: ``2 q + 2`` passes, memory ``(samples + N) × (k + n_oversamples)``; exact
          when the data have rank ≤ ``k + n_oversamples``, otherwise accurate to the
          spectral decay (the error falls as (σ_{k+p+1} / σ_k)^{2q+1}).

        Parameters
        ----------
        activity : Tensor, ndarray, np.memmap, list of arrays or callable
            ``(samples, neurons)`` or ``(trials, time, *state)`` (e.g. ``Trajectory.rates``)
            in memory or memory-mapped (read ``block_size`` values at a time); or data that
            do not fit in memory as sample blocks, each ``(samples, neurons)`` or
            ``(trials, time, *state)``: a list of arrays, or a function with no argument
            returning a fresh iterable of blocks (called once per pass; it must give the
            same blocks every time, e.g. trials re-simulated with fixed seeds).
            ``n_components`` must not exceed ``min(samples, neurons)``.
        """
        blocks = _Blocks(activity, self.block_size)
        solver = self._choose_solver(blocks) if self.solver == "auto" else self.solver
        if solver == "gram" and blocks.array is None:
            raise ValueError(
                "solver='gram' needs the activity as one array (it reads blocks of neurons); "
                "use 'covariance' or 'randomized' for sample blocks"
            )
        self._reset()
        self.solver_ = solver
        {"covariance": self._fit_covariance, "gram": self._fit_gram,
         "randomized": self._fit_randomized}[solver](blocks)  # fmt: skip
        return self

    def _check_k(self, n_samples: int, n_neurons: int) -> None:
        if n_samples < 2:
            raise ValueError(f"activity needs at least 2 samples, got {n_samples}")
        if self.n_components > min(n_samples, n_neurons):
            raise ValueError(
                f"n_components={self.n_components} exceeds min(samples, neurons) = "
                f"{min(n_samples, n_neurons)}"
            )

    def _finish(self, mean: Tensor, components: Tensor, eig: Tensor, n: int, total: float,
                spectrum: Tensor) -> None:  # fmt: skip
        """Store a fit: ``eig`` the kept scatter eigenvalues (decreasing), ``total`` the
        total scatter, ``spectrum`` the eigenvalues the participation ratio is computed on."""
        k = self.n_components
        components = _flip_signs(components)
        self.mean_, self.components_ = mean, components
        self.singular_values_ = eig.clamp_min(0).sqrt()
        self.explained_variance_ = eig / (n - 1)
        self.explained_variance_ratio_ = (
            eig / total if total > 0 else torch.zeros(k, dtype=torch.float64)
        )
        square = float((spectrum**2).sum())
        self.participation_ratio_ = float(spectrum.sum()) ** 2 / square if square > 0 else 0.0
        self.n_samples_seen_ = n
        self._total_ss = total

    def _fit_covariance(self, blocks: _Blocks) -> None:
        m = blocks.n_neurons
        shift = scatter = sums = None
        n = 0
        for x in blocks:
            x = x.double()
            if shift is None:  # shifted sums: no cancellation when the mean is large
                shift = x.mean(dim=0)
                scatter = torch.zeros(m, m, dtype=torch.float64, device=x.device)
                sums = torch.zeros(m, dtype=torch.float64, device=x.device)
            xs = x - shift
            scatter.addmm_(xs.T, xs)
            sums += xs.sum(dim=0)
            n += x.shape[0]
        self._check_k(n, m)
        d = sums / n
        scatter -= n * torch.outer(d, d)
        eig, vec = torch.linalg.eigh((scatter + scatter.T) / 2)
        eig, vec = eig.flip(0).clamp_min(0), vec.flip(1)
        k = self.n_components
        self._finish(shift + d, vec[:, :k].T.contiguous(), eig[:k], n, float(eig.sum()), eig)

    def _fit_gram(self, blocks: _Blocks) -> None:
        x = blocks.array
        n_samples, n_neurons = x.shape
        self._check_k(n_samples, n_neurons)
        k, size = self.n_components, max(1, self.block_size // n_samples)
        mean = torch.zeros(n_neurons, dtype=torch.float64, device=x.device)
        for start in range(0, n_neurons, size):
            mean[start : start + size] = x[:, start : start + size].double().mean(dim=0)
        gram = torch.zeros(n_samples, n_samples, dtype=torch.float64, device=x.device)
        for start in range(0, n_neurons, size):
            xb = x[:, start : start + size].double() - mean[start : start + size]
            gram.addmm_(xb, xb.T)
        eig, u = torch.linalg.eigh(gram)
        eig, u = eig.flip(0).clamp_min(0), u.flip(1)
        u_k = u[:, :k] / eig[:k].sqrt().clamp_min(torch.finfo(torch.float64).tiny)
        components = torch.empty(k, n_neurons, dtype=torch.float64, device=x.device)
        for start in range(0, n_neurons, size):
            xb = x[:, start : start + size].double() - mean[start : start + size]
            components[:, start : start + size] = u_k.T @ xb
        self._finish(mean, components, eig[:k], n_samples, float(eig.sum()), eig)

    def _fit_randomized(self, blocks: _Blocks) -> None:
        m, k = blocks.n_neurons, self.n_components
        width = min(k + self.n_oversamples, m)
        g = torch.Generator().manual_seed(int(self.seed))
        omega = torch.randn(m, width, generator=g, dtype=torch.float64)
        dtype = torch.promote_types(blocks.dtype, torch.float32)  # products in the data's

        def as_data(t: Tensor) -> Tensor:
            return t.to(device=blocks.device, dtype=dtype)

        # The mean never touches the data: with C = I − 11ᵀ/n, X_c Z = C (X Z) (centre the
        # rows of the product) and X_cᵀ Q = Xᵀ (C Q) (centre Q first).
        def project(z: Tensor) -> Tensor:
            """X_c Z, (n, width): one pass."""
            z_d = as_data(z)
            rows = torch.cat([(x.to(dtype) @ z_d).double().cpu() for x in blocks])
            return rows - rows.mean(dim=0)

        def project_back(q: Tensor) -> tuple[Tensor, Tensor]:
            """X_cᵀ Q (m, width) and the mean (m,), from one pass with a column 1/n."""
            n = q.shape[0]
            a = torch.cat([q - q.mean(dim=0), torch.full((n, 1), 1.0 / n, dtype=q.dtype)], 1)
            a_d, start = as_data(a), 0
            out = torch.zeros(m, a.shape[1], dtype=dtype, device=blocks.device)
            for x in blocks:  # accumulate in place: no (m, width) temporary per block
                out.addmm_(x.to(dtype).T, a_d[start : start + x.shape[0]])
                start += x.shape[0]
            out = out.double().cpu()
            return out[:, :-1], out[:, -1]

        # pass 1: the range of X_c Ω and the total sum of squares
        omega_d, parts, sumsq = as_data(omega), [], 0.0
        for x in blocks:
            parts.append((x.to(dtype) @ omega_d).double().cpu())
            sumsq += float(torch.linalg.vector_norm(x).double() ** 2)
        y = torch.cat(parts)
        n = y.shape[0]
        self._check_k(n, m)
        q = torch.linalg.qr(y - y.mean(dim=0))[0]
        for _ in range(self.n_power_iter):  # Halko et al. 2011, Alg. 4.4
            z = torch.linalg.qr(project_back(q)[0])[0]
            q = torch.linalg.qr(project(z))[0]
        bt, mean = project_back(q)  # Bᵀ = X_cᵀ Q, (m, width)
        eig, vec = torch.linalg.eigh(bt.T @ bt)  # B Bᵀ = U_B S² U_Bᵀ
        eig, vec = eig.flip(0).clamp_min(0)[:k], vec.flip(1)[:, :k]
        components = (bt @ vec).T / eig.sqrt().clamp_min(torch.finfo(torch.float64).tiny)[:, None]
        total = sumsq - n * float(mean @ mean)
        self._finish(mean, components, eig, n, total, eig)

    # -- streaming fit ---------------------------------------------------------------------

    def partial_fit(self, batch: Tensor | np.ndarray) -> PCA:
        """Update the fit with a batch of samples (incremental SVD, Ross et al. 2008).

        ``batch`` is ``(samples, neurons)`` or ``(trials, time, *state)``; memory is
        ``(n_components + samples) × neurons``.
        """
        x = _as_samples(batch, "batch").double()
        m, n_neurons = x.shape
        if self.mean_ is not None and n_neurons != self.mean_.shape[0]:
            raise ValueError(f"batch has {n_neurons} neurons, the fit has {self.mean_.shape[0]}")
        n_old = self.n_samples_seen_
        n_new = n_old + m
        batch_mean = x.mean(dim=0)
        xc = x - batch_mean
        if n_old == 0:
            stacked = xc
            mean = batch_mean
            self._total_ss = float((xc * xc).sum())
        else:
            mean = self.mean_ + (batch_mean - self.mean_) * (m / n_new)
            correction = ((n_old * m / n_new) ** 0.5) * (self.mean_ - batch_mean)
            stacked = torch.cat(
                [self.singular_values_[:, None] * self.components_, xc, correction[None]], dim=0
            )
            self._total_ss += float((xc * xc).sum()) + float((correction * correction).sum())
        # thin SVD through the small Gram matrix of the stacked rows
        gram = stacked @ stacked.T
        eig, u = torch.linalg.eigh(gram)
        eig, u = eig.flip(0).clamp_min(0), u.flip(1)
        k = min(self.n_components, stacked.shape[0], n_neurons)
        s = eig[:k].sqrt()
        self.components_ = _flip_signs(
            (u[:, :k] / s.clamp_min(torch.finfo(torch.float64).tiny)).T @ stacked
        )
        self.singular_values_ = s
        self.mean_ = mean
        self.n_samples_seen_ = n_new
        denom = max(n_new - 1, 1)
        self.explained_variance_ = eig[:k] / denom
        self.explained_variance_ratio_ = (
            eig[:k] / self._total_ss if self._total_ss > 0 else eig[:k] * 0
        )
        kept = eig[:k]
        self.participation_ratio_ = (
            float(kept.sum() ** 2 / (kept**2).sum()) if kept.sum() > 0 else 0.0
        )
        return self

    # -- projection ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self.components_ is None:
            raise RuntimeError("PCA is not fitted: call fit or partial_fit first")

    def transform(self, activity: Tensor | np.ndarray) -> Tensor:
        """Project activity onto the components.

        ``(samples, neurons)`` → ``(samples, n_components)``; ``(trials, time, *state)`` →
        ``(trials, time, n_components)`` (float64).
        """
        self._check_fitted()
        if isinstance(activity, np.ndarray):
            activity = torch.from_numpy(activity)
        lead = activity.shape[:2] if activity.ndim > 2 else activity.shape[:1]
        x = _as_samples(activity)
        if x.shape[1] != self.mean_.shape[0]:
            raise ValueError(
                f"activity has {x.shape[1]} neurons, the fit has {self.mean_.shape[0]}"
            )
        out = torch.zeros(
            x.shape[0], self.components_.shape[0], dtype=torch.float64, device=x.device
        )
        size = max(1, self.block_size // x.shape[0])
        for start in range(0, x.shape[1], size):
            stop = start + size
            out += (x[:, start:stop].double() - self.mean_[start:stop]) @ self.components_[
                :, start:stop
            ].T
        return out.reshape(*lead, -1)

    def fit_transform(self, activity: Tensor | np.ndarray) -> Tensor:
        return self.fit(activity).transform(activity)

    def inverse_transform(self, projected: Tensor) -> Tensor:
        """Map component scores ``(..., n_components)`` back to neurons ``(..., neurons)``."""
        self._check_fitted()
        return projected.double() @ self.components_ + self.mean_
