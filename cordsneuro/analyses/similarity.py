"""Shape metrics between networks' representations (paper Section 2.1, Appendix B.3, Table S2,
Fig. 1C, Fig. S2), after Williams, Kunz, Kornblith & Linderman (NeurIPS 2021, "Generalized shape
metrics on neural representations") and their ``netrep`` package.

Two networks recorded on the same trials give activity matrices ``X (m, n_x)`` and ``Y (m,
n_y)`` (m = trials × time steps, the rows paired). Each is centred and *partially whitened*
(Williams et al., eq. 8; netrep's regularised whitening)::

    C = Xᵀ X = V diag(λ) Vᵀ,   λ clipped below at 1e-7
    Z = V diag(α + (1 − α) λ^(−1/2)) Vᵀ · s,   s² = Σλ / Σ(α √λ + (1 − α))²   (total variance kept)
    X̃ = X Z

then the two are rotated onto each other (orthogonal Procrustes: ``X̃ᵀ Ỹ = U S Vᵀ``, ``X̃ U``
against ``Ỹ V``) and compared by the angle ``arccos(Σ S / (‖X̃‖ ‖Ỹ‖))`` (``"angular"``) or the
Frobenius distance ``√(‖X̃‖² + ‖Ỹ‖² − 2 Σ S)`` (``"euclidean"``). ``α = 1`` is the Procrustes
shape distance (invariant to rotations and translations), ``α = 0`` the CCA distance (invariant
to invertible linear maps), values between interpolate. Both scores are metrics (Williams et al.,
Propositions 1–2): zero on equal shapes, symmetric, triangle inequality. Networks of different
widths are zero-padded to the larger width (netrep's ``zero_pad``).

Also here: distance matrices over many networks (each whitened once, pairs on every core),
CCA alignment of two networks' trajectories for plotting (Fig. 1C), multidimensional scaling of
a distance matrix (Fig. S2C) and normalised singular values of recurrent weights (Fig. S2B).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "LinearMetric",
    "whiten",
    "angular_distance",
    "check_activity",
    "pairwise_distances",
    "Alignment",
    "cca_align",
    "mds_embedding",
    "normalised_singular_values",
]

#: Eigenvalues of ``Xᵀ X`` are clipped below at this value before whitening (netrep's default).
EIGVAL_TOL = 1e-7
SCORE_METHODS = ("angular", "euclidean")


# ----------------------------------------------------------------------------- validation


def check_activity(
    X: Any, name: str = "X", rows: int | None = None, other: str = "Y"
) -> np.ndarray:
    """``X`` as a finite float64 matrix ``(m, n)``; ``rows`` (if given) must equal ``m``.

    Raises ``ValueError`` naming ``name`` for a wrong number of dimensions, an empty matrix,
    NaN / Inf entries, or rows that do not pair with the other network's (``other``).
    """
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D activity matrix (samples = trials × time, neurons), got "
            f"shape {X.shape}; reshape trajectories (trials, time, N) to (trials * time, N)"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN/Inf value(s) (first at sample {row}, neuron "
            f"{col}); the network's activity diverged or was recorded wrongly"
        )
    if rows is not None and X.shape[0] != rows:
        raise ValueError(
            f"{name} has {X.shape[0]} samples but {other} has {rows}: the two networks must be "
            "recorded on the same trials and time steps (rows are paired)"
        )
    return X


def _pad(X: np.ndarray, width: int) -> np.ndarray:
    return X if X.shape[1] == width else np.pad(X, ((0, 0), (0, width - X.shape[1])))


def _check_pair(X: Any, Y: Any, zero_pad: bool) -> tuple[np.ndarray, np.ndarray]:
    X = check_activity(X, "X")
    Y = check_activity(Y, "Y", rows=X.shape[0], other="X")
    if X.shape[1] != Y.shape[1]:
        if not zero_pad:
            raise ValueError(
                f"X has {X.shape[1]} neurons and Y {Y.shape[1]}; set zero_pad=True to compare "
                "networks of different widths"
            )
        width = max(X.shape[1], Y.shape[1])
        X, Y = _pad(X, width), _pad(Y, width)
    return X, Y


def _check_params(alpha: Any, score_method: Any) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)):
        raise ValueError(f"alpha must be a number in [0, 1] (got {alpha!r})")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(
            f"alpha must be in [0, 1] (1: Procrustes, 0: CCA, between: partial whitening); "
            f"got {alpha!r}"
        )
    if score_method not in SCORE_METHODS:
        raise ValueError(f"score_method must be one of {SCORE_METHODS} (got {score_method!r})")


# ----------------------------------------------------------------------------- pieces


def whiten(
    X: np.ndarray, alpha: float, preserve_variance: bool = True, eigval_tol: float = EIGVAL_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """Partial whitening of a centred ``X (m, n)`` (Williams et al. 2021, eq. 8).

    Returns ``(X @ Z, Z)`` with ``Z = V diag(α + (1 − α) λ^(−1/2)) Vᵀ`` from ``Xᵀ X = V diag(λ)
    Vᵀ`` (λ clipped below at ``eigval_tol``), rescaled so that the total variance
    ``Σλ`` is kept when ``preserve_variance``. ``alpha = 1`` (within ``eigval_tol``) returns
    ``X`` unchanged and ``Z = I``.
    """
    if alpha > 1 - eigval_tol:
        return X, np.eye(X.shape[1])
    lam, V = np.linalg.eigh(X.T @ X)
    lam = np.maximum(lam, eigval_tol)
    d = alpha + (1 - alpha) / np.sqrt(lam)
    if preserve_variance:
        # variance of X Z along each eigenvector: λ d² = (α √λ + (1 − α))²
        d = d * np.sqrt(lam.sum() / np.sum((alpha * np.sqrt(lam) + (1 - alpha)) ** 2))
    Z = (V * d) @ V.T
    return X @ Z, Z


def angular_distance(X: np.ndarray, Y: np.ndarray) -> float:
    """``arccos(⟨X, Y⟩_F / (‖X‖_F ‖Y‖_F))`` in radians, in [0, π]."""
    norm = np.linalg.norm(X) * np.linalg.norm(Y)
    if norm == 0:
        raise ValueError("angular distance is undefined for a matrix of zeros (silent network)")
    return float(np.arccos(np.clip(np.vdot(X, Y) / norm, -1.0, 1.0)))


def _prepare(
    X: np.ndarray, alpha: float, center: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre (optionally) and partially whiten one network: ``(mean, X̃, Z)``."""
    mean = X.mean(axis=0) if center else np.zeros(X.shape[1])
    Xw, Z = whiten(X - mean, alpha)
    return mean, Xw, Z


def _score(nuclear: np.ndarray, nx: np.ndarray, ny: np.ndarray, method: str) -> np.ndarray:
    """Scores from ``Σ S`` (the nuclear norm of ``X̃ᵀ Ỹ``) and the norms of X̃ and Ỹ."""
    if method == "angular":
        return np.arccos(np.clip(nuclear / (nx * ny), -1.0, 1.0))
    return np.sqrt(np.maximum(nx**2 + ny**2 - 2 * nuclear, 0.0))


# ----------------------------------------------------------------------------- estimator


class LinearMetric(BaseEstimator):
    """Generalised shape metric between two networks (Williams et al. 2021; netrep's
    ``LinearMetric``), a scikit-learn estimator.

    Parameters
    ----------
    alpha : float in [0, 1]
        Regularisation of the whitening: 1 = Procrustes distance (rotations), 0 = CCA
        distance (invertible linear maps), between = partial whitening.
    center_columns : bool
        Subtract each neuron's mean (learned in ``fit``): the metric also ignores translations.
    zero_pad : bool
        Zero-pad the narrower network to the other's width; if False, widths must match.
    score_method : {"angular", "euclidean"}
        Angle (radians) or Frobenius distance between the aligned representations.

    Attributes
    ----------
    mx_, my_ : ndarray (n,)
        Column means of X and Y (zeros without centring).
    Wx_, Wy_ : ndarray (n, n)
        Alignment maps: ``(X − mx_) @ Wx_`` and ``(Y − my_) @ Wy_`` are the aligned
        representations (whitening followed by the optimal rotation).
    n_features_in_ : int
        Width ``n`` after zero-padding.

    Examples
    --------
    >>> metric = LinearMetric(alpha=1.0)                     # Procrustes
    >>> d = metric.fit_score(rates_a.reshape(-1, 125), rates_b.reshape(-1, 125))
    """

    def __init__(
        self,
        alpha: float = 1.0,
        center_columns: bool = True,
        zero_pad: bool = True,
        score_method: str = "angular",
    ) -> None:
        self.alpha = alpha
        self.center_columns = center_columns
        self.zero_pad = zero_pad
        self.score_method = score_method

    def fit(self, X: Any, Y: Any) -> LinearMetric:
        """Learn the alignment of ``X (m, n_x)`` and ``Y (m, n_y)`` (rows paired)."""
        _check_params(self.alpha, self.score_method)
        X, Y = _check_pair(X, Y, self.zero_pad)
        self.mx_, Xw, Zx = _prepare(X, float(self.alpha), self.center_columns)
        self.my_, Yw, Zy = _prepare(Y, float(self.alpha), self.center_columns)
        U, _, Vt = np.linalg.svd(Xw.T @ Yw)
        self.Wx_ = Zx @ U
        self.Wy_ = Zy @ Vt.T
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        """The aligned representations ``((X − mx_) Wx_, (Y − my_) Wy_)``, each ``(m, n)``."""
        check_is_fitted(self, ["Wx_", "Wy_"])
        X, Y = _check_pair(X, Y, self.zero_pad)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X and Y have width {X.shape[1]} (after padding) but the metric was fitted on "
                f"width {self.n_features_in_}"
            )
        return (X - self.mx_) @ self.Wx_, (Y - self.my_) @ self.Wy_

    def score(self, X: Any, Y: Any) -> float:
        """Distance between ``X`` and ``Y`` in the fitted alignment (radians for
        ``"angular"``)."""
        _check_params(self.alpha, self.score_method)
        tX, tY = self.transform(X, Y)
        if self.score_method == "angular":
            return angular_distance(tX, tY)
        return float(np.linalg.norm(tX - tY))

    def fit_score(self, X: Any, Y: Any) -> float:
        """``fit(X, Y).score(X, Y)``: the shape distance between the two networks."""
        return self.fit(X, Y).score(X, Y)


# ----------------------------------------------------------------------------- many networks


def pairwise_distances(
    networks: Sequence[Any],
    alpha: float = 1.0,
    *,
    score_method: str = "angular",
    center_columns: bool = True,
    zero_pad: bool = True,
    n_jobs: int = -1,
    progress: bool = True,
) -> np.ndarray:
    """Shape distances between every pair of networks: a symmetric ``(K, K)`` matrix with a zero
    diagonal, equal entry by entry to ``LinearMetric(alpha, ...).fit_score(X_i, X_j)``.

    Each network is centred and whitened once; for each pair only the singular values of the
    ``(n, n)`` cross-covariance ``X̃_iᵀ X̃_j`` are needed (``Σ S``). Pairs are computed in row
    blocks on ``n_jobs`` threads (joblib; -1 = every core; NumPy releases the GIL in its BLAS
    and LAPACK calls), with a tqdm bar over rows.

    Parameters
    ----------
    networks : sequence of arrays
        ``K`` activity matrices ``(m, n_k)``, all with the same rows (same trials and steps).
    alpha, score_method, center_columns, zero_pad
        As in :class:`LinearMetric`.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    _check_params(alpha, score_method)
    if len(networks) < 1:
        raise ValueError("networks must hold at least one activity matrix")
    mats = [check_activity(networks[0], "networks[0]")]
    rows = mats[0].shape[0]
    for k, X in enumerate(networks[1:], start=1):
        mats.append(check_activity(X, f"networks[{k}]", rows=rows, other="networks[0]"))
    width = max(X.shape[1] for X in mats)
    if any(X.shape[1] != width for X in mats):
        if not zero_pad:
            raise ValueError(
                f"networks have widths {sorted({X.shape[1] for X in mats})}; set zero_pad=True "
                "to compare networks of different widths"
            )
        mats = [_pad(X, width) for X in mats]
    K = len(mats)
    whitened = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_prepare)(X, float(alpha), center_columns) for X in mats
    )
    stacked = np.concatenate([w[1] for w in whitened], axis=1)  # (m, K n)
    del whitened
    norms = np.linalg.norm(stacked.reshape(rows, K, width), axis=(0, 2))

    def row(i: int) -> tuple[int, np.ndarray]:
        """Distances from network i to networks i + 1 … K − 1."""
        cross = stacked[:, i * width : (i + 1) * width].T @ stacked[:, (i + 1) * width :]
        blocks = cross.reshape(width, K - i - 1, width).transpose(1, 0, 2)
        nuclear = np.linalg.svd(blocks, compute_uv=False).sum(axis=1)
        return i, _score(nuclear, norms[i], norms[i + 1 :], score_method)

    D = np.zeros((K, K))
    jobs = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator_unordered")
    with tqdm(total=K - 1, desc="shape distances", disable=not progress, leave=False) as bar:
        for i, values in jobs(delayed(row)(i) for i in range(K - 1)):
            D[i, i + 1 :] = values
            bar.update(1)
    return D + D.T


# ----------------------------------------------------------------------------- plotting aids


@dataclass
class Alignment:
    """Two networks' trajectories in a shared space (:func:`cca_align`).

    Attributes
    ----------
    x, y : ndarray
        ``(trials, time, n_components)`` aligned trajectories of each network.
    correlations : ndarray
        ``(n_components,)`` correlation of each pair of aligned dimensions (canonical
        correlations, decreasing).
    """

    x: np.ndarray
    y: np.ndarray
    correlations: np.ndarray


def _top_pcs(X: np.ndarray, k: int) -> np.ndarray:
    centred = X - X.mean(axis=0)
    U, s, _ = np.linalg.svd(centred, full_matrices=False)
    return U[:, :k] * s[:k]


def cca_align(
    rates_x: Any, rates_y: Any, n_components: int = 3, n_pcs: int | None = 10
) -> Alignment:
    """Align two networks' trajectories with CCA into a shared low-dimensional space (Fig. 1C).

    Parameters
    ----------
    rates_x, rates_y : array
        ``(trials, time, N_x)`` and ``(trials, time, N_y)`` rates on the same trials.
    n_components : int
        Dimensions of the shared space (the leading canonical pairs).
    n_pcs : int or None
        Reduce each network to its leading principal components first (default 10; None: all
        neurons). Canonical correlation of all N neurons overfits when ``trials × time`` is not
        much larger than N, as in SVCCA (Raghu et al. 2017); this is our choice, the paper does
        not say.
    """
    x = np.asarray(rates_x.detach().cpu() if hasattr(rates_x, "detach") else rates_x, float)
    y = np.asarray(rates_y.detach().cpu() if hasattr(rates_y, "detach") else rates_y, float)
    if x.ndim != 3 or y.ndim != 3 or x.shape[:2] != y.shape[:2]:
        raise ValueError(
            f"rates_x and rates_y must be (trials, time, N) on the same trials and steps; got "
            f"{x.shape} and {y.shape}"
        )
    trials, steps = x.shape[:2]
    X = check_activity(x.reshape(trials * steps, -1), "rates_x")
    Y = check_activity(y.reshape(trials * steps, -1), "rates_y")
    if n_pcs is not None:
        X, Y = _top_pcs(X, n_pcs), _top_pcs(Y, n_pcs)
    width = min(X.shape[1], Y.shape[1])
    if not 1 <= n_components <= width:
        raise ValueError(f"n_components must be in [1, {width}] (got {n_components!r})")
    tX, tY = LinearMetric(alpha=0.0).fit(X, Y).transform(X, Y)
    tX, tY = tX[:, :n_components], tY[:, :n_components]
    corr = np.array(
        [np.corrcoef(tX[:, k], tY[:, k])[0, 1] for k in range(n_components)], dtype=float
    )
    return Alignment(
        tX.reshape(trials, steps, n_components), tY.reshape(trials, steps, n_components), corr
    )


def mds_embedding(distances: Any, n_components: int = 2, seed: int = 0) -> np.ndarray:
    """Metric multidimensional scaling of a distance matrix (Fig. S2C; scikit-learn's ``MDS``
    on the precomputed dissimilarities): ``(K, n_components)`` coordinates."""
    from sklearn.manifold import MDS

    D = check_activity(distances, "distances")
    if D.shape[0] != D.shape[1] or not np.allclose(D, D.T) or np.any(np.diag(D) != 0):
        raise ValueError(
            f"distances must be a symmetric (K, K) matrix with a zero diagonal (shape {D.shape})"
        )
    mds = MDS(
        n_components=n_components, metric="precomputed", init="classical_mds", random_state=seed
    )
    return mds.fit_transform(D)


def normalised_singular_values(weight: Any) -> np.ndarray:
    """Singular values of a recurrent weight matrix divided by the largest (Fig. S2B), in
    decreasing order; a model is read through its ``recurrent_matrix()``.

    The paper plots "normalized singular value distributions" without defining the
    normalisation; dividing by the largest makes networks of any gain comparable."""
    from cordsneuro.analyses.spectra import singular_values

    if hasattr(weight, "recurrent_matrix"):
        weight = weight.recurrent_matrix()
    values = singular_values(weight.detach() if hasattr(weight, "detach") else weight).numpy()
    if values[0] <= 0:
        raise ValueError("the weight matrix is zero: its singular values cannot be normalised")
    return values / values[0]
