"""Mask post-processing: resizing, temporal smoothing of uncertain pixels, guided-filter refinement.

Everything works on float32 masks in [0, 1] and uses only numpy and OpenCV's core filters
(`cv2.boxFilter`; opencv-contrib's `ximgproc` is not in the headless wheel).
"""

import cv2
import numpy as np

_EPS = 1e-6


def resize_input(image, width, height):
    """Resize an image to the model size, area-averaged when shrinking (no aliasing)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = image.shape[0] * image.shape[1] > width * height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def upsample_mask(mask, width, height):
    """Bilinear resize of a float mask to (width, height): soft edges, no blocky halo."""
    if mask.shape[1] == width and mask.shape[0] == height:
        return mask
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)


def uncertainty(mask):
    """Binary entropy of each probability, in [0, 1]: 1 at p = 0.5, 0 at p = 0 or 1."""
    p = np.clip(mask, _EPS, 1.0 - _EPS)
    return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))


def smooth_temporal(mask, previous, ratio=0.7):
    """Mix uncertain pixels with the previous mask (in the spirit of MediaPipe's smoothing).

    `out = mask + (previous - mask) * ratio * uncertainty(mask)`: confident pixels keep their new
    value (no lag on motion), pixels near 0.5 lean on the previous frame (less flicker).
    """
    if previous is None or ratio <= 0:
        return mask
    weight = np.float32(ratio) * uncertainty(mask).astype(np.float32)
    return mask + (previous - mask) * weight


def _box(x, radius):
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide, mask, radius=4, eps=1e-3, work_size=360):
    """Edge-aware refinement of `mask` (float32, same size as `guide`) guided by an RGB frame.

    The fast guided filter (He et al.): the linear coefficients are fitted on a grayscale copy at a
    working resolution whose shorter side is at most `work_size` pixels (`radius` is counted there),
    then upsampled and applied at full resolution, so the mask follows the frame's edges (hair,
    fingers) at a cost that barely depends on the frame size.
    """
    height, width = mask.shape
    gray = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY) if guide.ndim == 3 else guide
    gray = gray.astype(np.float32) * np.float32(1 / 255.0)
    scale = min(1.0, work_size / min(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small_i = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        small_p = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    else:
        small_i, small_p = gray, mask
    mean_i = _box(small_i, radius)
    mean_p = _box(small_p, radius)
    var_i = _box(small_i * small_i, radius) - mean_i * mean_i
    cov_ip = _box(small_i * small_p, radius) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    mean_a, mean_b = _box(a, radius), _box(b, radius)
    if scale < 1.0:
        mean_a = cv2.resize(mean_a, (width, height), interpolation=cv2.INTER_LINEAR)
        mean_b = cv2.resize(mean_b, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(mean_a * gray + mean_b, 0.0, 1.0)
