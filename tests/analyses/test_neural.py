"""Time-resolved neural predictivity (Section 5, Fig. 6, Appendix E)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import xarray as xr

from cordsneuro.analyses.neural import (
    DIMS,
    RandomizedSplitPCA,
    bin_model_activity,
    check_assembly,
    image_splits,
    load_assembly,
    median_pearson,
    neural_assembly,
    pearson_columns,
    planted_neural_data,
    pls_fit,
    save_assembly,
    search_lag,
    synthetic_model_activity,
    temporal_predictivity,
)


def model_features(n_images, n_bins, n_units, seed=0):
    return synthetic_model_activity(n_images, n_bins, n_units, noise=0.05, seed=seed)


def as_arrays(x, y, bin_ms=10.0, region="IT"):
    """Model DataArray (to_xarray's dim order) and neural assembly for ``x``, ``y``
    ``(images, bins, ·)``."""
    n_images, n_bins, _ = x.shape
    ids = [f"im{i}" for i in range(n_images)]
    start = bin_ms * np.arange(n_bins)
    model = xr.DataArray(
        x.transpose(1, 0, 2),
        dims=("time_bin", "presentation", "neuroid"),
        coords={
            "time_bin_start": ("time_bin", start),
            "time_bin_end": ("time_bin", start + bin_ms),
            "image_id": ("presentation", ids),
        },
    )
    neural = neural_assembly(y.transpose(0, 2, 1), ids, region, start, start + bin_ms)
    return model, neural


FAST = dict(n_trials=6, n_splits=5, n_pca=30, progress=False)


# ----------------------------------------------------------------------------- method pieces


def test_splits_are_disjoint_and_test_every_image_once():
    splits = image_splits(103, 10, rng=1)
    assert len(splits) == 10
    tested = np.concatenate([test for _, test in splits])
    assert np.array_equal(np.sort(tested), np.arange(103))  # each image tested exactly once
    for train, test in splits:
        assert not set(train) & set(test)
        assert len(train) + len(test) == 103
        assert len(test) in (10, 11)  # 90/10
    with pytest.raises(ValueError, match="too few for n_splits=10"):
        image_splits(19, 10)


def test_pearson_median_mean_against_hand_computed_values():
    # prediction (0, 1, 2, 3) vs target (1, 3, 2, 4): deviations (-1.5, -.5, .5, 1.5) and
    # (-1.5, .5, -.5, 1.5): r = (2.25 - .25 - .25 + 2.25) / sqrt(5 · 5) = 0.8
    prediction = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 2.0], [2.0, 2.0, 3.0], [3.0, 3.0, 4.0]])
    target = np.array([[1.0, 4.0, 7.0], [3.0, 3.0, 7.0], [2.0, 2.0, 7.0], [4.0, 1.0, 7.0]])
    r = pearson_columns(prediction, target)
    assert r[0] == pytest.approx(0.8) and r[1] == pytest.approx(-1.0)
    assert np.isnan(r[2])  # constant target: undefined, no crash
    assert median_pearson(prediction, target) == pytest.approx(-0.1)  # median of 0.8, -1
    # a split's score is the median over neuroids; a trial's the mean over splits
    split_a = median_pearson(prediction[:, :2], target[:, :2])
    split_b = median_pearson(prediction[:, :1], target[:, :1])
    assert np.mean([split_a, split_b]) == pytest.approx((-0.1 + 0.8) / 2)


def test_pls_equals_scikit_learn_nipals():
    sklearn = pytest.importorskip("sklearn.cross_decomposition")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 15)) * np.linspace(3, 0.5, 15)  # distinct singular values
    y = x @ rng.standard_normal((15, 6)) + rng.standard_normal((120, 6))
    # sklearn's NIPALS power iteration, run to convergence
    reference = sklearn.PLSRegression(5, scale=False, tol=1e-14, max_iter=2000).fit(x, y)
    xc, yc = x - x.mean(0), y - y.mean(0)
    coef = pls_fit(xc.T @ xc, xc.T @ yc, 5)
    x_new = rng.standard_normal((20, 15))
    ours = (x_new - x.mean(0)) @ coef + y.mean(0)
    np.testing.assert_allclose(ours, reference.predict(x_new), rtol=1e-6, atol=1e-6)
    # one component fewer is a different fit: the comparison can fail
    fewer = (x_new - x.mean(0)) @ pls_fit(xc.T @ xc, xc.T @ yc, 4) + y.mean(0)
    assert np.abs(fewer - reference.predict(x_new)).max() > 1e-3


def test_split_pca_uses_training_rows_only_and_matches_exact_pca():
    rng = np.random.default_rng(2)
    n_images, n_bins, n_units, rank = 40, 5, 300, 12
    x = rng.standard_normal((n_images * n_bins, rank)) @ rng.standard_normal((rank, n_units))
    x = x.reshape(n_images, n_bins, n_units)
    train, test = np.arange(32), np.arange(32, 40)
    z = RandomizedSplitPCA(x, rank, oversample=10, seed=0).transform(train, test)
    # exact PCA of the centred training rows spans the same subspace (the data have rank 12)
    rows = x[train].reshape(-1, n_units)
    mean = rows.mean(0)
    _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
    exact = (x.reshape(-1, n_units) - mean) @ vt[:rank].T
    ours = z.reshape(-1, rank)
    fit = np.linalg.lstsq(ours, exact, rcond=None)[0]
    np.testing.assert_allclose(ours @ fit, exact, atol=1e-8 * np.abs(exact).max())
    # no leakage: changing the test images' activity leaves the training features unchanged
    x2 = x.copy()
    x2[test] = rng.standard_normal(x2[test].shape) * 100
    z2 = RandomizedSplitPCA(x2, rank, oversample=10, seed=0).transform(train, test)
    np.testing.assert_allclose(z2[train], z[train], atol=1e-8 * np.abs(z).max())


def test_binning_means_the_model_steps_inside_each_bin_with_a_lag():
    steps = np.arange(1, 11) * 2.0  # ten 2-ms steps ending at 2, 4, …, 20 ms
    values = np.arange(10.0)[:, None, None] * np.ones((10, 3, 2))
    model = xr.DataArray(
        values,
        dims=("time_bin", "presentation", "neuroid"),
        coords={"time_bin_start": ("time_bin", steps - 2), "time_bin_end": ("time_bin", steps)},
    )
    binned = bin_model_activity(model, [0.0, 10.0], [10.0, 20.0], image_ids=["a", "b", "c"])
    assert binned.dims == DIMS
    np.testing.assert_allclose(binned.values[0, 0], [2.0, 7.0])  # steps 0-4, 5-9
    lagged = bin_model_activity(model, [4.0], [10.0], lag_ms=4.0, image_ids=["a", "b", "c"])
    # model time + 4 ms in (4, 10]: the steps ending at 2, 4, 6 ms (values 0, 1, 2)
    np.testing.assert_allclose(lagged.values[0, 0], [1.0])
    with pytest.raises(ValueError, match=r"bin \[20, 30\) ms holds no model step"):
        bin_model_activity(model, [20.0], [30.0], image_ids=["a", "b", "c"])


# ----------------------------------------------------------------------------- data layout


@pytest.mark.parametrize("engine", ["h5netcdf", "netcdf4", "scipy"])
def test_netcdf_round_trip_of_an_assembly(tmp_path, engine):
    modules = {"h5netcdf": ["h5netcdf", "h5py"], "netcdf4": ["netCDF4"], "scipy": ["scipy"]}
    missing = [m for m in modules[engine] if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{missing} not installed")
    rng = np.random.default_rng(0)
    data = rng.standard_normal((6, 4, 3))
    assembly = neural_assembly(
        data, [f"img{i}" for i in range(6)], ["V4", "V4", "IT", "IT"], [70, 80, 90], [80, 90, 100]
    )
    path = tmp_path / "assembly.nc"
    assembly.to_netcdf(path, engine=engine) if engine != "h5netcdf" else save_assembly(
        assembly, path
    )
    loaded = load_assembly(path, engine=engine)
    assert loaded.dims == DIMS
    np.testing.assert_array_equal(loaded.values, data)
    for coord in ("image_id", "region", "neuroid_id", "time_bin_start", "time_bin_end"):
        np.testing.assert_array_equal(loaded[coord].values, assembly[coord].values)


def test_assembly_validation_names_what_is_missing():
    data = np.zeros((4, 2, 3))
    good = neural_assembly(data, list("abcd"), "IT", [0, 10, 20], [10, 20, 30])
    with pytest.raises(ValueError, match=r"missing \['time_bin'\]"):
        check_assembly(good.isel(time_bin=0))
    with pytest.raises(ValueError, match="no coordinate 'image_id'"):
        check_assembly(good.drop_vars("image_id"))
    with pytest.raises(ValueError, match="no coordinate 'region'"):
        check_assembly(good.drop_vars("region"))
    with pytest.raises(ValueError, match="must increase and not overlap"):
        neural_assembly(data, list("abcd"), "IT", [0, 5, 20], [10, 20, 30])
    with pytest.raises(ValueError, match="image_ids has 3 entries"):
        neural_assembly(data, list("abc"), "IT", [0, 10, 20], [10, 20, 30])
    # Brain-Score's stimulus_id is accepted; repetitions of an image are averaged
    raw = good.drop_vars("image_id").assign_coords(stimulus_id=("presentation", list("aabb")))
    raw = raw.copy(data=np.arange(24.0).reshape(4, 2, 3))
    averaged = check_assembly(raw)
    assert list(averaged["image_id"].values) == ["a", "b"]
    np.testing.assert_allclose(averaged.values[0], (raw.values[0] + raw.values[1]) / 2)


def test_mismatched_images_few_images_and_constant_neuroids():
    x = model_features(24, 4, 20)
    y = planted_neural_data(x, 5, seed=1)
    model, neural = as_arrays(x, y)
    renamed = neural.assign_coords(image_id=("presentation", [f"other{i}" for i in range(24)]))
    with pytest.raises(ValueError, match="24 of the neural data's 24 image_ids are not among"):
        temporal_predictivity(model, renamed, **FAST)
    with pytest.raises(ValueError, match="too few for n_splits=20"):
        temporal_predictivity(model, neural, **{**FAST, "n_splits": 20})
    y[:, :, 2] = 3.0  # a constant neuroid: dropped with a warning, no NaN score
    model, neural = as_arrays(x, y)
    with pytest.warns(UserWarning, match=r"dropping 1 constant neuroid\(s\) \['n2'\]"):
        result = temporal_predictivity(model, neural, **FAST)
    assert result.pairs[0].n_neuroids == 4
    assert np.all(np.isfinite(result.pairs[0].unshuffled))


# ----------------------------------------------------------------------------- ground truth


def test_planted_temporal_relation_is_detected():
    x = model_features(120, 10, 200, seed=3)
    model, neural = as_arrays(x, planted_neural_data(x, 20, noise=1.0, seed=4))
    result = temporal_predictivity(
        model, neural, n_trials=10, n_splits=10, n_pca=40, progress=False
    )
    row = result.table()[0]
    assert row["unshuffled_mean"] > row["shuffled_mean"] + 0.02
    assert row["p_paired"] < 1e-6 and row["p_exchangeable"] < 1e-4


def test_same_time_averages_without_temporal_relation_score_alike():
    x = model_features(120, 10, 200, seed=5)
    y = planted_neural_data(x, 20, noise=1.0, related=False, seed=6)
    model, neural = as_arrays(x, y)
    result = temporal_predictivity(
        model, neural, n_trials=10, n_splits=10, n_pca=40, progress=False
    )
    row = result.table()[0]
    assert abs(row["unshuffled_mean"] - row["shuffled_mean"]) < 0.01
    assert row["p_exchangeable"] > 0.05
    # the time-averaged responses are the related data's: the classic score stays high
    assert row["time_averaged_mean"] > 0.5


def test_an_unrelated_model_scores_at_chance_on_images_but_shares_the_time_course():
    x = model_features(100, 8, 150, seed=7)
    # another "network" with the same temporal modes but unrelated image responses
    other = model_features(100, 8, 150, seed=8)
    model, neural = as_arrays(other, planted_neural_data(x, 15, seed=9))
    row = temporal_predictivity(model, neural, **FAST).table()[0]
    assert abs(row["time_averaged_mean"]) < 0.15  # image responses: chance
    # the shared, image-independent time course alone beats the per-image shuffles: the
    # control detects any temporal structure in common, not image-specific dynamics
    assert row["unshuffled_mean"] > row["shuffled_mean"] + 0.05


@pytest.mark.slow
def test_no_false_claims_over_repeats():
    """Data with the model's time-averaged responses but unrelated time courses: the
    exchangeable test stays above p = 0.05 in at least 90 % of 30 repeats."""
    passed = []
    for repeat in range(30):
        x = model_features(160, 10, 200, seed=100 + repeat)
        y = planted_neural_data(x, 20, related=False, seed=200 + repeat)
        model, neural = as_arrays(x, y)
        result = temporal_predictivity(model, neural, n_pca=40, seed=repeat, progress=False)
        passed.append(result.pairs[0].p_exchangeable > 0.05)
    assert np.mean(passed) >= 0.9


def test_lag_search_recovers_a_planted_lag():
    rng = np.random.default_rng(10)
    n_steps, n_images = 150, 30  # 2-ms model steps over 300 ms
    t = 2.0 * np.arange(1, n_steps + 1)
    onset = 1 / (1 + np.exp(-(t - 120) / 8))  # the model's rise at 120 ms
    rates = onset[:, None, None] * rng.uniform(0.5, 1.5, (1, n_images, 40))
    model = xr.DataArray(
        rates,
        dims=("time_bin", "presentation", "neuroid"),
        coords={"time_bin_start": ("time_bin", t - 2), "time_bin_end": ("time_bin", t)},
    )
    ids = [f"im{i}" for i in range(n_images)]
    starts, ends = np.arange(100, 290, 10.0), np.arange(110, 300, 10.0)
    truth = bin_model_activity(model, starts, ends, lag_ms=40.0, image_ids=ids)
    y = planted_neural_data(truth.values.transpose(0, 2, 1), 10, noise=0.2, seed=11)
    neural = neural_assembly(y.transpose(0, 2, 1), ids, "IT", starts, ends)
    found = search_lag(model, neural, np.arange(0, 90, 10), image_ids=ids)  # 0, 10, …, 80 ms
    assert found.lag_ms == 40.0
    assert found.scores[4] == pytest.approx(np.nanmax(found.scores))


def test_result_table_csv_and_figures(tmp_path):
    from matplotlib.figure import Figure

    from cordsneuro.plotting import plot_neural_predictivity, plot_neural_timecourses

    x = model_features(40, 5, 50, seed=12)
    model, neural = as_arrays(x, planted_neural_data(x, 6, seed=13))
    result = temporal_predictivity(model, neural, lag_ms="search", lag_search_ms=[0.0], **FAST)
    assert set(result.table()[0]) >= {"unshuffled_mean", "shuffled_sd", "t", "p_paired"}
    assert "unshuffled" in result.format_table()
    path = result.to_csv(tmp_path / "scores.csv")
    assert path.read_text().splitlines()[0].startswith("area,region,neuroids")
    assert isinstance(plot_neural_timecourses(result.timecourses, result.bin_centres_ms), Figure)
    assert isinstance(plot_neural_predictivity(result), Figure)


# ----------------------------------------------------------------------------- CordsNet and CLI


def test_record_binned_equals_binning_the_full_recording():
    import torch

    from cordsneuro.analyses.neural import record_binned
    from cordsneuro.models.cordsnet import Protocol, cordsnet_r2

    torch.manual_seed(0)
    model = cordsnet_r2(image_size=16).eval()
    images = torch.rand(5, 3, 16, 16)
    ids = [f"im{i}" for i in range(5)]
    starts, ends = np.array([10.0, 20.0, 30.0]), np.array([20.0, 30.0, 40.0])
    binned = record_binned(model, images, ids, [0, 1], starts, ends, lag_ms={0: 0.0, 1: 10.0},
                           batch_size=2, progress=False)  # fmt: skip
    with torch.no_grad():
        full = model.simulate(images, Protocol.classification(stimulus_ms=40.0), record_areas=[1])
    expected = bin_model_activity(full.to_xarray(), starts, ends, lag_ms=10.0, image_ids=ids)
    assert set(binned) == {"0", "1"}
    np.testing.assert_allclose(binned["1"].values, expected.values, rtol=1e-5, atol=1e-6)
    assert list(binned["1"]["image_id"].values) == ids


def test_cli_scores_a_recorded_activity(tmp_path, capsys):
    from cordsneuro.cli import main

    x = model_features(40, 5, 30, seed=14)
    model, neural = as_arrays(x, planted_neural_data(x, 6, seed=15))
    save_assembly(model, tmp_path / "model.nc")
    save_assembly(neural, tmp_path / "data.nc")
    args = [
        "neural", "score", str(tmp_path / "model.nc"), str(tmp_path / "data.nc"),
        "--trials", "3", "--splits", "4", "--pca", "10", "--quiet",
        "--csv", str(tmp_path / "scores.csv"), "--plots", str(tmp_path / "plots"),
    ]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "unshuffled" in out and "p paired" in out
    assert (tmp_path / "scores.csv").is_file()
    assert (tmp_path / "plots" / "fig6c_scores.png").is_file()
    with pytest.raises(SystemExit, match="regions \\['V1'\\] are not in the neural data"):
        main(args[:4] + ["--regions", "V1", "--quiet"])
