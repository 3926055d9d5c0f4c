"""The faster post-processing and blur give the results of the straightforward implementations
they replaced (kept here as references) within a stated tolerance."""

import cv2
import numpy as np
import pytest

from bgseg import effects
from bgseg.runtime import postprocess


def reference_blur(frame, mask, radius):
    """The blur before the speed-up: weights and products formed at full resolution."""
    height, width = mask.shape
    levels = max(0, int(np.log2(radius / 2.0)))
    weight = 1.0 - mask.astype(np.float32)
    image = frame
    if levels:
        image, weight = cv2.pyrDown(image), cv2.pyrDown(weight)
    weighted = image.astype(np.float32) * weight[..., None]
    for _ in range(levels - 1):
        weighted, weight = cv2.pyrDown(weighted), cv2.pyrDown(weight)
    sigma = radius / 2 ** levels
    blurred = cv2.GaussianBlur(weighted, (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    background = np.clip(blurred / np.maximum(norm, 1e-3)[..., None] + 0.5, 0, 255).astype(np.uint8)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    return effects.composite(frame, mask, background)


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
    fast = effects.blur_background(frame, mask, radius).astype(np.float64)
    slow = reference_blur(frame, mask, radius).astype(np.float64)
    mse = np.mean((fast - slow) ** 2)
    assert 10 * np.log10(255 ** 2 / max(mse, 1e-12)) > 40 and np.abs(fast - slow).mean() < 0.5
    if radius < 4:
        assert np.abs(fast - slow).max() <= 1


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
