"""Unit tuning against planted tuning curves."""

import numpy as np
import pytest

from cordsneuro.analyses import category_index, trial_responses, unit_tuning


def planted(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, 6, size=600)  # numerosity 1..5
    n_units = 20
    x = rng.normal(0, 1, size=(600, n_units))
    preferred = {3: 1, 7: 4, 11: 5}  # units tuned (Gaussian tuning, width 1) to a number
    for unit, pref in preferred.items():
        x[:, unit] += 4 * np.exp(-((labels - pref) ** 2) / 2)
    return x, labels, preferred


def test_selective_units_found_with_their_preferred_number():
    x, labels, preferred = planted()
    t = unit_tuning(x, labels, name="sample")
    assert set(t.top(3).tolist()) == set(preferred)
    for unit, pref in preferred.items():
        assert t.preferred[unit] == pref
        assert t.selectivity[unit] > 0.5 and t.p_value[unit] < 1e-10
    others = [u for u in range(20) if u not in preferred]
    assert t.selectivity[others].max() < 0.05  # noise units: η² ≈ (k − 1) / n
    assert t.fraction_selective(0.001) == pytest.approx(3 / 20, abs=0.05)
    np.testing.assert_allclose(t.curves[:, 3], [x[labels == v, 3].mean() for v in range(1, 6)])


def test_trial_responses_window_and_category_index():
    rates = np.zeros((4, 10, 2))
    rates[:, 5:, 0] = np.array([1.0, 2.0, 3.0, 4.0])[:, None]
    mask = np.zeros((4, 10), dtype=bool)
    mask[:, 5:8] = True
    np.testing.assert_allclose(trial_responses(rates, mask)[:, 0], [1, 2, 3, 4])
    np.testing.assert_allclose(trial_responses(rates, slice(0, 5)), 0)
    d = category_index(np.array([[0.0], [0.2], [1.0], [1.2]]), [0, 0, 1, 1])
    assert d[0] == pytest.approx(1.0 / np.sqrt(0.02))


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 levels"):
        unit_tuning(np.zeros((4, 2)), [1, 1, 1, 1])
    with pytest.raises(ValueError, match="trials"):
        unit_tuning(np.zeros((4, 2)), [1, 2])
    with pytest.raises(ValueError, match="window mask"):
        trial_responses(np.zeros((2, 3, 1)), np.ones((2, 4), dtype=bool))
