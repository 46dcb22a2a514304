"""Stimuli against their definitions: dot counts and control-set invariants measured from the
pixels, morph endpoints, cue positions, motion coherence measured from the frames."""

import math

import numpy as np
import pytest
from scipy import ndimage

from cordsneuro.tasks import stimuli as S


def components(image: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected dots of a grey image: count, areas (pixel sums) and centroids (row, col)."""
    labels, n = ndimage.label(image > 0)
    idx = np.arange(1, n + 1)
    areas = np.asarray(ndimage.sum(image, labels, idx))
    centroids = np.asarray(ndimage.center_of_mass(image, labels, idx)).reshape(-1, 2)
    return n, areas, centroids + 0.5  # pixel centres at i + 0.5


@pytest.mark.parametrize("control", S.CONTROL_SETS)
def test_dot_counts(control):
    for n in S.NUMEROSITIES:
        for seed in range(3):
            d = S.numerosity(n, control, image_size=64, seed=seed)
            assert d.image.shape == (1, 64, 64) and d.image.dtype == np.float32
            assert components(d.image[0])[0] == n == d.n
            assert 0 <= d.image.min() and d.image.max() <= 1


def test_equal_total_area_across_numbers():
    # measured from the pixels (anti-aliased coverage sums to the discs' area)
    totals = [
        S.numerosity(n, "area", image_size=128, seed=s).image.sum()
        for n in S.NUMEROSITIES
        for s in range(2)
    ]
    expected = 2.2 * math.pi * (0.09 * 128) ** 2
    np.testing.assert_allclose(totals, expected, rtol=0.03)
    # the standard set does not hold it: area grows with number
    standard = [
        np.mean([S.numerosity(n, "standard", image_size=128, seed=s).image.sum() for s in range(8)])
        for n in (1, 5)
    ]
    assert standard[1] > 2.5 * standard[0]


def test_equal_total_circumference_across_numbers():
    totals = []
    for n in S.NUMEROSITIES:
        for s in range(2):
            _, areas, _ = components(
                S.numerosity(n, "circumference", image_size=160, seed=s).image[0]
            )
            totals.append(np.sum(2 * math.pi * np.sqrt(areas / math.pi)))
    np.testing.assert_allclose(totals, 2 * math.pi * 0.16 * 160, rtol=0.03)


def test_linear_and_shape_configurations():
    _, _, c = components(S.numerosity(4, "linear", image_size=96, seed=1).image[0])
    centred = c - c.mean(0)
    assert np.linalg.svd(centred, compute_uv=False)[1] < 0.5  # collinear
    _, _, c = components(S.numerosity(5, "shape", image_size=96, seed=2).image[0])
    radii = np.linalg.norm(c - c.mean(0), axis=1)
    np.testing.assert_allclose(radii, radii.mean(), rtol=0.05)  # on a circle (regular polygon)


def test_morph_endpoints_equal_prototypes():
    np.testing.assert_array_equal(S.category_morph(0), S.draw_head(S.CAT))
    np.testing.assert_array_equal(S.category_morph(100), S.draw_head(S.DOG))
    cats, dogs = S.prototypes(3)
    np.testing.assert_array_equal(
        S.category_morph(0, cat=cats[1], dog=dogs[2]), S.draw_head(cats[1])
    )
    # morphs move away from the cat and towards the dog monotonically
    cat, dog = S.draw_head(S.CAT), S.draw_head(S.DOG)
    d_cat = [np.abs(S.category_morph(v) - cat).sum() for v in S.MORPH_LEVELS]
    d_dog = [np.abs(S.category_morph(v) - dog).sum() for v in S.MORPH_LEVELS]
    assert np.all(np.diff(d_cat) > 0) and np.all(np.diff(d_dog) < 0)


def test_user_prototypes_cross_dissolve():
    rng = np.random.default_rng(0)
    cat, dog = rng.random((2, 3, 20, 20)).astype(np.float32)
    np.testing.assert_array_equal(S.category_morph(0, cat=cat, dog=dog), cat)
    np.testing.assert_array_equal(S.category_morph(100, cat=cat, dog=dog), dog)
    np.testing.assert_allclose(
        S.category_morph(40, cat=cat, dog=dog), 0.6 * cat + 0.4 * dog, rtol=1e-6
    )


def test_cue_positions():
    size = 96
    for k in range(S.N_POSITIONS):
        img = S.odr_frame(True, k, image_size=size)[0]
        n, areas, c = components(img)
        assert n == 2
        fix, cue = c[np.argmin(areas)], c[np.argmax(areas)]
        np.testing.assert_allclose(fix, [size / 2, size / 2], atol=0.05)
        angle = math.degrees(math.atan2(-(cue[0] - size / 2), cue[1] - size / 2)) % 360
        assert abs((angle - 45 * k + 180) % 360 - 180) < 0.5
        assert abs(np.hypot(*(cue - size / 2)) - 0.33 * size) < 0.3
    assert components(S.odr_frame(True, None, image_size=size)[0])[0] == 1


@pytest.mark.parametrize("coherence", [0.0, 0.128, 0.512, 1.0])
@pytest.mark.parametrize("direction", [-1, 1])
def test_motion_coherence_from_frames(coherence, direction, measured_coherence):
    movie = S.random_dots(coherence, direction, 300, image_size=48, density=0.01, seed=3)
    assert movie.frames.shape == (300, 1, 48, 48)
    assert movie.coherent[1:].mean() == pytest.approx(
        round(coherence * movie.positions.shape[1]) / movie.positions.shape[1]
    )
    assert measured_coherence(movie.frames, movie.speed) == pytest.approx(
        direction * coherence, abs=0.03
    )


def test_reproducible_by_seed():
    a = S.numerosity(3, "standard", seed=5).image
    assert np.array_equal(a, S.numerosity(3, "standard", seed=5).image)
    assert not np.array_equal(a, S.numerosity(3, "standard", seed=6).image)
    m = S.random_dots(0.5, 1, 5, seed=1).frames
    assert np.array_equal(m, S.random_dots(0.5, 1, 5, seed=1).frames)


def test_any_resolution_and_channels():
    img = S.numerosity(2, image_size=(40, 56), channels=3, seed=0).image
    assert img.shape == (3, 40, 56) and np.array_equal(img[0], img[2])
    assert S.category_morph(60, image_size=224).shape == (1, 224, 224)


def test_bad_input():
    with pytest.raises(ValueError, match="at least one item"):
        S.numerosity(0)
    with pytest.raises(ValueError, match="n \\(number of dots\\)"):
        S.numerosity(2.5)
    with pytest.raises(ValueError, match="control"):
        S.numerosity(2, "density")
    for bad in (1.2, -0.1, float("nan")):
        with pytest.raises(ValueError, match="coherence must be a fraction in \\[0, 1\\]"):
            S.random_dots(bad, 1, 3)
    with pytest.raises(ValueError, match="direction"):
        S.random_dots(0.5, 0, 3)
    for bad in (120, -1, float("inf")):
        with pytest.raises(ValueError, match="morph level must be in \\[0, 100\\]"):
            S.category_morph(bad)
    with pytest.raises(ValueError, match="cue position"):
        S.odr_frame(True, 8)
    with pytest.raises(ValueError, match="image_size"):
        S.numerosity(1, image_size=4)
