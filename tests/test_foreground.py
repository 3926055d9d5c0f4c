"""Foreground colour estimation recovers the person's colour in a soft edge."""

import numpy as np
import pytest

from bgseg.foreground import estimate_foreground


def test_recovers_the_foreground_colour_in_the_soft_band():
    height, width = 300, 400  # an 8-pixel soft edge, as the model's masks have around hair
    alpha = np.clip((np.arange(width, dtype=np.float32) - 200) / 8, 0, 1)[None].repeat(height, 0)
    foreground = np.array([200, 40, 40], np.float32)   # the person: red
    background = np.array([30, 200, 60], np.float32)   # the old backdrop: green
    image = (alpha[..., None] * foreground + (1 - alpha[..., None]) * background).astype(np.uint8)
    band = (alpha > 0.2) & (alpha < 0.9)
    before = np.abs(image[band].astype(float) - foreground).mean()
    after = np.abs(estimate_foreground(image, alpha)[band].astype(float) - foreground).mean()
    assert after < before / 5, (before, after)


def test_opaque_pixels_are_kept_and_sizes_checked():
    image = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    alpha = np.ones((30, 40), np.float32)
    assert np.array_equal(estimate_foreground(image, alpha), image)
    with pytest.raises(ValueError, match="sizes differ"):
        estimate_foreground(image, alpha[:10])
