"""PCA without the neuron × neuron covariance (Fig. 4C) against dense ground truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cordsneuro.analyses.dimensionality import (
    PCA,
    cumulative_variance_explained,
    participation_ratio,
)


def _planted(n_samples=300, n_neurons=2000, rank=4, noise=0.01, seed=0):
    g = torch.Generator().manual_seed(seed)
    latents = torch.randn(n_samples, rank, generator=g) * torch.tensor([5.0, 3.0, 2.0, 1.0])[:rank]
    loading, _ = torch.linalg.qr(torch.randn(n_neurons, rank, generator=g, dtype=torch.float64))
    data = (
        latents.double() @ loading.T + 0.7 + noise * torch.randn(n_samples, n_neurons, generator=g)
    )
    return data, loading


def test_gram_pca_matches_dense_covariance_eigendecomposition():
    data, _ = _planted(n_samples=120, n_neurons=400)
    pca = PCA(5, block_size=97 * 120).fit(data)  # 97 neurons a block: does not divide N
    cov = torch.cov(data.T)
    eig, vec = torch.linalg.eigh(cov)
    eig, vec = eig.flip(0), vec.flip(1)
    torch.testing.assert_close(pca.explained_variance_, eig[:5], rtol=1e-9, atol=1e-12)
    overlap = (pca.components_ @ vec[:, :5]).abs().diagonal()
    torch.testing.assert_close(overlap, torch.ones(5, dtype=torch.float64), atol=1e-8, rtol=0)
    torch.testing.assert_close(
        pca.explained_variance_ratio_, eig[:5] / eig.sum(), rtol=1e-9, atol=0
    )
    truth_pr = float(eig.sum() ** 2 / (eig**2).sum())
    assert abs(pca.participation_ratio_ - truth_pr) < 1e-8 * truth_pr
    assert abs(participation_ratio(data) - truth_pr) < 1e-8 * truth_pr
    cve = cumulative_variance_explained(data)
    torch.testing.assert_close(cve[:5], torch.cumsum(eig[:5], 0) / eig.sum(), rtol=1e-9, atol=0)


def test_transform_of_trajectories_and_streaming_fit_recover_planted_subspace():
    data, loading = _planted()
    trajectories = data.reshape(6, 50, 20, 10, 10)  # (trials, time, C, H, W)
    pca = PCA(4).fit(trajectories)
    scores = pca.transform(trajectories)
    assert scores.shape == (6, 50, 4)
    # the components span the planted loading subspace
    svals = torch.linalg.svdvals(pca.components_ @ loading)
    assert svals.min() > 1 - 1e-3  # up to the planted noise
    # reconstruction from the scores leaves only the noise
    recon = pca.inverse_transform(scores.reshape(-1, 4))
    assert (recon - data).pow(2).mean().sqrt() < 0.011
    # streaming over trials (one pass) gives the same subspace and variances
    stream = PCA(4)
    for trial in trajectories:
        stream.partial_fit(trial[None])  # one trial: (1, time, C, H, W)
    assert stream.n_samples_seen_ == 300
    torch.testing.assert_close(stream.mean_, pca.mean_)
    assert torch.linalg.svdvals(stream.components_ @ pca.components_.T).min() > 1 - 1e-6
    torch.testing.assert_close(
        stream.explained_variance_, pca.explained_variance_, rtol=1e-3, atol=0
    )
    np.testing.assert_allclose(
        stream.explained_variance_ratio_.numpy(), pca.explained_variance_ratio_.numpy(), rtol=1e-3
    )


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="n_components"):
        PCA(0)
    with pytest.raises(ValueError, match="n_components"):
        PCA(20).fit(torch.randn(10, 50))
    with pytest.raises(RuntimeError, match="not fitted"):
        PCA(2).transform(torch.randn(3, 4))
    pca = PCA(2).fit(torch.randn(10, 5))
    with pytest.raises(ValueError, match="neurons"):
        pca.transform(torch.randn(3, 6))
    with pytest.raises(ValueError, match="samples"):
        participation_ratio(torch.randn(1, 5))


# ----------------------------------------------------------------------------- solvers at scale


def _low_rank(n_samples, n_neurons, rank=5, noise=1e-3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    latents = rng.standard_normal((n_samples, rank)) * np.geomspace(8, 1, rank)
    loading = np.linalg.qr(rng.standard_normal((n_neurons, rank)))[0].T
    data = latents @ loading + 2.0 + noise * rng.standard_normal((n_samples, n_neurons))
    return data.astype(dtype)


def _dense_truth(data, k):
    """numpy's SVD of the centred data, with scikit-learn's signs (largest |entry| positive)."""
    centred = data - data.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:k] * np.sign(vt[:k][np.arange(k), np.abs(vt[:k]).argmax(axis=1)])[:, None]
    return vt, s[:k], s**2


@pytest.mark.parametrize("solver", ["covariance", "gram", "randomized"])
@pytest.mark.parametrize("shape", [(600, 40), (50, 300)], ids=["tall", "wide"])
def test_every_solver_equals_the_dense_svd_including_signs(solver, shape):
    from sklearn.decomposition import PCA as SklearnPCA

    data = _low_rank(*shape)
    k = 4
    pca = PCA(k, solver=solver, block_size=700).fit(data)  # blocks that do not divide the data
    assert pca.solver_ == solver
    vt, s, all_eig = _dense_truth(data, k)
    np.testing.assert_allclose(pca.components_.numpy(), vt, atol=1e-9, rtol=0)
    np.testing.assert_allclose(pca.singular_values_.numpy(), s, rtol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_.numpy(), s**2 / (shape[0] - 1), rtol=1e-10)
    np.testing.assert_allclose(
        pca.explained_variance_ratio_.numpy(), s**2 / all_eig.sum(), rtol=1e-9
    )
    np.testing.assert_allclose(pca.mean_.numpy(), data.mean(axis=0), rtol=1e-12)
    # the same signs as scikit-learn, so scores agree element-wise
    reference = SklearnPCA(k, svd_solver="full").fit(data)
    np.testing.assert_allclose(pca.components_.numpy(), reference.components_, atol=1e-9)
    np.testing.assert_allclose(pca.transform(data).numpy(), reference.transform(data), atol=1e-8)
    pr_truth = all_eig.sum() ** 2 / (all_eig**2).sum()
    if solver == "randomized":  # of the kept components: a lower bound
        assert pca.participation_ratio_ <= pr_truth + 1e-9
    else:
        np.testing.assert_allclose(pca.participation_ratio_, pr_truth, rtol=1e-9)


def test_auto_solver_takes_the_cheaper_side():
    assert PCA(10).fit(torch.randn(2000, 125)).solver_ == "covariance"  # many samples
    assert PCA(10).fit(torch.randn(60, 3000)).solver_ == "gram"  # many neurons
    big = torch.from_numpy(_low_rank(1100, 1200, rank=8, noise=0.05))  # both large
    pca = PCA(6).fit(big)
    assert pca.solver_ == "randomized"
    exact = PCA(6, solver="gram").fit(big)
    overlap = torch.linalg.svdvals(pca.components_ @ exact.components_.T)
    assert overlap.min() > 1 - 1e-10  # a planted spectrum: randomized = exact
    torch.testing.assert_close(
        pca.explained_variance_, exact.explained_variance_, rtol=1e-10, atol=0
    )


def test_fit_streams_blocks_lists_and_memory_maps(tmp_path):
    data = _low_rank(400, 2000, noise=0.01, dtype=np.float32)
    trials = data.reshape(20, 20, 2000)  # (trials, time, N)
    exact = PCA(3, solver="gram").fit(data.astype(np.float64))
    path = tmp_path / "rates.f32"
    data.tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=(20, 20, 2000))
    fits = [
        PCA(3, block_size=64 * 2000).fit(mapped),  # read 64 samples at a time
        PCA(3).fit(list(trials)),  # one block per trial
        PCA(3).fit(lambda: (torch.from_numpy(t[None]) for t in trials)),  # trials on the fly
    ]
    for pca in fits:
        assert pca.solver_ == "randomized" and pca.n_samples_seen_ == 400
        np.testing.assert_allclose(pca.components_.numpy(), exact.components_.numpy(), atol=1e-4)
        np.testing.assert_allclose(
            pca.explained_variance_.numpy(), exact.explained_variance_.numpy(), rtol=1e-4
        )
    # the covariance side streams in one pass
    cov = PCA(3, solver="covariance").fit(lambda: iter(trials[:, :, :50]))
    np.testing.assert_allclose(
        cov.components_.numpy(), PCA(3).fit(data[:, :50].astype(np.float64)).components_.numpy(),
        atol=1e-5,
    )  # fmt: skip
    with pytest.raises(TypeError, match="fresh iterable"):
        PCA(3).fit(iter(trials))  # a one-shot iterator cannot be read twice
    with pytest.raises(ValueError, match="gram"):
        PCA(3, solver="gram").fit(list(trials))


def test_participation_ratio_takes_trajectories_like_pca():
    data = torch.from_numpy(_low_rank(120, 30, noise=0.1))
    flat = participation_ratio(data)
    assert participation_ratio(data.reshape(6, 20, 30)) == pytest.approx(flat, rel=1e-12)
    assert participation_ratio(data.reshape(6, 20, 5, 6).numpy()) == pytest.approx(flat, rel=1e-12)
    eig = np.linalg.eigvalsh(np.cov(data.numpy().T))
    assert flat == pytest.approx(eig.sum() ** 2 / (eig**2).sum(), rel=1e-10)
