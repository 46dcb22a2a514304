"""Shape metrics (Williams et al. 2021) against independent numpy / scipy code of the published
formulas, the metric axioms, and the plotting aids (CCA alignment, MDS, singular values)."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from sklearn.base import clone

from cordsneuro.analyses.similarity import (
    LinearMetric,
    cca_align,
    mds_embedding,
    normalised_singular_values,
    pairwise_distances,
)

TOL = 1e-7  # netrep's floor on the eigenvalues of XᵀX


# ----------------------------------------------------------------------------- reference


def reference_distance(X, Y, alpha, method, center=True):
    """The generalised shape metric written from its definition, without our code: zero-pad,
    centre, partially whiten φ_α(X) = X (α I + (1 − α) C^(−1/2)) (C = XᵀX, its zero block from
    padding floored at 1e-7) scaled to keep tr(C), then the angle arccos(‖φ(X)ᵀφ(Y)‖_* /
    (‖φ(X)‖ ‖φ(Y)‖)) or the Procrustes residual min_Q ‖φ(X) Q − φ(Y)‖ (scipy)."""
    n = max(X.shape[1], Y.shape[1])

    def phi(A):
        width = A.shape[1]
        A = np.hstack([A, np.zeros((A.shape[0], n - width))])
        if center:
            A = A - A.mean(axis=0)
        if alpha == 1:
            return A
        C = A.T @ A
        C_reg = C.copy()
        C_reg[width:, width:] += TOL * np.eye(n - width)  # padded dimensions: zero variance
        inv_sqrt = np.zeros((n, n))
        inv_sqrt[:width, :width] = np.linalg.inv(scipy.linalg.sqrtm(C[:width, :width]).real)
        inv_sqrt[width:, width:] = np.eye(n - width) / np.sqrt(TOL)
        Z = alpha * np.eye(n) + (1 - alpha) * inv_sqrt
        scale = np.sqrt(np.trace(C_reg) / np.trace(Z.T @ C_reg @ Z))
        return A @ Z * scale

    Xt, Yt = phi(X), phi(Y)
    if method == "angular":
        nuclear = np.linalg.norm(Xt.T @ Yt, "nuc")
        return np.arccos(min(nuclear / (np.linalg.norm(Xt) * np.linalg.norm(Yt)), 1.0))
    Q, _ = scipy.linalg.orthogonal_procrustes(Xt, Yt)
    return np.linalg.norm(Xt @ Q - Yt)


def activity(rng, m, n, rank=None):
    """Correlated random activity (m samples, n neurons) with a non-zero mean."""
    rank = rank or n
    latent = rng.standard_normal((m, rank))
    return latent @ rng.standard_normal((rank, n)) + rng.standard_normal(n)


# ----------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("method", ["angular", "euclidean"])
@pytest.mark.parametrize("widths", [(12, 12), (12, 8), (7, 12)])
def test_agrees_with_published_formulas(alpha, method, widths):
    rng = np.random.default_rng(hash((alpha, method, widths)) % 2**32)
    X = activity(rng, 200, widths[0])
    Y = activity(rng, 200, widths[1]) + X[:, :1]  # related to X, not equal
    ours = LinearMetric(alpha=alpha, score_method=method).fit_score(X, Y)
    expected = reference_distance(X, Y, alpha, method)
    assert ours == pytest.approx(expected, abs=1e-8, rel=1e-8)
    assert expected > 0.05  # a real distance, not a trivial zero


@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_no_centering_agrees(method):
    rng = np.random.default_rng(3)
    X, Y = activity(rng, 150, 10), activity(rng, 150, 10)
    ours = LinearMetric(0.5, center_columns=False, score_method=method).fit_score(X, Y)
    assert ours == pytest.approx(reference_distance(X, Y, 0.5, method, center=False), abs=1e-8)


def test_score_on_held_out_data_uses_fitted_alignment():
    rng = np.random.default_rng(4)
    X, Y = activity(rng, 300, 6), activity(rng, 300, 6)
    metric = LinearMetric(alpha=1.0).fit(X[:200], Y[:200])
    tX, tY = metric.transform(X[200:], Y[200:])
    expected = (X[200:] - X[:200].mean(0)) @ metric.Wx_, (Y[200:] - Y[:200].mean(0)) @ metric.Wy_
    np.testing.assert_allclose(tX, expected[0])
    np.testing.assert_allclose(tY, expected[1])
    # without centring, a fitted rotation scored on other data is no better than the rotation
    # fitted to that data (the optimum)
    fixed = LinearMetric(alpha=1.0, center_columns=False).fit(X[:200], Y[:200])
    held_out = fixed.score(X[200:], Y[200:])
    optimum = LinearMetric(alpha=1.0, center_columns=False).fit_score(X[200:], Y[200:])
    assert held_out > optimum + 1e-3


# ----------------------------------------------------------------------------- axioms


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_metric_axioms(alpha, method):
    rng = np.random.default_rng(5)
    nets = [activity(rng, 120, n, rank=r) for n, r in [(10, 10), (10, 4), (8, 8), (10, 10)]]
    metric = LinearMetric(alpha=alpha, score_method=method)
    D = pairwise_distances(nets, alpha, score_method=method, progress=False, n_jobs=2)
    for i, X in enumerate(nets):
        assert metric.fit_score(X, X) == pytest.approx(0.0, abs=1e-6)
        for j, Y in enumerate(nets):
            d_xy = metric.fit_score(X, Y)
            assert d_xy == pytest.approx(metric.fit_score(Y, X), abs=1e-9)  # symmetry
            if i != j:
                assert D[i, j] == pytest.approx(d_xy, abs=1e-9)  # the matrix is the metric
                assert d_xy > 1e-3
            else:
                assert D[i, j] == 0.0 and d_xy == pytest.approx(0.0, abs=1e-6)
            for Z in nets:
                assert metric.fit_score(X, Z) <= d_xy + metric.fit_score(Y, Z) + 1e-9


def test_procrustes_invariant_to_rotations_and_translations():
    rng = np.random.default_rng(6)
    X, Y = activity(rng, 150, 9), activity(rng, 150, 9)
    Q = scipy.stats.ortho_group.rvs(9, random_state=1)
    metric = LinearMetric(alpha=1.0)
    moved = X @ Q + rng.standard_normal(9)
    assert metric.fit_score(moved, Y) == pytest.approx(metric.fit_score(X, Y), abs=1e-9)
    assert metric.fit_score(X, moved) == pytest.approx(0.0, abs=1e-6)
    # but not to a general linear map: stretching one axis changes the distance
    stretch = np.diag([5.0] + [1.0] * 8)
    assert abs(metric.fit_score(X @ stretch, Y) - metric.fit_score(X, Y)) > 1e-3


@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_cca_invariant_to_invertible_maps(method):
    rng = np.random.default_rng(7)
    X, Y = activity(rng, 150, 9), activity(rng, 150, 9)
    A = rng.standard_normal((9, 9)) + 3 * np.eye(9)
    if method == "euclidean":
        # the whitening keeps each network's total variance (netrep's preserve_variance), so the
        # Euclidean score quotients out invertible maps that keep it; the angle quotients all
        Xc = X - X.mean(0)
        A *= np.linalg.norm(Xc) / np.linalg.norm(Xc @ A)
    metric = LinearMetric(alpha=0.0, score_method=method)
    assert metric.fit_score(X @ A, Y) == pytest.approx(metric.fit_score(X, Y), abs=1e-8)
    assert metric.fit_score(X, X @ A) == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_before_any_distance():
    rng = np.random.default_rng(8)
    X, Y = activity(rng, 50, 5), activity(rng, 40, 5)
    with pytest.raises(ValueError, match="same trials"):
        LinearMetric().fit(X, Y)
    with pytest.raises(ValueError, match="same trials"):
        pairwise_distances([X, Y], progress=False)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN/Inf.*sample 3, neuron 2"):
        LinearMetric().fit(bad, X)
    with pytest.raises(ValueError, match=r"networks\[1\].*NaN"):
        pairwise_distances([X, bad], progress=False)
    with pytest.raises(ValueError, match="zero_pad=True"):
        LinearMetric(zero_pad=False).fit(X, X[:, :3])
    with pytest.raises(ValueError, match="alpha"):
        LinearMetric(alpha=1.5).fit(X, X)
    with pytest.raises(ValueError, match="score_method"):
        LinearMetric(score_method="cosine").fit(X, X)
    with pytest.raises(ValueError, match="2-D"):
        LinearMetric().fit(X[None], X[None])


def test_is_a_scikit_learn_estimator():
    metric = LinearMetric(alpha=0.3, score_method="euclidean")
    assert clone(metric).get_params() == {
        "alpha": 0.3,
        "center_columns": True,
        "zero_pad": True,
        "score_method": "euclidean",
    }
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        metric.transform(np.ones((4, 2)), np.ones((4, 2)))


# ----------------------------------------------------------------------------- aids


def test_cca_align_recovers_a_shared_latent():
    rng = np.random.default_rng(9)
    latent = np.cumsum(rng.standard_normal((20, 30, 3)), axis=1)  # (trials, time, 3)
    a = np.tanh(latent @ rng.standard_normal((3, 40)) * 0.1)
    b = latent @ rng.standard_normal((3, 25))  # another network, another embedding
    aligned = cca_align(a, b, n_components=3, n_pcs=None)
    assert aligned.x.shape == (20, 30, 3) and aligned.y.shape == (20, 30, 3)
    assert aligned.correlations[:2].min() > 0.99
    unrelated = cca_align(a, rng.standard_normal((20, 30, 25)), n_components=2, n_pcs=5)
    assert unrelated.correlations.max() < 0.3


def test_mds_recovers_planar_distances():
    rng = np.random.default_rng(10)
    points = rng.standard_normal((12, 2))
    D = np.linalg.norm(points[:, None] - points[None], axis=-1)
    embedded = mds_embedding(D)
    D2 = np.linalg.norm(embedded[:, None] - embedded[None], axis=-1)
    np.testing.assert_allclose(D2, D, atol=1e-3)
    with pytest.raises(ValueError, match="symmetric"):
        mds_embedding(D + np.triu(np.ones_like(D)))


def test_normalised_singular_values():
    from cordsneuro.models.recurrent import table_s1

    model = table_s1(125, "lowrank", seed=0)
    values = normalised_singular_values(model)
    dense = np.linalg.svd(model.recurrent_matrix().detach().double().numpy(), compute_uv=False)
    np.testing.assert_allclose(values, dense / dense[0], atol=1e-10)
    assert values[0] == 1.0 and values[2] < 1e-6  # rank 2
