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
    pca = PCA(5, block_size=97).fit(data)  # blocks that do not divide N
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
