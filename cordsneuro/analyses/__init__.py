"""cordsneuro.analyses: dynamical-systems analyses that work on every model through the
:class:`~cordsneuro.dynamics.DynamicalRNN` interface.

Names are imported lazily (``import cordsneuro.analyses`` does not import torch or scipy):

- regimes (Fig. 1B, S1B): :func:`classify_regime`, :func:`gain_sweep`,
  :func:`largest_lyapunov_exponent`, :func:`autocorrelation`, :func:`simulate_autonomous`
- spectra (Fig. 4A–B, S1A): :func:`conv_matrix`, :func:`conv_operator`,
  :func:`singular_values`, :func:`circular_conv_eigenvalues`, :func:`top_eigenvalues`,
  :func:`recurrent_eigenvalues`, :func:`jacobian_operator`, :func:`jacobian_eigenvalues`,
  :func:`power_iteration`
- fixed points and attractors (Fig. 1D, S3): :func:`find_fixed_points`,
  :func:`describe_attractor`
- dimensionality (eq. 3, Fig. 4C): :class:`PCA`, :func:`participation_ratio`,
  :func:`cumulative_variance_explained`
- similarity (Table S2, Fig. 1C, S2): :class:`LinearMetric`, :func:`pairwise_distances`,
  :func:`cca_align`, :func:`mds_embedding`, :func:`normalised_singular_values`
- complexity (Fig. 2C): the submodule :mod:`cordsneuro.analyses.complexity` (MACs and
  parameters of any module, torchvision models and CordsNet)
"""

from __future__ import annotations

import importlib

_LAZY = {
    # regimes
    "RegimeReport": "regimes",
    "simulate_autonomous": "regimes",
    "autocorrelation": "regimes",
    "largest_lyapunov_exponent": "regimes",
    "classify_regime": "regimes",
    "gain_sweep": "regimes",
    # spectra
    "Spectrum": "spectra",
    "conv_matrix": "spectra",
    "conv_operator": "spectra",
    "conv_output_shape": "spectra",
    "singular_values": "spectra",
    "circular_conv_eigenvalues": "spectra",
    "circular_conv_singular_values": "spectra",
    "top_eigenvalues": "spectra",
    "recurrent_eigenvalues": "spectra",
    "jacobian_operator": "spectra",
    "jacobian_eigenvalues": "spectra",
    "power_iteration": "spectra",
    # fixed points
    "FixedPoints": "fixed_points",
    "AttractorDescription": "fixed_points",
    "sample_states": "fixed_points",
    "find_fixed_points": "fixed_points",
    "describe_attractor": "fixed_points",
    # dimensionality
    "PCA": "dimensionality",
    "participation_ratio": "dimensionality",
    "cumulative_variance_explained": "dimensionality",
    # similarity
    "LinearMetric": "similarity",
    "pairwise_distances": "similarity",
    "cca_align": "similarity",
    "mds_embedding": "similarity",
    "normalised_singular_values": "similarity",
}

_SUBMODULES = ("regimes", "spectra", "fixed_points", "dimensionality", "similarity", "complexity")

__all__ = sorted([*_LAZY, *_SUBMODULES])


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"cordsneuro.analyses.{_LAZY[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"cordsneuro.analyses.{name}")
    else:
        raise AttributeError(f"module 'cordsneuro.analyses' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
