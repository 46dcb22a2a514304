"""Helpers shared by the task tests."""

import numpy as np
import pytest


def _measured_coherence(frames: np.ndarray, speed: int) -> float:
    """Signed coherence from pixels: lit pixels that were lit ``speed`` px to the left on the
    previous frame (rightward motion) minus those lit to the right, per dot."""
    f = frames[:, 0] > 0
    right = (f[1:] & np.roll(f[:-1], speed, axis=2)).sum()
    left = (f[1:] & np.roll(f[:-1], -speed, axis=2)).sum()
    return float((right - left) / f[1:].sum())


@pytest.fixture
def measured_coherence():
    """Signed motion coherence measured from a movie's pixels (independent of the stimulus
    code): ``measured_coherence(frames, speed)``."""
    return _measured_coherence
