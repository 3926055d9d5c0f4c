"""The faster post-processing and blur give the results of the implementations they replaced
(the former blur is `benchmarks.blur_psnr.pyramid_blur`) within a stated tolerance."""

import cv2
import numpy as np
import pytest

from benchmarks.blur_psnr import psnr, pyramid_blur
from bgseg import effects
from bgseg.runtime import postprocess


def reference_sharpen(mask, strength):
    p = np.clip(mask.astype(np.float64), 1e-6, 1.0 - 1e-6)
    return p ** strength / (p ** strength + (1.0 - p) ** strength)


@pytest.fixture(scope="module")
def scene():
    """A 360x640 noisy frame and a soft blob mask (values across [0, 1], sharp and soft edges)."""
    rng = np.random.default_rng(3)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), np.uint8), (0, 0), 2)
    mask = np.zeros((360, 640), np.float32)
    cv2.ellipse(mask, (320, 200), (120, 160), 0, 0, 360, 1.0, -1)
    mask[:, :40] = 1.0
    return frame, cv2.GaussianBlur(mask, (0, 0), 6)


@pytest.mark.parametrize("radius", [1.5, 4, 15, 40])
def test_blur_matches_the_reference(scene, radius):
    """Area-averaging to the working size instead of a Gaussian pyramid: invisible (PSNR above
    40 dB, under half a grey level on average); below radius 4 nothing is downscaled at all."""
    frame, mask = scene
    fast = effects.blur_background(frame, mask, radius)
    slow = pyramid_blur(frame, mask, radius)
    difference = np.abs(fast.astype(np.int16) - slow)
    assert psnr(fast, slow) > 40 and difference.mean() < 0.5
    if radius < 4:
        assert difference.max() <= 1


def test_blur_of_odd_and_tiny_frames():
    rng = np.random.default_rng(0)
    for height, width in ((1, 1), (3, 5), (37, 101)):
        frame = rng.integers(0, 256, (height, width, 3), np.uint8)
        mask = rng.random((height, width), dtype=np.float32)
        assert effects.blur_background(frame, mask, 25).shape == frame.shape


@pytest.mark.parametrize("strength", [1.0, 2.0, 3.5])
def test_sharpen_matches_the_formula(strength):
    mask = np.linspace(0.0, 1.0, 4001, dtype=np.float32).reshape(1, -1)
    out = postprocess.sharpen(mask, strength)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference_sharpen(mask, strength), atol=1e-6)
