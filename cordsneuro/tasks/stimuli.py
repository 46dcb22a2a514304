"""The visual stimuli of four monkey experiments, drawn as images at any resolution.

Every function returns float32 images in [0, 1] (white on black) shaped ``(channels, H, W)``
(or ``(frames, channels, H, W)``), and is reproducible: the same ``seed`` (an int or a
``numpy.random.Generator``) gives the same pixels. Sizes are fractions of the image side
``S`` so that a display looks the same at 32 × 32 and at 224 × 224.

* :func:`numerosity` — Nieder, Freedman & Miller (2002): 1–5 dots, with the paper's control
  sets so that number is not confounded with low-level features: ``"standard"`` (variable dot
  size and position), ``"area"`` (equal total dot area across numbers), ``"circumference"``
  (equal total circumference), ``"linear"`` (dots on a line) and ``"shape"`` (dots at the
  corners of a regular polygon, a canonical configuration).
* :func:`category_morph` — Freedman, Riesenhuber, Poggio & Miller (2001): cat/dog morphs at
  0–100 % dog (boundary 50 %). Prototypes are user images (morphed by cross-dissolve,
  ``(1 − m) · cat + m · dog``) or built-in line drawings of an animal head defined by 20
  shape parameters (head, ears, snout, eyes, nose; :data:`CAT`, :data:`DOG`), morphed by
  linear interpolation of those parameters — a true shape morph, the analogue of the
  correspondence-point morphing of the original study — then drawn. Both morphs return the
  prototypes exactly at 0 % and 100 %.
* :func:`odr_frame` — Funahashi, Bruce & Goldman-Rakic (1989): a central fixation point and
  a cue at one of 8 positions on a circle (every 45°, eccentricity ``0.33 S``).
* :func:`random_dots` — Roitman & Shadlen (2002): a random-dot kinematogram; on each frame a
  fraction ``coherence`` of the dots (chosen afresh per frame) moves ``speed`` pixels left or
  right, the others are replotted at random; dots wrap around the image edges, so coherence is
  exact at every frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONTROL_SETS",
    "NUMEROSITIES",
    "MORPH_LEVELS",
    "CAT",
    "DOG",
    "N_POSITIONS",
    "COHERENCES_MOTION",
    "Display",
    "numerosity",
    "prototypes",
    "category_morph",
    "draw_head",
    "odr_frame",
    "odr_position",
    "Kinematogram",
    "random_dots",
]

#: Control sets of Nieder, Freedman & Miller (2002).
CONTROL_SETS = ("standard", "area", "circumference", "linear", "shape")
#: Numbers of items shown (Nieder et al. 2002: 1–5).
NUMEROSITIES = (1, 2, 3, 4, 5)
#: Morph levels in % dog (Freedman et al. 2001); the category boundary is 50 %.
MORPH_LEVELS = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
#: Cue positions of the oculomotor delayed response (Funahashi et al. 1989): 8, every 45°.
N_POSITIONS = 8
#: Motion coherences of Roitman & Shadlen (2002), as fractions.
COHERENCES_MOTION = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)

# Numerosity geometry, in units of the image side S.
_MARGIN = 0.06  # dots stay this far from the edges
_GAP = 0.04  # minimum gap between dot edges
_R_STANDARD = (0.045, 0.085)  # radius range of the standard set
_AREA_RADIUS = 0.09  # equal-area set: total area = π (0.09 S)²·2.2
_CIRC_RADIUS = 0.16  # equal-circumference set: total circumference = 2π (0.16 S)


@dataclass(frozen=True)
class Display:
    """A numerosity display.

    Attributes
    ----------
    image : ndarray
        ``(channels, H, W)`` float32 in [0, 1].
    centres : ndarray
        ``(n, 2)`` dot centres (row, column) in pixels.
    radii : ndarray
        ``(n,)`` dot radii in pixels.
    control : str
        The control set it was drawn from.
    """

    image: np.ndarray
    centres: np.ndarray
    radii: np.ndarray
    control: str

    @property
    def n(self) -> int:
        return len(self.radii)


# ----------------------------------------------------------------------------- helpers


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in image_size)
    ):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise ValueError(f"image_size must be an int or (height, width) (got {image_size!r})")
    if min(size) < 8:
        raise ValueError(f"image_size must be at least 8 × 8 pixels (got {size})")
    return size


def _check_channels(channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ValueError(f"channels must be an int >= 1 (got {channels!r})")
    return int(channels)


def _grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (row, column), pixel ``(i, j)`` centred at ``(i + .5, j + .5)``."""
    return np.meshgrid(np.arange(size[0]) + 0.5, np.arange(size[1]) + 0.5, indexing="ij")


def _discs(size: tuple[int, int], centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Anti-aliased filled discs: a pixel's value is its (approximate) covered fraction,
    ``clip(r + ½ − d, 0, 1)``, so the image sums to the discs' area ``Σ π r²`` (within a few %
    for r ≥ 1 px)."""
    yy, xx = _grid(size)
    img = np.zeros(size)
    for (cy, cx), r in zip(centres, radii):
        d = np.hypot(yy - cy, xx - cx)
        img = np.maximum(img, np.clip(r + 0.5 - d, 0.0, 1.0))
    return img


def _as_image(plane: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(np.clip(plane, 0, 1)[None].astype(np.float32), channels, axis=0)


# ----------------------------------------------------------------------------- numerosity


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n (number of dots) must be an int in 1…5 (got {n!r})")
    if not 1 <= n <= max(NUMEROSITIES):
        raise ValueError(
            f"n (number of dots) must be in 1…{max(NUMEROSITIES)} (got {n}): "
            "a numerosity display shows at least one item"
        )
    return int(n)


def _radii(n: int, control: str, side: float, rng: np.random.Generator) -> np.ndarray:
    """Dot radii (px) of one display: random sizes, rescaled to the control's invariant."""
    if control in ("standard", "linear"):
        return rng.uniform(*_R_STANDARD, size=n) * side
    if control == "shape":  # equal dots: the configuration is the feature that varies
        return np.full(n, rng.uniform(*_R_STANDARD)) * side
    w = rng.uniform(0.75, 1.25, size=n)
    if control == "area":  # Σ π r² = A (same for every n)
        total = math.pi * (_AREA_RADIUS * side) ** 2 * 2.2
        return np.sqrt(total * w / (math.pi * w.sum()))
    # circumference: Σ 2π r = C (same for every n)
    total = 2 * math.pi * _CIRC_RADIUS * side
    return total * w / (2 * math.pi * w.sum())


def _place(
    radii: np.ndarray, size: tuple[int, int], control: str, rng: np.random.Generator
) -> np.ndarray:
    """Non-overlapping centres (px) for dots of ``radii``; a gap of ``_GAP · S`` between edges."""
    side = min(size)
    gap, margin = _GAP * side, _MARGIN * side
    n = len(radii)
    for _ in range(2000):
        if control == "linear":  # equally spaced along a random line through the middle region
            angle = rng.uniform(0, math.pi)
            step = 2 * radii.max() + gap + rng.uniform(0, 0.05 * side)
            offsets = (np.arange(n) - (n - 1) / 2) * step
            centre = np.array(size) / 2 + rng.uniform(-0.1, 0.1, 2) * side
            centres = centre + offsets[:, None] * np.array([math.sin(angle), math.cos(angle)])
        elif control == "shape" and n > 1:  # corners of a regular n-gon
            spread = (radii[0] + gap / 2) / math.sin(math.pi / n) if n > 2 else radii[0] + gap
            ring = rng.uniform(1.0, 1.3) * max(spread, 0.12 * side)
            phase = rng.uniform(0, 2 * math.pi)
            angles = phase + 2 * math.pi * np.arange(n) / n
            centre = np.array(size) / 2 + rng.uniform(-0.08, 0.08, 2) * side
            centres = centre + ring * np.stack([np.sin(angles), np.cos(angles)], axis=1)
        else:
            lo = margin + radii[:, None]
            hi = np.array(size)[None, :] - margin - radii[:, None]
            centres = rng.uniform(lo, hi)
        inside = (centres - radii[:, None] >= margin * 0.5).all() and (
            centres + radii[:, None] <= np.array(size) - margin * 0.5
        ).all()
        d = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
        clear = d + np.eye(n) * 1e9 >= radii[:, None] + radii[None, :] + gap
        if inside and clear.all():
            return centres
    raise RuntimeError(
        f"could not place {n} dots ({control}) on a {size[0]} × {size[1]} image; use a larger "
        "image_size"
    )


def numerosity(
    n: int,
    control: str = "standard",
    *,
    image_size: int | Sequence[int] = 32,
    channels: int = 1,
    seed: int | np.random.Generator | None = None,
) -> Display:
    """A display of ``n`` dots (Nieder, Freedman & Miller 2002).

    Parameters
    ----------
    n : int
        Number of dots, 1–5.
    control : str
        One of :data:`CONTROL_SETS`:

        * ``"standard"``: radii uniform in [0.045, 0.085] S, random non-overlapping positions;
        * ``"area"``: the total dot area ``Σ π r²`` is the same for every ``n``
          (``2.2 π (0.09 S)²``), individual sizes random;
        * ``"circumference"``: the total circumference ``Σ 2π r`` is the same for every ``n``
          (``2π · 0.16 S``), individual sizes random;
        * ``"linear"``: dots equally spaced on a line of random orientation;
        * ``"shape"``: equal dots at the corners of a regular ``n``-gon (a pair for 2, one
          central dot for 1) of random size, rotation and position.
    image_size : int or (int, int)
        Height and width in pixels (>= 8).
    channels : int
        Number of (identical) channels, e.g. 3 for a front end built for RGB.
    seed : int or numpy Generator, optional
        Source of the random sizes and positions.

    Returns
    -------
    Display
    """
    n = _check_n(n)
    if control not in CONTROL_SETS:
        raise ValueError(f"control must be one of {CONTROL_SETS} (got {control!r})")
    size = _check_size(image_size)
    channels = _check_channels(channels)
    rng = _rng(seed)
    radii = _radii(n, control, min(size), rng)
    centres = _place(radii, size, control, rng)
    return Display(_as_image(_discs(size, centres, radii), channels), centres, radii, control)


# ----------------------------------------------------------------------------- cat / dog

#: Shape parameters of the built-in animal-head drawings, in units of the image side, image
#: centre at (0, 0), rows down: head (centre row, half-width, half-height), each ear (base
#: half-spread, base width, tip column offset, tip row offset), snout (row, half-width,
#: half-height), eyes (row, half-spread, radius), nose (row, radius), jaw, cheeks, ear base — 20 numbers with the two
#: ears described once (mirror-symmetric).
_FIELDS = (
    "head_row", "head_w", "head_h",
    "ear_spread", "ear_width", "ear_tip_col", "ear_tip_row", "ear_round",
    "snout_row", "snout_w", "snout_h",
    "eye_row", "eye_spread", "eye_r",
    "nose_row", "nose_r",
    "jaw_w", "jaw_row", "cheek", "ear_base_row",
)  # fmt: skip
#: The cat prototype: a round head, pointed upright ears, a short snout.
CAT = np.array(
    [0.04, 0.27, 0.24,  0.16, 0.14, 0.25, -0.44, 0.0,  0.12, 0.09, 0.06,
     -0.02, 0.11, 0.035,  0.08, 0.025,  0.20, 0.14, 0.05, -0.12]
)  # fmt: skip
#: The dog prototype: a longer head, drooping rounded ears beside it, a long wide snout.
DOG = np.array(
    [0.0, 0.22, 0.30,  0.20, 0.12, 0.36, 0.16, 1.0,  0.20, 0.14, 0.11,
     -0.08, 0.10, 0.035,  0.16, 0.045,  0.13, 0.24, 0.0, -0.18]
)  # fmt: skip


def prototypes(n_per_category: int = 3, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Built-in prototype parameters: ``n_per_category`` cats and dogs ``(n, 20)``, each the
    base :data:`CAT` / :data:`DOG` with every parameter jittered by ±8 % (uniform, seeded),
    like the three cats and three dogs of Freedman et al. (2001)."""
    if isinstance(n_per_category, bool) or not isinstance(n_per_category, (int, np.integer)):
        raise ValueError(f"n_per_category must be an int >= 1 (got {n_per_category!r})")
    if n_per_category < 1:
        raise ValueError(f"n_per_category must be an int >= 1 (got {n_per_category!r})")
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(0.92, 1.08, size=(2, n_per_category, len(CAT)))
    jitter[:, 0] = 1.0  # the first of each is the base prototype
    return CAT * jitter[0], DOG * jitter[1]


def _triangle(yy: np.ndarray, xx: np.ndarray, a, b, c) -> np.ndarray:
    """Points inside the triangle ``a, b, c`` (each (row, column))."""

    def edge(p, q):
        return (q[1] - p[1]) * (yy - p[0]) - (q[0] - p[0]) * (xx - p[1])

    d = (edge(a, b), edge(b, c), edge(c, a))
    negative = (d[0] < 0) | (d[1] < 0) | (d[2] < 0)
    positive = (d[0] > 0) | (d[1] > 0) | (d[2] > 0)
    return ~(negative & positive)


def draw_head(
    params: np.ndarray,
    *,
    image_size: int | Sequence[int] = 32,
    channels: int = 1,
    supersample: int = 4,
) -> np.ndarray:
    """Draw an animal head from its 20 shape parameters (:data:`CAT`, :data:`DOG` or any
    interpolation): white head, ears and snout on black, dark eyes and nose; anti-aliased by
    ``supersample`` × ``supersample`` sampling. Returns ``(channels, H, W)`` float32."""
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (len(_FIELDS),) or not np.isfinite(params).all():
        raise ValueError(f"params must be {len(_FIELDS)} finite numbers (got {params.shape})")
    size = _check_size(image_size)
    channels = _check_channels(channels)
    p = dict(zip(_FIELDS, params))
    s = int(supersample)
    hi = (size[0] * s, size[1] * s)
    side = min(size)
    yy, xx = _grid(hi)
    yy = (yy / s - size[0] / 2) / side  # image-side units, centre 0
    xx = (xx / s - size[1] / 2) / side

    def ellipse(row, col, w, h):
        return ((yy - row) / max(h, 1e-6)) ** 2 + ((xx - col) / max(w, 1e-6)) ** 2 <= 1

    head = ellipse(p["head_row"], 0, p["head_w"], p["head_h"])
    head |= ellipse(p["jaw_row"], 0, p["jaw_w"], 0.12)
    for c in (-1.0, 1.0):
        head |= ellipse(p["head_row"] + 0.02, c * p["cheek"] * 3, p["head_w"] * 0.7, 0.12)
    ears = np.zeros(hi, dtype=bool)
    for c in (-1.0, 1.0):
        base_row = p["head_row"] + p["ear_base_row"]
        b0 = np.array([base_row, c * (p["ear_spread"] - p["ear_width"] / 2)])
        b1 = np.array([base_row, c * (p["ear_spread"] + p["ear_width"] / 2)])
        tip = np.array([p["head_row"] + p["ear_tip_row"], c * p["ear_tip_col"]])
        ears |= _triangle(yy, xx, b0, b1, tip)
        # a rounded ear end (dogs): a disc at the tip whose size grows with ear_round
        r = max(p["ear_round"], 0) * p["ear_width"] * 0.6
        if r > 0:
            ears |= (yy - tip[0]) ** 2 + (xx - tip[1]) ** 2 <= r**2
    snout = ellipse(p["head_row"] + p["snout_row"], 0, p["snout_w"], p["snout_h"])
    plane = (head | ears | snout).astype(np.float64)
    dark = np.zeros(hi, dtype=bool)
    for c in (-1.0, 1.0):
        dark |= ellipse(p["head_row"] + p["eye_row"], c * p["eye_spread"], p["eye_r"], p["eye_r"])
    dark |= ellipse(p["head_row"] + p["nose_row"], 0, p["nose_r"] * 1.3, p["nose_r"])
    plane[dark] = 0.15
    plane = plane.reshape(size[0], s, size[1], s).mean(axis=(1, 3))
    return _as_image(plane, channels)


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise ValueError(f"morph level must be a number of % dog in [0, 100] (got {level!r})")
    level = float(level)
    if not (math.isfinite(level) and 0.0 <= level <= 100.0):
        raise ValueError(
            f"morph level must be in [0, 100] % dog (0 = cat prototype, 100 = dog prototype, "
            f"boundary 50); got {level}"
        )
    return level


def category_morph(
    level: float,
    *,
    cat: np.ndarray | None = None,
    dog: np.ndarray | None = None,
    image_size: int | Sequence[int] = 32,
    channels: int = 1,
) -> np.ndarray:
    """A cat/dog morph at ``level`` % dog (Freedman et al. 2001).

    Parameters
    ----------
    level : float
        0 (the cat) … 100 (the dog); the category boundary is 50.
    cat, dog : ndarray, optional
        Either shape parameters ``(20,)`` (built-in drawings; default :data:`CAT` and
        :data:`DOG`), morphed by linear interpolation of the parameters and then drawn; or
        images ``(H, W)`` / ``(C, H, W)`` in [0, 1] (user prototypes of the same shape),
        morphed by cross-dissolve ``(1 − m) · cat + m · dog`` with ``m = level / 100``.
    image_size, channels :
        Size of the built-in drawings (user images keep their own size and channels).

    Returns
    -------
    ndarray
        ``(channels, H, W)`` float32; exactly the cat at 0 and the dog at 100.
    """
    m = _check_level(level) / 100.0
    cat = CAT if cat is None else np.asarray(cat, dtype=np.float64)
    dog = DOG if dog is None else np.asarray(dog, dtype=np.float64)
    if cat.shape != dog.shape:
        raise ValueError(f"cat and dog prototypes differ in shape: {cat.shape} vs {dog.shape}")
    if cat.shape == (len(_FIELDS),):
        params = cat if m == 0 else dog if m == 1 else (1 - m) * cat + m * dog
        return draw_head(params, image_size=image_size, channels=channels)
    if cat.ndim not in (2, 3):
        raise ValueError(
            f"prototypes must be {len(_FIELDS)} shape parameters or images (H, W) / (C, H, W); "
            f"got shape {cat.shape}"
        )
    for name, img in (("cat", cat), ("dog", dog)):
        if not np.isfinite(img).all() or img.min() < 0 or img.max() > 1:
            raise ValueError(f"{name} prototype image must hold finite values in [0, 1]")
    images = [(im if im.ndim == 3 else im[None]).astype(np.float32) for im in (cat, dog)]
    if m == 0:
        return images[0].copy()
    if m == 1:
        return images[1].copy()
    return ((1 - m) * images[0] + m * images[1]).astype(np.float32)


# ----------------------------------------------------------------------------- ODR

#: Oculomotor delayed response geometry (units of S): cue eccentricity and radius, fixation
#: point radius.
_ODR_ECCENTRICITY, _ODR_CUE, _ODR_FIXATION = 0.33, 0.07, 0.035


def odr_position(k: int, image_size: int | Sequence[int] = 32) -> tuple[float, float]:
    """Centre (row, column) in pixels of cue position ``k`` ∈ 0…7 (angle 45°·k,
    counter-clockwise from the right, as on the screen)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < N_POSITIONS:
        raise ValueError(f"cue position must be an int in 0…{N_POSITIONS - 1} (got {k!r})")
    size = _check_size(image_size)
    angle = 2 * math.pi * k / N_POSITIONS
    r = _ODR_ECCENTRICITY * min(size)
    return size[0] / 2 - r * math.sin(angle), size[1] / 2 + r * math.cos(angle)


def odr_frame(
    fixation: bool,
    cue: int | None = None,
    *,
    image_size: int | Sequence[int] = 32,
    channels: int = 1,
) -> np.ndarray:
    """One frame of the oculomotor delayed response task (Funahashi et al. 1989): a central
    fixation point (if ``fixation``) and a cue disc at position ``cue`` (0…7, or None)."""
    size = _check_size(image_size)
    centres, radii = [], []
    if fixation:
        centres.append((size[0] / 2, size[1] / 2))
        radii.append(_ODR_FIXATION * min(size))
    if cue is not None:
        centres.append(odr_position(cue, size))
        radii.append(_ODR_CUE * min(size))
    plane = _discs(size, np.array(centres).reshape(-1, 2), np.array(radii))
    return _as_image(plane, _check_channels(channels))


# ----------------------------------------------------------------------------- motion


@dataclass(frozen=True)
class Kinematogram:
    """A random-dot motion movie.

    Attributes
    ----------
    frames : ndarray
        ``(n_frames, channels, H, W)`` float32 in {0, 1}.
    positions : ndarray
        ``(n_frames, n_dots, 2)`` integer dot positions (row, column).
    coherent : ndarray
        ``(n_frames, n_dots)`` bool: the dots that moved coherently into frame ``t`` (all False
        at frame 0).
    direction : int
        +1 (rightward) or −1 (leftward).
    coherence : float
        The fraction of coherently moving dots per frame.
    speed : int
        Displacement of the coherent dots in pixels per frame.
    """

    frames: np.ndarray
    positions: np.ndarray
    coherent: np.ndarray
    direction: int
    coherence: float
    speed: int


def _check_coherence(coherence: float) -> float:
    if isinstance(coherence, bool) or not isinstance(
        coherence, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"coherence must be a fraction in [0, 1] (got {coherence!r})")
    c = float(coherence)
    if not (math.isfinite(c) and 0.0 <= c <= 1.0):
        raise ValueError(
            f"coherence must be a fraction in [0, 1] (51.2 % is 0.512); got {coherence!r}"
        )
    return c


def random_dots(
    coherence: float,
    direction: int,
    n_frames: int,
    *,
    image_size: int | Sequence[int] = 32,
    channels: int = 1,
    density: float = 0.02,
    speed: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> Kinematogram:
    """A random-dot kinematogram (Roitman & Shadlen 2002), one frame per time step.

    Parameters
    ----------
    coherence : float
        Fraction in [0, 1] of the dots that move coherently on each frame (the study used
        0, 3.2, 6.4, 12.8, 25.6 and 51.2 %).
    direction : int
        +1 rightward, −1 leftward.
    n_frames : int
        Number of frames (>= 1).
    image_size, channels :
        Frame size and channels.
    density : float
        Dots per pixel (default 0.02: 20 dots on 32 × 32).
    speed : int, optional
        Coherent displacement in pixels per frame (default ``max(1, S // 16)``).
    seed : int or numpy Generator, optional
        Source of the dots.

    Returns
    -------
    Kinematogram
        Frame 0 is a random field; on each later frame ``round(coherence · n_dots)`` dots,
        chosen at random, move ``speed · direction`` pixels horizontally (wrapping around) and
        the others are replotted at random positions.
    """
    c = _check_coherence(coherence)
    if direction not in (-1, 1) or isinstance(direction, bool):
        raise ValueError(f"direction must be +1 (right) or -1 (left) (got {direction!r})")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise ValueError(f"n_frames must be an int >= 1 (got {n_frames!r})")
    size = _check_size(image_size)
    channels = _check_channels(channels)
    if not (math.isfinite(density) and 0 < density < 0.5):
        raise ValueError(f"density must be in (0, 0.5) dots per pixel (got {density!r})")
    speed = max(1, min(size) // 16) if speed is None else int(speed)
    if speed < 1:
        raise ValueError(f"speed must be >= 1 pixel per frame (got {speed!r})")
    rng = _rng(seed)
    n_dots = max(1, int(round(density * size[0] * size[1])))
    n_coherent = int(round(c * n_dots))
    positions = np.zeros((n_frames, n_dots, 2), dtype=np.int64)
    coherent = np.zeros((n_frames, n_dots), dtype=bool)
    positions[0] = np.stack(
        [rng.integers(0, size[0], n_dots), rng.integers(0, size[1], n_dots)], axis=1
    )
    for t in range(1, n_frames):
        moving = np.zeros(n_dots, dtype=bool)
        moving[rng.permutation(n_dots)[:n_coherent]] = True
        new = np.stack([rng.integers(0, size[0], n_dots), rng.integers(0, size[1], n_dots)], axis=1)
        shifted = positions[t - 1].copy()
        shifted[:, 1] = (shifted[:, 1] + direction * speed) % size[1]
        positions[t] = np.where(moving[:, None], shifted, new)
        coherent[t] = moving
    frames = np.zeros((n_frames, size[0], size[1]), dtype=np.float32)
    t_idx = np.repeat(np.arange(n_frames), n_dots)
    frames[t_idx, positions[..., 0].ravel(), positions[..., 1].ravel()] = 1.0
    frames = np.repeat(frames[:, None], channels, axis=1)
    return Kinematogram(frames, positions, coherent, int(direction), c, speed)
