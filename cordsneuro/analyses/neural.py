"""Neural predictivity over time: the time-resolved Brain-Score of Section 5 / Fig. 6 with a
temporal-shuffle control (Appendix E).

Brain-Score (Schrimpf et al.) fits a linear map from a model layer's activations to recorded
neural responses on training images and scores the held-out predictions by their Pearson
correlation with the recordings. Appendix E extends it to time: rows are (image, time bin)
pairs instead of images, so a ``[N_t·N_i, N_1]`` matrix of model activity is regressed onto the
``[N_t·N_i, N_2]`` matrix of neural activity. Per trial the images are split ten ways 90/10; on
each test split the Pearson r of every neuroid over time × test images is computed and the median
over neuroids kept; the mean over the ten splits is the trial's score. The same fits are done
with the neural data shuffled along time (same splits). 20 trials give 20 paired scores and a
paired t-test. No noise-ceiling correction is applied (Appendix E).

Data layout (Brain-Score's ``NeuroidAssembly``): an :class:`xarray.DataArray` with dims
``presentation × neuroid × time_bin``, coordinate ``image_id`` (or Brain-Score's ``stimulus_id``)
on ``presentation``, ``region`` on ``neuroid`` and ``time_bin_start`` / ``time_bin_end`` (ms) on
``time_bin``. Model recordings (:meth:`VisionTrajectory.to_xarray
<cordsneuro.models.cordsnet.VisionTrajectory.to_xarray>`) use the same dims in another order.

Scale. R8's last areas hold 25,088 and 50,176 units at 224², so a fit at the paper's size
(20 bins × 640 images) would regress 12,800 rows onto ~10⁵ columns 400 times (10 splits × 20
trials × 2 conditions). Here the model matrix of each split is first reduced by a randomized PCA
fitted on the split's *training* rows only (Halko, Martinsson & Tropp 2011, Alg. 4.1 + 5.1):
the Gaussian test matrix does not depend on the data, so the sketch ``X Ω`` and the cross
product ``(XΩ)ᵀX`` are computed once per model area and each split only subtracts its test rows
— one pass over ``X`` per split (the projection), shared by the unshuffled and shuffled fits and
by every brain region. PLS itself runs on the reduced ``k × k`` and ``k × N_2`` covariance
matrices (the kernel algorithm of Dayal & MacGregor 1997, numerically the NIPALS PLS2 of
scikit-learn's ``PLSRegression(scale=False)`` that Brain-Score uses; a test checks they agree).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cordsneuro._atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = [
    "DIMS",
    "neural_assembly",
    "check_assembly",
    "save_assembly",
    "load_assembly",
    "load_brainscore_assembly",
    "bin_model_activity",
    "record_binned",
    "stimulus_protocol",
    "LagSearch",
    "search_lag",
    "image_splits",
    "pearson_columns",
    "median_pearson",
    "pls_fit",
    "ridge_fit",
    "RandomizedSplitPCA",
    "synthetic_model_activity",
    "planted_neural_data",
    "PairScores",
    "NeuralPredictivity",
    "temporal_predictivity",
]

#: Brain-Score's NeuroidAssembly dims for temporal data, in its order.
DIMS = ("presentation", "neuroid", "time_bin")

#: Appendix E: 10 splits of the images, 90/10.
N_SPLITS = 10
#: Appendix E: the fitting of shuffled and unshuffled data is repeated over 20 trials.
N_TRIALS = 20
#: Brain-Score's regression: PLS with 25 components (``pls_regression`` in brainscore-vision).
PLS_COMPONENTS = 25


# ----------------------------------------------------------------------------- data


def neural_assembly(
    data: np.ndarray,
    image_ids: Sequence[Any],
    regions: Sequence[str] | str,
    time_bin_start: Sequence[float],
    time_bin_end: Sequence[float],
    *,
    neuroid_ids: Sequence[Any] | None = None,
    dims: Sequence[str] = DIMS,
    name: str = "neural",
) -> xr.DataArray:
    """Wrap a raw array with its metadata as a NeuroidAssembly-layout DataArray.

    Parameters
    ----------
    data : array
        Responses, shaped as ``dims`` says (default ``(presentation, neuroid, time_bin)``).
    image_ids : sequence
        One id per presentation (the same ids as the model's images).
    regions : str or sequence of str
        Brain region of each neuroid (``"V4"``, ``"IT"`` …), or one region for all.
    time_bin_start, time_bin_end : sequence of float
        Bin edges in ms from stimulus onset, one pair per time bin.
    neuroid_ids : sequence, optional
        Default ``"n0", "n1", …``.
    dims : sequence of str
        Order of ``data``'s axes; a permutation of :data:`DIMS`.
    """
    import xarray as xr

    data = np.asarray(data)
    if sorted(dims) != sorted(DIMS):
        raise ValueError(f"dims must be a permutation of {DIMS}, got {tuple(dims)}")
    if data.ndim != 3:
        raise ValueError(f"data must have 3 axes {tuple(dims)}, got shape {data.shape}")
    sizes = dict(zip(dims, data.shape))
    if isinstance(regions, str):
        regions = [regions] * sizes["neuroid"]
    if neuroid_ids is None:
        neuroid_ids = [f"n{i}" for i in range(sizes["neuroid"])]
    for label, values, dim in (
        ("image_ids", image_ids, "presentation"),
        ("regions", regions, "neuroid"),
        ("neuroid_ids", neuroid_ids, "neuroid"),
        ("time_bin_start", time_bin_start, "time_bin"),
        ("time_bin_end", time_bin_end, "time_bin"),
    ):
        if len(values) != sizes[dim]:
            raise ValueError(
                f"{label} has {len(values)} entries but data has {sizes[dim]} along {dim!r}"
            )
    assembly = xr.DataArray(
        data,
        dims=tuple(dims),
        coords={
            "image_id": ("presentation", np.asarray(image_ids)),
            "region": ("neuroid", np.asarray(regions, dtype=str)),
            "neuroid_id": ("neuroid", np.asarray(neuroid_ids)),
            "time_bin_start": ("time_bin", np.asarray(time_bin_start, dtype=float)),
            "time_bin_end": ("time_bin", np.asarray(time_bin_end, dtype=float)),
        },
        name=name,
    )
    return check_assembly(assembly)


def check_assembly(
    assembly: xr.DataArray,
    name: str = "neural",
    *,
    require_region: bool = True,
    average_repetitions: bool = True,
) -> xr.DataArray:
    """Validate a NeuroidAssembly-layout DataArray and return it as ``presentation × neuroid ×
    time_bin`` (float64), one presentation per image.

    Brain-Score's ``stimulus_id`` is accepted for ``image_id``. Repeated presentations of an
    image (Brain-Score's raw assemblies keep one per repetition) are averaged when
    ``average_repetitions`` (otherwise an error). Bins must not overlap and must increase.

    Raises
    ------
    TypeError, ValueError
        Naming the missing dim or coordinate and what was expected.
    """
    import xarray as xr

    if not isinstance(assembly, xr.DataArray):
        raise TypeError(f"{name} must be an xarray.DataArray, got {type(assembly).__name__}")
    missing = [d for d in DIMS if d not in assembly.dims]
    if missing or assembly.ndim != 3:
        raise ValueError(
            f"{name} must have dims {DIMS} (Brain-Score's NeuroidAssembly layout), "
            f"got {tuple(assembly.dims)}; missing {missing}"
        )
    coords = assembly.coords
    if "image_id" not in coords and "stimulus_id" in coords:
        assembly = assembly.assign_coords(image_id=("presentation", coords["stimulus_id"].values))
    needed = {"image_id": "presentation", "time_bin_start": "time_bin", "time_bin_end": "time_bin"}
    if require_region:
        needed["region"] = "neuroid"
    for coord, dim in needed.items():
        if coord not in assembly.coords:
            raise ValueError(f"{name} has no coordinate {coord!r} (expected one along {dim!r})")
        if assembly.coords[coord].dims != (dim,):
            raise ValueError(
                f"{name}'s coordinate {coord!r} must lie along {dim!r}, "
                f"got dims {assembly.coords[coord].dims}"
            )
    assembly = assembly.transpose(*DIMS)
    start = np.asarray(assembly["time_bin_start"].values, dtype=float)
    end = np.asarray(assembly["time_bin_end"].values, dtype=float)
    if not (np.all(np.isfinite(start)) and np.all(np.isfinite(end)) and np.all(end > start)):
        raise ValueError(f"{name}: every time bin needs finite edges with end > start (ms)")
    if np.any(start[1:] < end[:-1] - 1e-9):
        raise ValueError(
            f"{name}: time bins must increase and not overlap (starts {start.tolist()}, "
            f"ends {end.tolist()} ms)"
        )
    ids = assembly["image_id"].values
    if len(np.unique(ids)) != len(ids):
        if not average_repetitions:
            raise ValueError(f"{name} has repeated image_ids; average the repetitions first")
        keep = {c: assembly.coords[c] for c in ("neuroid_id", "region") if c in assembly.coords}
        assembly = (
            assembly.reset_coords(drop=True)
            .assign_coords(image_id=("presentation", ids), **keep)
            .assign_coords(time_bin_start=("time_bin", start), time_bin_end=("time_bin", end))
            .groupby("image_id")
            .mean("presentation")
            .rename(image_id="presentation_image")
        )
        assembly = assembly.rename(presentation_image="presentation")
        assembly = assembly.assign_coords(
            image_id=("presentation", assembly["presentation"].values)
        )
        assembly = assembly.drop_vars("presentation").transpose(*DIMS)
    values = np.asarray(assembly.values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds NaN or infinite values; remove or impute them first")
    return assembly.copy(data=values)


def save_assembly(assembly: xr.DataArray, path: str | os.PathLike) -> Path:
    """Write an assembly to NetCDF (atomically), readable by :func:`load_assembly` and by
    ``xarray.open_dataarray``. Object coordinates are stored as strings."""
    path = Path(path)
    assembly = check_assembly(assembly, require_region=False)
    for coord in list(assembly.coords):
        if assembly[coord].dtype == object:
            assembly = assembly.assign_coords({coord: assembly[coord].astype(str)})
    with atomic_path(path) as tmp:
        assembly.to_netcdf(tmp, engine=_netcdf_engine())
    return path


def load_assembly(path: str | os.PathLike, *, engine: str | None = None) -> xr.DataArray:
    """Read a NetCDF file in the NeuroidAssembly layout (one variable; dims ``presentation``,
    ``neuroid``, ``time_bin``) and validate it (:func:`check_assembly`).

    ``engine``: an xarray NetCDF engine (``"h5netcdf"``, ``"netcdf4"``, ``"scipy"``); default:
    the first installed.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no NetCDF file at {str(path)!r}")
    with xr.open_dataarray(path, engine=engine or _netcdf_engine()) as da:
        loaded = da.load()
    return check_assembly(loaded, name=str(path))


def _netcdf_engine() -> str:
    import importlib.util

    for modules, engine in ((("netCDF4",), "netcdf4"), (("h5netcdf", "h5py"), "h5netcdf"),
                            (("scipy",), "scipy")):  # fmt: skip
        if all(importlib.util.find_spec(m) is not None for m in modules):
            return engine
    raise ImportError("reading NetCDF needs h5netcdf, netCDF4 or scipy")


def load_brainscore_assembly(
    identifier: str = "MajajHong2015.temporal.public", **kwargs
) -> xr.DataArray:
    """A neural assembly from ``brainscore-vision`` (optional: ``pip install brainscore-vision``;
    its data must be cached or downloadable), converted by :func:`check_assembly`.

    ``identifier`` is passed to ``brainscore_vision.load_dataset``. Brain-Score's temporal
    assemblies hold one presentation per repetition; they are averaged per image.
    """
    try:
        import brainscore_vision
    except ImportError as err:  # pragma: no cover - optional dependency
        raise ImportError(
            "load_brainscore_assembly needs the optional package brainscore-vision "
            "(pip install brainscore-vision); or save the data as NetCDF and use load_assembly"
        ) from err
    assembly = brainscore_vision.load_dataset(identifier, **kwargs)  # pragma: no cover
    import xarray as xr  # pragma: no cover

    plain = xr.DataArray(  # pragma: no cover
        np.asarray(assembly.values),
        dims=assembly.dims,
        coords={
            k: (v.dims, np.asarray(v.values))
            for k, v in assembly.coords.items()
            if len(v.dims) == 1 and k not in assembly.dims
        },
    )
    return check_assembly(plain, name=identifier)  # pragma: no cover


# ----------------------------------------------------------------------------- model activity


def _model_bins(model: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) in ms of each model time step."""
    for coord in ("time_bin_start", "time_bin_end"):
        if coord not in model.coords:
            raise ValueError(
                f"model activity has no coordinate {coord!r} (ms); record it with "
                "VisionTrajectory.to_xarray()"
            )
    return (
        np.asarray(model["time_bin_start"].values, dtype=float),
        np.asarray(model["time_bin_end"].values, dtype=float),
    )


def bin_model_activity(
    model: xr.DataArray,
    time_bin_start: Sequence[float],
    time_bin_end: Sequence[float],
    *,
    lag_ms: float = 0.0,
    image_ids: Sequence[Any] | None = None,
) -> xr.DataArray:
    """Average recorded model steps into neural time bins.

    A model step covers ``(time_bin_start, time_bin_end]`` of the model's clock; it belongs to
    the neural bin ``[a, b)`` when its end time ``t`` satisfies ``a < t + lag_ms <= b``: the
    model's activity at ``t`` is compared with the neural activity ``lag_ms`` later (neural
    responses lag the model's; Section 5 aligns the model's rise with the neural rise). Each
    bin is the mean of its steps.

    Parameters
    ----------
    model : DataArray
        Dims ``time_bin``, ``presentation``, ``neuroid`` (any order; from
        :meth:`VisionTrajectory.to_xarray`), coords ``time_bin_start`` / ``time_bin_end`` (ms).
    time_bin_start, time_bin_end : sequence of float
        The neural bins (ms from stimulus onset).
    lag_ms : float
        Shift added to the model's time (ms).
    image_ids : sequence, optional
        Ids of the model's presentations (if ``model`` has no ``image_id`` coordinate).

    Returns
    -------
    DataArray
        ``presentation × neuroid × time_bin`` with the neural bins' edges and ``image_id``.
    """
    missing = [d for d in DIMS if d not in model.dims]
    if missing or model.ndim != 3:
        raise ValueError(f"model activity must have dims {DIMS}, got {tuple(model.dims)}")
    if not math.isfinite(lag_ms):
        raise ValueError(f"lag_ms must be finite (got {lag_ms})")
    _, t = _model_bins(model)
    start = np.asarray(time_bin_start, dtype=float)
    end = np.asarray(time_bin_end, dtype=float)
    model = model.transpose(*DIMS)
    dtype = np.result_type(model.dtype, np.float32)
    shifted = t + lag_ms
    blocks = []
    for a, b in zip(start, end):
        inside = np.flatnonzero((shifted > a + 1e-9) & (shifted <= b + 1e-9))
        if inside.size == 0:
            raise ValueError(
                f"neural bin [{a:g}, {b:g}) ms holds no model step at lag {lag_ms:g} ms "
                f"(model steps end at {t.min():g} … {t.max():g} ms; record longer or change "
                "the lag)"
            )
        blocks.append(model.values[:, :, inside].mean(axis=2, dtype=np.float64).astype(dtype))
    data = np.stack(blocks, axis=2)
    if image_ids is not None:
        image_ids = np.asarray(image_ids)
        if len(image_ids) != model.sizes["presentation"]:
            raise ValueError(
                f"image_ids has {len(image_ids)} entries; the model has "
                f"{model.sizes['presentation']} presentations"
            )
    elif "image_id" in model.coords:
        image_ids = model["image_id"].values
    elif "presentation_index" in model.coords:
        image_ids = model["presentation_index"].values
    else:
        image_ids = np.arange(model.sizes["presentation"])
    keep = {k: ("neuroid", v.values) for k, v in model.coords.items() if v.dims == ("neuroid",)}
    import xarray as xr

    return xr.DataArray(
        data,
        dims=DIMS,
        coords={
            "image_id": ("presentation", image_ids),
            "time_bin_start": ("time_bin", start),
            "time_bin_end": ("time_bin", end),
            **keep,
        },
        name="model",
    )


def stimulus_protocol(duration_ms: float, image_ms: float | None, dt: float):
    """The recording protocol: from the spontaneous state, the image for ``image_ms`` then a
    blank screen, ``duration_ms`` in all (rounded up to whole steps ``dt``); the image
    throughout when ``image_ms`` is None."""
    from cordsneuro.models.cordsnet import Epoch, Protocol

    duration_ms = math.ceil(duration_ms / dt - 1e-9) * dt
    if image_ms is None or image_ms >= duration_ms:
        return Protocol.classification(stimulus_ms=duration_ms)
    if image_ms <= 0:
        raise ValueError(f"image_ms must be > 0 ms (got {image_ms})")
    return Protocol((Epoch.image(image_ms), Epoch.blank(duration_ms - image_ms)))


def record_binned(
    model: Any,
    images: Any,
    image_ids: Sequence[Any],
    areas: Sequence[int],
    time_bin_start: Sequence[float],
    time_bin_end: Sequence[float],
    *,
    lag_ms: float | dict[int, float] = 0.0,
    image_ms: float | None = None,
    batch_size: int = 32,
    progress: bool = True,
) -> dict[str, xr.DataArray]:
    """Simulate a CordsNet on images and keep its areas' activity binned to the neural bins.

    The image is shown from the spontaneous state (as in the published protocol,
    :meth:`Protocol.classification <cordsneuro.models.cordsnet.Protocol.classification>`) for
    ``image_ms`` and followed by a blank screen, or shown throughout when ``image_ms`` is None;
    the simulation lasts as long as the last bin needs (``max(time_bin_end) − lag_ms``,
    rounded up to whole steps);
    batches of images are simulated one at a time and binned at once
    (:func:`bin_model_activity`), so memory holds one batch at full time resolution.

    Parameters
    ----------
    model : CordsNet
    images : Tensor or ndarray
        ``(N_i, C, H, W)`` as the model expects them (already normalised).
    image_ids : sequence
        One id per image.
    areas : sequence of int
        Area indices to record.
    time_bin_start, time_bin_end : sequence of float
        Neural bins (ms from stimulus onset).
    lag_ms : float or dict
        As in :func:`bin_model_activity`; per area if a dict ``{area: ms}``.
    image_ms : float, optional
        Stimulus duration (ms; e.g. 100 ms presentations in MajajHong2015).

    Returns
    -------
    dict
        ``{str(area): DataArray presentation × neuroid × time_bin}`` (float32).
    """
    import torch
    import xarray as xr
    from tqdm.auto import tqdm

    images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N_i, C, H, W), got shape {tuple(images.shape)}")
    if len(image_ids) != images.shape[0]:
        raise ValueError(f"image_ids has {len(image_ids)} entries for {images.shape[0]} images")
    lags = {a: float(lag_ms[a] if isinstance(lag_ms, dict) else lag_ms) for a in areas}
    duration = max(float(np.max(time_bin_end)) - min(lags.values()), model.dt)
    protocol = stimulus_protocol(duration, image_ms, model.dt)
    parts: dict[str, list[xr.DataArray]] = {str(a): [] for a in areas}
    for first in tqdm(range(0, images.shape[0], batch_size), disable=not progress,
                      desc="recording", unit="batch"):  # fmt: skip
        batch = images[first : first + batch_size].float()
        with torch.no_grad():
            trajectory = model.simulate(batch, protocol, record_areas=list(areas),
                                        record_outputs=False)  # fmt: skip
        ids = list(image_ids[first : first + batch_size])
        for a in areas:
            parts[str(a)].append(
                bin_model_activity(
                    trajectory.to_xarray([a]),
                    time_bin_start,
                    time_bin_end,
                    lag_ms=lags[a],
                    image_ids=ids,
                )  # fmt: skip
            )
    return {a: xr.concat(p, dim="presentation") for a, p in parts.items()}


def _normalised_timecourse(values: np.ndarray) -> np.ndarray:
    """Mean over presentations and neuroids per bin, scaled to [0, 1] (Fig. 6B)."""
    course = values.mean(axis=(0, 1))
    span = course.max() - course.min()
    return (course - course.min()) / span if span > 0 else np.zeros_like(course)


@dataclass(frozen=True)
class LagSearch:
    """Result of :func:`search_lag`.

    Attributes
    ----------
    lag_ms : float
        The best lag (ms).
    lags_ms, scores : ndarray
        Every lag tried and its criterion (NaN where the lag left a bin empty).
    """

    lag_ms: float
    lags_ms: np.ndarray
    scores: np.ndarray


def search_lag(
    model: xr.DataArray,
    neural: xr.DataArray,
    lags_ms: Sequence[float],
    *,
    image_ids: Sequence[Any] | None = None,
) -> LagSearch:
    """Find the lag that aligns the model's population time course with the neural one.

    For each lag the model is binned (:func:`bin_model_activity`) and the criterion is the
    Pearson correlation, over time bins, of the two mean time courses (mean over images and
    neuroids, Fig. 6B): the lag that best superimposes the model's rise on the neural rise.

    Parameters
    ----------
    model, neural : DataArray
        As for :func:`bin_model_activity` and :func:`check_assembly`.
    lags_ms : sequence of float
        Candidate lags (ms).
    """
    neural = check_assembly(neural, require_region=False)
    lags = np.asarray(lags_ms, dtype=float)
    if lags.ndim != 1 or lags.size == 0:
        raise ValueError("lags_ms must be a non-empty 1-D sequence of ms")
    target = neural.values.mean(axis=(0, 1))
    scores = np.full(lags.size, np.nan)
    for k, lag in enumerate(lags):
        try:
            binned = bin_model_activity(
                model,
                neural["time_bin_start"].values,
                neural["time_bin_end"].values,
                lag_ms=float(lag),
                image_ids=image_ids,
            )
        except ValueError:
            continue
        course = binned.values.mean(axis=(0, 1))
        if course.std() > 0 and target.std() > 0:
            scores[k] = float(np.corrcoef(course, target)[0, 1])
    if np.all(np.isnan(scores)):
        raise ValueError(
            "no lag in lags_ms leaves every neural bin with a model step; record the model "
            "over the neural bins' span"
        )
    return LagSearch(float(lags[int(np.nanargmax(scores))]), lags, scores)


# ----------------------------------------------------------------------------- method pieces


def image_splits(
    n_images: int, n_splits: int = N_SPLITS, rng: np.random.Generator | int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split ``n_images`` images into ``n_splits`` disjoint test sets (Appendix E: 10 splits,
    90/10): a random permutation cut into ``n_splits`` nearly equal parts; each split trains on
    the rest. Every image is tested exactly once per trial.

    Returns
    -------
    list of (train, test)
        Sorted integer image indices.
    """
    n_images = int(n_images)
    n_splits = int(n_splits)
    if n_splits < 2:
        raise ValueError(f"n_splits must be >= 2 (got {n_splits})")
    if n_images < 2 * n_splits:
        raise ValueError(
            f"{n_images} images are too few for n_splits={n_splits}: each test split needs "
            f">= 2 images (so >= {2 * n_splits} images)"
        )
    rng = np.random.default_rng(rng)
    parts = np.array_split(rng.permutation(n_images), n_splits)
    out = []
    for k, test in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != k])
        out.append((np.sort(train), np.sort(test)))
    return out


def pearson_columns(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``prediction`` with the same column of ``target`` (rows are
    samples: time bins × test images). Columns where either side is constant give NaN.

    Parameters
    ----------
    prediction, target : ndarray
        ``(samples, neuroids)``.
    """
    p = prediction - prediction.mean(axis=0)
    y = target - target.mean(axis=0)
    denominator = np.sqrt((p * p).sum(axis=0) * (y * y).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (p * y).sum(axis=0) / denominator
    r[~(denominator > 0)] = np.nan
    return r


def median_pearson(prediction: np.ndarray, target: np.ndarray) -> float:
    """Median over neuroids of :func:`pearson_columns` (Brain-Score's per-split aggregate;
    neuroids with an undefined r are left out; NaN if all are)."""
    r = pearson_columns(prediction, target)
    return float(np.nanmedian(r)) if np.any(np.isfinite(r)) else float("nan")


def pls_fit(sxx: np.ndarray, sxy: np.ndarray, n_components: int = PLS_COMPONENTS) -> np.ndarray:
    """PLS2 regression coefficients from centred cross-products (kernel algorithm of Dayal &
    MacGregor 1997, algorithm 2), equal to scikit-learn's NIPALS ``PLSRegression(scale=False)``
    that Brain-Score uses.

    Each component's X weight is the leading left singular vector of the deflated
    ``XᵀY`` (what NIPALS' power iteration converges to); X is deflated on the scores, and
    ``XᵀY`` with it.

    Parameters
    ----------
    sxx : ndarray
        ``(p, p)``: ``XᵀX`` of centred training predictors.
    sxy : ndarray
        ``(p, q)``: ``XᵀY`` of centred training predictors and targets.
    n_components : int
        Number of PLS components (Brain-Score: 25); at most ``p``.

    Returns
    -------
    ndarray
        ``(p, q)`` coefficients ``B``; predict with ``(X − x̄) B + ȳ``.
    """
    p = sxx.shape[0]
    n_components = min(int(n_components), p)
    rotations = np.zeros((p, n_components))
    loadings_x = np.zeros((p, n_components))
    loadings_y = np.zeros((sxy.shape[1], n_components))
    cross = sxy.copy()
    for a in range(n_components):
        u, s, _ = np.linalg.svd(cross, full_matrices=False)
        if s[0] <= 1e-12 * max(1.0, np.abs(sxy).max()):
            rotations, loadings_y = rotations[:, :a], loadings_y[:, :a]
            break
        w = u[:, 0]
        r = w - rotations[:, :a] @ (loadings_x[:, :a].T @ w)  # t = X₀ r
        tt = r @ sxx @ r
        p_a = sxx @ r / tt
        q_a = sxy.T @ r / tt
        cross -= tt * np.outer(p_a, q_a)
        rotations[:, a], loadings_x[:, a], loadings_y[:, a] = r, p_a, q_a
    return rotations @ loadings_y.T


def ridge_fit(sxx: np.ndarray, sxy: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Ridge coefficients ``(XᵀX + αI)⁻¹ XᵀY`` from centred cross-products (shapes as in
    :func:`pls_fit`)."""
    return np.linalg.solve(sxx + alpha * np.eye(sxx.shape[0]), sxy)


class RandomizedSplitPCA:
    """Randomized PCA of the training rows of a model matrix, for many splits at the cost of
    one pass over the matrix per split.

    ``X`` is ``(images, time bins, units)``; a split is a set of training images (all their
    bins). For each split the top ``n_components`` principal directions of the centred
    training rows are found by the randomized range finder with a Gaussian test matrix ``Ω``
    (Halko et al. 2011, Alg. 4.1, no power iterations, ``oversample`` extra columns) followed by
    the SVD of ``QᵀX`` (Alg. 5.1). ``Ω`` is drawn independently of the data, so the sketch
    ``XΩ`` and ``(XΩ)ᵀX`` are computed once here; a split subtracts its test rows. Only
    training rows enter the components and the centring (no test leakage).

    Parameters
    ----------
    x : ndarray
        ``(images, bins, units)``, float32 or float64 (kept as given, not copied).
    n_components : int
        Components kept.
    oversample : int
        Extra sketch columns (accuracy of the range finder).
    seed : int
        Seed of ``Ω``.
    """

    def __init__(self, x: np.ndarray, n_components: int, oversample: int = 50, seed: int = 0):
        self.x = x
        n_images, n_bins, n_units = x.shape
        self.n_components = int(n_components)
        width = min(self.n_components + int(oversample), n_units)
        rng = np.random.default_rng(seed)
        omega = rng.standard_normal((n_units, width)).astype(x.dtype)
        rows = x.reshape(n_images * n_bins, n_units)
        self.sketch = (rows @ omega).astype(np.float64).reshape(n_images, n_bins, width)
        self.cross = self.sketch.reshape(-1, width).T.astype(x.dtype) @ rows  # (width, units)
        self.cross = self.cross.astype(np.float64)
        self.sum_x = rows.sum(axis=0, dtype=np.float64)
        self.sum_sketch = self.sketch.reshape(-1, width).sum(axis=0)

    def transform(self, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Components fitted on the rows of ``train`` images; all images projected.

        Returns
        -------
        ndarray
            ``(images, bins, n_components)`` float64, centred on the training mean.
        """
        x, n_bins = self.x, self.x.shape[1]
        n = len(train) * n_bins
        x_test = x[test].reshape(len(test) * n_bins, -1)
        y_test = self.sketch[test].reshape(len(test) * n_bins, -1)
        mean_x = (self.sum_x - x_test.sum(axis=0, dtype=np.float64)) / n
        mean_y = (self.sum_sketch - y_test.sum(axis=0)) / n
        y_train = self.sketch[train].reshape(n, -1) - mean_y
        # centred (XΩ)ᵀX over training rows: the whole cross product minus the test rows
        yx = self.cross - y_test.T.astype(x.dtype) @ x_test - n * np.outer(mean_y, mean_x)
        # Q = Y V S⁻¹ (thin SVD of the centred training sketch via its Gram), B = QᵀX
        s2, v = np.linalg.eigh(y_train.T @ y_train)
        keep = s2 > s2.max() * 1e-10
        b = (v[:, keep] / np.sqrt(s2[keep])).T @ yx
        s2b, u = np.linalg.eigh(b @ b.T)
        order = np.argsort(s2b)[::-1][: self.n_components]
        order = order[s2b[order] > s2b.max() * 1e-12]
        components = (b.T @ u[:, order]) / np.sqrt(s2b[order])  # (units, k), orthonormal
        flat = x.reshape(-1, x.shape[2]) @ components.astype(x.dtype)
        z = flat.astype(np.float64) - mean_x @ components
        return z.reshape(x.shape[0], n_bins, -1)


def _shuffle_time(y: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    """Neural data ``(images, bins, neuroids)`` shuffled along time (see
    :func:`temporal_predictivity`)."""
    n_images, n_bins, n_neuroids = y.shape
    if mode == "global":
        return y[:, rng.permutation(n_bins)]
    if mode == "presentation":
        order = rng.permuted(np.tile(np.arange(n_bins), (n_images, 1)), axis=1)
        return np.take_along_axis(y, order[:, :, None], axis=1)
    if mode == "neuroid":
        order = rng.permuted(np.tile(np.arange(n_bins)[:, None], (n_images, 1, n_neuroids)), axis=1)
        return np.take_along_axis(y, order, axis=1)
    raise ValueError(f"shuffle must be 'presentation', 'neuroid' or 'global' (got {mode!r})")


def synthetic_model_activity(
    n_images: int,
    n_bins: int,
    n_units: int,
    *,
    n_modes: int = 4,
    noise: float = 0.1,
    seed: int = 0,
    chunk: int = 32,
) -> np.ndarray:
    """Model-like activity with image-dependent time courses, for checks at any scale.

    ``x[i, t, u] = relu(Σ_m f_m(t) (s_i A_m)_u) + noise``: ``n_modes`` smooth temporal modes
    ``f_m`` (a rise and a decay at speeds spread over the ``n_bins``), mixed with weights that
    depend on a random 16-dimensional image code ``s_i``; built a chunk of images at a time in
    float32 (640 × 20 × 25,088 units: 1.2 GiB).

    Returns
    -------
    ndarray
        ``(n_images, n_bins, n_units)`` float32.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_bins) + 0.5
    taus = np.linspace(1.0, max(n_bins / 2, 1.0), n_modes)
    modes = np.stack([(1 - np.exp(-t / tau)) * np.exp(-t / (3 * tau)) for tau in taus])
    modes = modes.astype(np.float32)
    mixing = (rng.standard_normal((n_modes, 16, n_units)) / 4).astype(np.float32)
    codes = rng.standard_normal((n_images, 16)).astype(np.float32)
    x = np.empty((n_images, n_bins, n_units), dtype=np.float32)
    for first in range(0, n_images, chunk):
        mixed = np.einsum("id,mdu->imu", codes[first : first + chunk], mixing)
        block = np.einsum("mt,imu->itu", modes, mixed)
        np.maximum(block, 0, out=block)
        block += noise * rng.standard_normal(block.shape, dtype=np.float32)
        x[first : first + chunk] = block
    return x


def planted_neural_data(
    features: np.ndarray,
    n_neuroids: int,
    *,
    noise: float = 1.0,
    related: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """Synthetic recordings with a known answer, to check the method on a model's activity.

    ``related=True``: a noisy linear map of the model's time-resolved activity,
    ``y = x W + ε`` with ``W`` the absolute values of Gaussians (``units × n_neuroids``,
    scaled by ``1/√units``: each neuroid a positive mixture of units, as firing rates pool
    rates, so that the population time course follows the model's) and ``ε`` white with s.d.
    ``noise`` × the s.d. of ``x W``: its temporal structure *is* the model's, so unshuffled
    data must score above shuffled data. ``related=False``: the same
    responses averaged over time, plus their deviations from that average permuted in time by
    one random permutation per image: every image's time-averaged response is kept, but its
    time course is unrelated to the model's, so unshuffled and shuffled data must score alike.

    Parameters
    ----------
    features : ndarray
        ``(images, bins, units)`` model activity in the neural bins.
    n_neuroids : int
    noise : float
        Noise s.d. relative to the signal's.

    Returns
    -------
    ndarray
        ``(images, bins, n_neuroids)`` float64.
    """
    features = np.asarray(features)
    if features.ndim != 3:
        raise ValueError(f"features must be (images, bins, units), got shape {features.shape}")
    rng = np.random.default_rng(seed)
    n_units = features.shape[2]
    w = np.abs(rng.standard_normal((n_units, int(n_neuroids))) / math.sqrt(n_units))
    w = w.astype(features.dtype)
    y = (features.reshape(-1, n_units) @ w).astype(np.float64).reshape(*features.shape[:2], -1)
    y += noise * y.std() * rng.standard_normal(y.shape)
    if related:
        return y
    mean = y.mean(axis=1, keepdims=True)
    order = rng.permuted(np.tile(np.arange(y.shape[1]), (y.shape[0], 1)), axis=1)
    return mean + np.take_along_axis(y - mean, order[:, :, None], axis=1)


# ----------------------------------------------------------------------------- the score


@dataclass
class PairScores:
    """Scores of one model area against one brain region.

    Attributes
    ----------
    area, region : str
    unshuffled, shuffled : ndarray
        ``(trials,)`` mean over splits of the median Pearson r over neuroids (Appendix E).
    time_averaged : ndarray
        ``(trials,)`` the classic Brain-Score on time-averaged responses, same splits.
    t, p_paired : float
        Paired t-test of ``unshuffled`` against ``shuffled`` (``scipy.stats.ttest_rel``;
        Appendix E).
    p_exchangeable : float
        The same statistic referred to the spread of the shuffles themselves:
        ``t* = t / sqrt(trials + 1)`` (a prediction-interval t-test of the unshuffled score
        against the shuffled population, ``trials − 1`` degrees of freedom). See
        :func:`temporal_predictivity`, Notes.
    n_neuroids : int
        Neuroids scored (constant ones dropped).
    """

    area: str
    region: str
    unshuffled: np.ndarray
    shuffled: np.ndarray
    time_averaged: np.ndarray
    t: float
    p_paired: float
    p_exchangeable: float
    n_neuroids: int

    def row(self) -> dict[str, Any]:
        """The table row: means and sample s.d. over trials, t and p values."""

        def sd(values: np.ndarray) -> float:
            return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

        return {
            "area": self.area,
            "region": self.region,
            "neuroids": self.n_neuroids,
            "unshuffled_mean": float(np.mean(self.unshuffled)),
            "unshuffled_sd": sd(self.unshuffled),
            "shuffled_mean": float(np.mean(self.shuffled)),
            "shuffled_sd": sd(self.shuffled),
            "t": self.t,
            "p_paired": self.p_paired,
            "p_exchangeable": self.p_exchangeable,
            "time_averaged_mean": float(np.mean(self.time_averaged)),
            "time_averaged_sd": sd(self.time_averaged),
        }


@dataclass
class NeuralPredictivity:
    """Result of :func:`temporal_predictivity`: one :class:`PairScores` per model area × brain
    region, the binned time courses for Fig. 6B and the parameters used.

    Plot with :func:`cordsneuro.plotting.plot_neural_timecourses` (Fig. 6B:
    ``plot_neural_timecourses(result.timecourses, result.bin_centres_ms)``) and
    :func:`cordsneuro.plotting.plot_neural_predictivity` (Fig. 6C: ``(result)``)."""

    pairs: list[PairScores]
    timecourses: dict[str, np.ndarray] = field(default_factory=dict)
    bin_centres_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lags_ms: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """One row per area × region: unshuffled / shuffled / time-averaged mean and sd over
        trials, t and p of the paired t-test."""
        return [p.row() for p in self.pairs]

    def format_table(self) -> str:
        """The table as aligned text."""
        head = (
            f"{'area':<10} {'region':<8} {'neuroids':>8} {'unshuffled':>17} {'shuffled':>17} "
            f"{'t':>8} {'p paired':>9} {'p exch.':>9} {'time-avg':>17}"
        )
        lines = [head, "-" * len(head)]
        for r in self.table():
            lines.append(
                f"{r['area']:<10} {r['region']:<8} {r['neuroids']:>8} "
                f"{r['unshuffled_mean']:>8.4f} ± {r['unshuffled_sd']:<6.4f} "
                f"{r['shuffled_mean']:>8.4f} ± {r['shuffled_sd']:<6.4f} "
                f"{r['t']:>8.2f} {r['p_paired']:>9.2e} {r['p_exchangeable']:>9.2e} "
                f"{r['time_averaged_mean']:>8.4f} ± {r['time_averaged_sd']:<6.4f}"
            )
        return "\n".join(lines)

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write :meth:`table` as CSV (atomically)."""
        import csv

        path = Path(path)
        rows = self.table()
        with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return path


def _align_images(
    model: xr.DataArray, neural: xr.DataArray, model_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices into model and neural presentations of the images both hold, in neural order."""
    neural_ids = [str(i) for i in neural["image_id"].values]
    model_ids = [str(i) for i in model["image_id"].values]
    position = {i: k for k, i in enumerate(model_ids)}
    missing = [i for i in neural_ids if i not in position]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ValueError(
            f"{len(missing)} of the neural data's {len(neural_ids)} image_ids are not among "
            f"the model's ({model_name}) image_ids: {shown}"
        )
    return np.array([position[i] for i in neural_ids]), np.arange(len(neural_ids))


def _drop_constant(y: np.ndarray, ids: np.ndarray, region: str) -> tuple[np.ndarray, np.ndarray]:
    """Drop neuroids constant over images and time (their correlations are undefined)."""
    flat = y.reshape(-1, y.shape[2])
    constant = flat.max(axis=0) - flat.min(axis=0) <= 1e-12 * np.maximum(1.0, np.abs(flat).max())
    if constant.any():
        warnings.warn(
            f"region {region}: dropping {int(constant.sum())} constant neuroid(s) "
            f"{[str(i) for i in ids[constant][:10]]}",
            stacklevel=3,
        )
    if constant.all():
        raise ValueError(f"region {region}: every neuroid is constant; nothing to score")
    return y[:, :, ~constant], ids[~constant]


def _fold_score(
    z: np.ndarray,
    targets: Sequence[np.ndarray],
    train: np.ndarray,
    test: np.ndarray,
    fit: Any,
) -> list[float]:
    """Median over neuroids of the test Pearson r, for each target, sharing the predictors."""
    z_train = z[train].reshape(-1, z.shape[-1])
    z_test = z[test].reshape(-1, z.shape[-1])
    mean_z = z_train.mean(axis=0)
    z_train = z_train - mean_z
    sxx = z_train.T @ z_train
    out = []
    for y in targets:
        y_train = y[train].reshape(-1, y.shape[-1])
        mean_y = y_train.mean(axis=0)
        coef = fit(sxx, z_train.T @ (y_train - mean_y))
        prediction = (z_test - mean_z) @ coef + mean_y
        out.append(median_pearson(prediction, y[test].reshape(-1, y.shape[-1])))
    return out


def temporal_predictivity(
    model: xr.DataArray | dict[str, xr.DataArray],
    neural: xr.DataArray,
    *,
    areas: Sequence[Any] | None = None,
    regions: Sequence[str] | None = None,
    image_ids: Sequence[Any] | None = None,
    lag_ms: float | dict[str, float] | str = 0.0,
    lag_search_ms: Sequence[float] = tuple(range(-100, 101, 10)),
    n_splits: int = N_SPLITS,
    n_trials: int = N_TRIALS,
    regression: str = "pls",
    n_components: int = PLS_COMPONENTS,
    alpha: float = 1.0,
    n_pca: int | None = 100,
    pca_oversample: int = 50,
    shuffle: str = "presentation",
    alternative: str = "two-sided",
    seed: int = 0,
    progress: bool = True,
) -> NeuralPredictivity:
    """Time-resolved neural predictivity with the temporal-shuffle control (Appendix E).

    For each trial (``n_trials``, Appendix E: 20) the images are split ``n_splits`` ways
    (Appendix E: 10, 90/10; :func:`image_splits`) and the neural data are shuffled along time
    once. For each split and each model area the model matrix ``[N_t·N_i_train, N_1]`` is
    reduced by a randomized PCA fitted on the training rows (``n_pca`` components;
    :class:`RandomizedSplitPCA`) and regressed onto the neural matrix
    ``[N_t·N_i_train, N_2]`` of each region, unshuffled and shuffled; on the test images the
    Pearson r of every neuroid over time bins × images is computed (:func:`pearson_columns`),
    the median over neuroids kept, and the mean over splits is the trial's score. The classic
    Brain-Score on time-averaged responses (the same splits, the same regression, PCA on the
    training images) is computed alongside. The paired t-test compares the ``n_trials``
    unshuffled scores with the shuffled ones.

    Parameters
    ----------
    model : DataArray or dict of DataArray
        Model activity with dims ``time_bin``, ``presentation``, ``neuroid`` and coords
        ``time_bin_start`` / ``time_bin_end`` (ms), e.g. :meth:`VisionTrajectory.to_xarray`;
        either already binned to the neural bins (same edges) or at the model's step
        resolution (binned here by :func:`bin_model_activity`). A dict maps area names to
        arrays; a single array is split by its ``area`` coordinate when it has one.
    neural : DataArray
        NeuroidAssembly layout (:func:`check_assembly`).
    areas : sequence, optional
        Model areas to score (default all).
    regions : sequence of str, optional
        Brain regions to score (default all in ``neural``).
    image_ids : sequence, optional
        Image ids of the model's presentations (when the model arrays have no ``image_id``).
    lag_ms : float, dict or ``"search"``
        Shift of the model's time (ms, :func:`bin_model_activity`), per area if a dict;
        ``"search"``: per area and region the lag in ``lag_search_ms`` that best aligns the
        population time courses (:func:`search_lag`).
    n_splits, n_trials : int
        Appendix E: 10 and 20.
    regression : ``"pls"`` or ``"ridge"``
        PLS with ``n_components`` components (Brain-Score: 25, :func:`pls_fit`) or ridge with
        penalty ``alpha`` (:func:`ridge_fit`).
    n_pca : int or None
        Principal components kept per split (``None``: no reduction; only for small areas).
    pca_oversample : int
        Extra columns of the randomized range finder.
    shuffle : ``"presentation"``, ``"neuroid"`` or ``"global"``
        How the neural data are "shuffled in the time axis" (Appendix E leaves it open):
        ``"presentation"`` (default) draws an independent permutation of the time bins for each
        image, shared by its neuroids (each image's time-averaged response and the
        correlations between neuroids are kept); ``"neuroid"`` one per image and neuroid;
        ``"global"`` one permutation of the bins for the whole data set. A new shuffle is drawn
        each trial.
    alternative : str
        Of the paired t-test (``"two-sided"``, ``"greater"``, ``"less"``).
    seed : int
        Seed of splits, shuffles and the PCA's test matrix.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    NeuralPredictivity

    Notes
    -----
    The t-test takes the trials as independent samples; the unshuffled data are the same in
    every trial (only the split changes), so its p-value measures how consistently, across
    splits, the unshuffled score exceeds typical shuffles of the same data.
    """
    from tqdm.auto import tqdm

    neural = check_assembly(neural)
    for label, value, low in (("n_splits", n_splits, 2), ("n_trials", n_trials, 2),
                              ("n_components", n_components, 1)):  # fmt: skip
        if int(value) != value or value < low:
            raise ValueError(f"{label} must be an integer >= {low} (got {value!r})")
    if regression not in ("pls", "ridge"):
        raise ValueError(f"regression must be 'pls' or 'ridge' (got {regression!r})")
    if n_pca is not None and (int(n_pca) != n_pca or n_pca < 1):
        raise ValueError(f"n_pca must be a positive integer or None (got {n_pca!r})")
    if shuffle not in ("presentation", "neuroid", "global"):
        raise ValueError(f"shuffle must be 'presentation', 'neuroid' or 'global' (got {shuffle!r})")
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(
            f"alternative must be 'two-sided', 'greater' or 'less' (got {alternative!r})"
        )
    fit = (
        (lambda sxx, sxy: pls_fit(sxx, sxy, n_components))
        if regression == "pls"
        else (lambda sxx, sxy: ridge_fit(sxx, sxy, alpha))
    )
    model_areas = _split_areas(model, areas)
    all_regions = list(dict.fromkeys(str(r) for r in neural["region"].values))
    regions = all_regions if regions is None else [str(r) for r in regions]
    unknown = [r for r in regions if r not in all_regions]
    if unknown:
        raise ValueError(f"regions {unknown} are not in the neural data (it has {all_regions})")
    starts = neural["time_bin_start"].values
    ends = neural["time_bin_end"].values
    n_images = neural.sizes["presentation"]
    image_splits(n_images, n_splits)  # validates the image count

    # targets: per region, (images, bins, neuroids), constant neuroids dropped
    targets = {}
    for region in regions:
        sel = neural.isel(neuroid=np.flatnonzero(neural["region"].values.astype(str) == region))
        ids = (
            sel["neuroid_id"].values
            if "neuroid_id" in sel.coords
            else np.arange(sel.sizes["neuroid"])
        )
        y, _ = _drop_constant(sel.values.transpose(0, 2, 1), np.asarray(ids), region)
        targets[region] = y

    # model features per area, binned and aligned to the neural images
    features, lags, timecourses = {}, {}, {}
    for area, activity in model_areas.items():
        activity = _with_image_ids(activity, image_ids)
        for region in regions if lag_ms == "search" else [None]:
            if lag_ms == "search":
                sel = neural.isel(
                    neuroid=np.flatnonzero(neural["region"].values.astype(str) == region)
                )
                lag = search_lag(activity, sel, lag_search_ms).lag_ms
            else:
                lag = float(lag_ms[area]) if isinstance(lag_ms, dict) else float(lag_ms)
            binned = _binned(activity, starts, ends, lag)
            model_index, _ = _align_images(binned, neural, str(area))
            x = binned.values.transpose(0, 2, 1)  # (images, bins, units)
            if not np.array_equal(model_index, np.arange(x.shape[0])):
                x = x[model_index]
            x = np.ascontiguousarray(x, dtype=np.float32)  # no copy when already so
            key = (area, region)
            features[key], lags[f"{area}" if region is None else f"{area}|{region}"] = x, lag
            timecourses[f"model {area}" + ("" if region is None else f" ({region})")] = (
                _normalised_timecourse(x.transpose(0, 2, 1))
            )
    for region in regions:
        timecourses[f"neural {region}"] = _normalised_timecourse(targets[region].transpose(0, 2, 1))

    n_trials, n_splits = int(n_trials), int(n_splits)
    rng = np.random.default_rng(seed)
    trial_splits = [image_splits(n_images, n_splits, rng) for _ in range(n_trials)]
    trial_shuffles = [
        {region: _shuffle_time(targets[region], shuffle, rng) for region in regions}
        for _ in range(n_trials)
    ]
    averaged_targets = {region: targets[region].mean(axis=1, keepdims=True) for region in regions}
    pairs = []
    bar = tqdm(
        total=len(features) * n_trials * n_splits,
        disable=not progress,
        desc="neural predictivity",
        unit="split",
    )
    for (area, lag_region), x in features.items():
        pair_regions = regions if lag_region is None else [lag_region]
        reducer = _reducer(x, n_pca, pca_oversample, seed)
        reducer_avg = _reducer(x.mean(axis=1, keepdims=True), n_pca, pca_oversample, seed)
        scores = {r: np.zeros((3, n_trials, n_splits)) for r in pair_regions}
        for trial in range(n_trials):
            for k, (train, test) in enumerate(trial_splits[trial]):
                z = reducer(train, test)
                z_avg = reducer_avg(train, test)
                for region in pair_regions:
                    s, s_shuffled = _fold_score(
                        z, [targets[region], trial_shuffles[trial][region]], train, test, fit
                    )
                    (s_avg,) = _fold_score(z_avg, [averaged_targets[region]], train, test, fit)
                    scores[region][:, trial, k] = s, s_shuffled, s_avg
                bar.update(1)
        for region in pair_regions:
            unshuffled, shuffled, averaged = np.nanmean(scores[region], axis=2)
            t, p_paired, p_exchangeable = _paired_tests(unshuffled, shuffled, alternative)
            pairs.append(
                PairScores(
                    str(area),
                    region,
                    unshuffled,
                    shuffled,
                    averaged,
                    t,
                    p_paired,
                    p_exchangeable,
                    targets[region].shape[2],
                )  # fmt: skip
            )
    bar.close()
    return NeuralPredictivity(
        pairs,
        timecourses,
        (starts + ends) / 2,
        lags,
        {
            "n_splits": n_splits,
            "n_trials": n_trials,
            "regression": regression,
            "n_components": n_components,
            "alpha": alpha,
            "n_pca": n_pca,
            "pca_oversample": pca_oversample,
            "shuffle": shuffle,
            "alternative": alternative,
            "seed": seed,
        },  # fmt: skip
    )


def _paired_tests(
    unshuffled: np.ndarray, shuffled: np.ndarray, alternative: str
) -> tuple[float, float, float]:
    """Paired t-test (Appendix E) and its exchangeable counterpart ``t / sqrt(n + 1)``."""
    from scipy import stats

    n = len(unshuffled)
    result = stats.ttest_rel(unshuffled, shuffled, alternative=alternative)
    t = float(result.statistic)
    t_star = t / math.sqrt(n + 1)
    tail = stats.t(df=n - 1)
    if alternative == "two-sided":
        p_star = 2 * tail.sf(abs(t_star))
    elif alternative == "greater":
        p_star = tail.sf(t_star)
    else:
        p_star = tail.cdf(t_star)
    return t, float(result.pvalue), float(p_star)


def _reducer(x: np.ndarray, n_pca: int | None, oversample: int, seed: int):
    """``(train, test) -> features (images, bins, k)`` for one model area."""
    if n_pca is None or n_pca >= x.shape[2]:
        x64 = x.astype(np.float64)
        return lambda train, test: x64
    pca = RandomizedSplitPCA(x, n_pca, oversample, seed)
    return pca.transform


def _split_areas(
    model: xr.DataArray | dict[str, xr.DataArray], areas: Sequence[Any] | None
) -> dict[str, xr.DataArray]:
    import xarray as xr

    if isinstance(model, dict):
        found = {str(k): v for k, v in model.items()}
    elif isinstance(model, xr.DataArray):
        if "area" in model.coords and model["area"].dims == ("neuroid",):
            values = model["area"].values
            found = {
                str(a): model.isel(neuroid=np.flatnonzero(values == a))
                for a in dict.fromkeys(values.tolist())
            }
        else:
            found = {"model": model}
    else:
        raise TypeError(f"model must be a DataArray or a dict of them, got {type(model).__name__}")
    if areas is None:
        return found
    wanted = [str(a) for a in areas]
    unknown = [a for a in wanted if a not in found]
    if unknown:
        raise ValueError(f"areas {unknown} are not in the model activity (it has {list(found)})")
    return {a: found[a] for a in wanted}


def _with_image_ids(activity: xr.DataArray, image_ids: Sequence[Any] | None) -> xr.DataArray:
    if image_ids is None:
        if "image_id" not in activity.coords:
            raise ValueError(
                "the model activity has no image_id coordinate: pass image_ids (one per "
                "presentation, the ids used in the neural data)"
            )
        return activity
    image_ids = np.asarray(image_ids)
    if len(image_ids) != activity.sizes["presentation"]:
        raise ValueError(
            f"image_ids has {len(image_ids)} entries; the model has "
            f"{activity.sizes['presentation']} presentations"
        )
    return activity.assign_coords(image_id=("presentation", image_ids))


def _binned(
    activity: xr.DataArray, starts: np.ndarray, ends: np.ndarray, lag: float
) -> xr.DataArray:
    """The activity in the neural bins: as given when its bins already are the neural ones
    (and no lag), otherwise averaged by :func:`bin_model_activity`."""
    m_start, m_end = _model_bins(activity)
    same = len(m_start) == len(starts) and np.allclose(m_start, starts) and np.allclose(m_end, ends)
    if same and lag == 0:
        return activity.transpose(*DIMS)
    return bin_model_activity(activity, starts, ends, lag_ms=lag)
