"""Mask post-processing: temporal smoothing of uncertain pixels, guided-filter refinement.

Everything works on float32 masks in [0, 1] and uses only numpy and OpenCV's core filters
(`cv2.boxFilter`; opencv-contrib's `ximgproc` is not in the headless wheel).
"""

import cv2
import numpy as np

from bgseg.contract import SCALE, mask_to_frame, resize_frame

_EPS = 1e-6


def uncertainty(mask):
    """Binary entropy of each probability, in [0, 1]: 1 at p = 0.5, 0 at p = 0 or 1."""
    p = np.clip(mask, _EPS, 1.0 - _EPS)
    return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))


# uncertainty() of p = 0, 1/255, ..., 1: smoothing weights by table (10x faster than the logs)
_UNCERTAINTY_TABLE = uncertainty(np.linspace(0.0, 1.0, 256)).astype(np.float32)


def smooth_temporal(mask, previous, ratio=0.7, trust=None):
    """Mix uncertain pixels with the previous mask (in the spirit of MediaPipe's smoothing).

    `out = mask + (previous - mask) * ratio * uncertainty(mask) * trust` (the uncertainty of `mask`
    rounded to 1/255, by table): confident pixels keep
    their new value (no lag on motion), pixels near 0.5 lean on the previous frame (less flicker).
    `trust` (optional, per pixel in [0, 1], e.g. `MotionCompensator.confidence`) lowers the weight
    where the previous mask is not known to fit the new frame.
    """
    if previous is None or ratio <= 0:
        return mask
    weight = cv2.LUT(cv2.convertScaleAbs(mask, alpha=255.0), _UNCERTAINTY_TABLE * np.float32(ratio))
    if trust is not None:
        weight = cv2.multiply(weight, trust)
    return cv2.add(mask, cv2.multiply(cv2.subtract(previous, mask), weight))


def hysteresis(mask, previous, band=0.1, trust=None):
    """Hold each pixel's previous label: move `mask` by `band` towards the side of 0.5 that
    `previous` was on (times `trust`, per pixel, when given), so a pixel changes label only when
    its probability crosses 0.5 by more than `band`; clipped to [0, 1]."""
    if previous is None or band <= 0:
        return mask
    side = np.where(previous > 0.5, np.float32(band), np.float32(-band))
    if trust is not None:
        side *= trust
    return np.clip(mask + side, 0.0, 1.0)


def sharpen(mask, strength=2.0):
    """Push probabilities away from 0.5: `p**k / (p**k + (1 - p)**k)` with `k = strength`, i.e.
    `sigmoid(k * logit(p))`. 0.5 stays 0.5 (the thresholded mask is unchanged); with k = 2, 0.8
    becomes 0.94 and 0.2 becomes 0.06, so a person's interior is opaque and the background clear
    instead of see-through. `strength` 1 returns `mask` itself."""
    if strength == 1.0:
        return mask
    p = np.clip(mask, _EPS, 1.0 - _EPS)
    if strength == 2.0:  # the default: p^2 / (2p^2 - 2p + 1), in float32 without temporaries
        high = cv2.multiply(p, p)
        low = cv2.scaleAdd(high, 2.0, cv2.addWeighted(p, -2.0, p, 0.0, 1.0))
        return cv2.divide(high, low)
    high, low = cv2.pow(p, strength), cv2.pow(1.0 - p, strength)
    return high / (high + low)


def _box(x, radius):
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


WORK_SIZE = 360  # shorter side (pixels) of the runtime's working size (smoothing, motion, ...)
SUBSAMPLE = 2  # the guided filter fits its coefficients at the working size / SUBSAMPLE
MASK_DTYPES = (np.float32, np.uint8)  # what masks come back as: probabilities or 0-255


def mask_dtype(dtype):
    """`dtype` as a numpy dtype, checked to be one of `MASK_DTYPES`."""
    if np.dtype(dtype) not in MASK_DTYPES:
        raise ValueError(f"dtype must be numpy.float32 (probabilities in [0, 1]) or numpy.uint8 "
                         f"(0-255), got {dtype!r}")
    return np.dtype(dtype)


def working_size(height, width, work_side=WORK_SIZE):
    """(width, height) of a `height` x `width` frame scaled so its shorter side is at most
    `work_side` pixels: where `guided_filter` fits its coefficients."""
    scale = min(1.0, work_side / min(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def coefficient_size(height, width, work_side=WORK_SIZE, subsample=SUBSAMPLE):
    """(width, height) at which `guided_filter` fits its coefficients: `working_size` divided
    by `subsample` (rounded, at least 1 pixel)."""
    if int(subsample) != subsample or subsample < 1:
        raise ValueError(f"subsample must be a whole number >= 1, got {subsample}")
    w, h = working_size(height, width, work_side)
    return max(1, round(w / subsample)), max(1, round(h / subsample))


def guided_coefficients(small_gray, mask, radius=2, eps=1e-4):
    """The guided filter's box-averaged linear coefficients `(a, b)` (float32, the size of
    `small_gray`) with `mask ~ a * gray / 255 + b`: `small_gray` uint8, `mask` float32 of the same
    size."""
    guide = cv2.multiply(small_gray, float(SCALE), dtype=cv2.CV_32F)
    mean_i, mean_p = _box(guide, radius), _box(mask, radius)
    var_i = cv2.subtract(_box(cv2.multiply(guide, guide), radius), cv2.multiply(mean_i, mean_i))
    cov_ip = cv2.subtract(_box(cv2.multiply(guide, mask), radius), cv2.multiply(mean_i, mean_p))
    a = cv2.divide(cov_ip, cv2.add(var_i, float(eps)))
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_i))
    return _box(a, radius), _box(b, radius)


SUPPORT = 1e-6  # mask values at most this are treated as 0 (output off by < 0.02 grey levels)


def uint8_support(eps):
    """The mask level `t` at or below which the uint8 output treats the mask as 0 (instead of
    `SUPPORT`): where every window sees values in [0, t], `|mean_p| <= t` and, since
    `|cov_ip| <= sqrt(var_i * var_p)`, `var_p <= t^2 / 4` and `sqrt(var_i) / (var_i + eps) <=
    1 / (2 sqrt(eps))`, `|a| <= t / (4 sqrt(eps))`; the output `a * I + b = a * (I - mean_i) +
    mean_p` (I in [0, 1]; the box averages and the bilinear upsampling mix such terms) is then
    within `t * (1 + 1 / (4 sqrt(eps)))` of 0, which this `t` makes 0.4 of a grey level: rounded,
    0 either way, so the uint8 output is the same as with the exact coefficients."""
    if eps <= 0:
        return 0.0
    return 0.4 / 255.0 / (1.0 + 0.25 / float(np.sqrt(eps)))


def _supported_coefficients(small_gray, mask, radius, eps, support=SUPPORT):
    """`guided_coefficients` computed only in the box around the mask's support (values above
    `support`) with a margin the two box filters cannot see across; outside it the mask is
    (nearly) 0 everywhere a window reaches, so `a = 0` and `b = 0` there."""
    x, y, w, h = cv2.boundingRect(cv2.compare(mask, float(support), cv2.CMP_GT))
    a, b = np.zeros_like(mask), np.zeros_like(mask)
    if w == 0 or h == 0:
        return a, b
    margin = 4 * radius + 4  # the coefficients see 2 * radius; the border reflection as much again
    height, width = mask.shape
    box = np.s_[max(0, y - margin):min(height, y + h + margin),
                max(0, x - margin):min(width, x + w + margin)]
    a[box], b[box] = guided_coefficients(small_gray[box], mask[box], radius, eps)
    return a, b


def guided_filter(guide, mask, radius=2, eps=1e-4, work_size=WORK_SIZE, strength=1.0, gray=None,
                  dtype=np.float32, subsample=SUBSAMPLE, half_gray=None):
    """Edge-aware refinement of a mask guided by an RGB frame; returns a mask of the frame's size.

    The fast guided filter (He et al.): the linear coefficients mapping the frame's grayscale to the
    mask are fitted at a low resolution (the working size, whose shorter side is at most
    `work_size` pixels and where `radius` is counted, shrunk by `subsample`), then upsampled and
    applied to the full-resolution frame, so the mask follows the frame's edges at a cost that
    barely depends on the frame size. `mask` (float32 in [0, 1]) may have any resolution, e.g.
    the model's; `strength` sharpens it (`sharpen`) at the coefficients' resolution first.
    `gray`: the frame's grayscale when the caller has it already (it then sets the output's size:
    `guide` may be smaller).
    `dtype` np.uint8 returns `round(255 * mask)` computed without a full-size float image (what
    the effects composite fastest); np.float32 the mask in [0, 1].
    `subsample` (He's "fast guided filter" step, s): the coefficients are fitted on the working
    size shrunk `subsample` times more (`coefficient_size`), the mask area-averaged to it first
    and sharpened there, with `radius` divided alike (at least 1); 1 fits them at the working
    size itself. The output is still the full-size frame's grayscale times the upsampled `a`
    plus `b`, so the edges it follows are the frame's.
    `half_gray` (optional): the grayscale area-averaged to exactly half its size (what
    `contract.resize_frame` makes of it); when the coefficients are a quarter of the frame's size
    their grayscale is then made from it (`coefficient_gray`: the same pixels).
    """
    dtype = mask_dtype(dtype)
    if gray is None:
        gray = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY) if guide.ndim == 3 else guide
    height, width = gray.shape[:2]
    size = coefficient_size(height, width, work_size, subsample)
    small_p = mask if mask.shape == size[::-1] else resize_frame(
        mask_to_frame(mask, *working_size(height, width, work_size)), *size)
    small_p = sharpen(small_p, strength)
    # the uint8 output is 0 below half a grey level anyway: a wider threshold, the same output
    support = uint8_support(eps) if dtype == np.uint8 else SUPPORT
    a, b = _supported_coefficients(coefficient_gray(gray, size, half_gray), small_p,
                                   max(1, int(radius / subsample + 0.5)), eps, support)
    if dtype == np.uint8:
        return _apply_uint8(gray, a * (SCALE * 255.0), b * np.float32(255.0))
    out = cv2.multiply(gray, mask_to_frame(a * SCALE, width, height), dtype=cv2.CV_32F)
    cv2.add(out, mask_to_frame(b, width, height), dtype=cv2.CV_32F, dst=out)
    return np.clip(out, 0.0, 1.0, out=out)


def coefficient_gray(gray, size, half_gray=None):
    """`resize_frame(gray, *size)`, from `half_gray` (`gray` area-averaged to exactly half its
    size) when that is the same image: `gray` exactly four times `size`, where `resize_frame`
    first takes it bilinearly to twice `size`, an exact 2x2 average (OpenCV's bilinear and area
    2x reductions both round `(a + b + c + d + 2) / 4` down), and then area-averages by 2."""
    width, height = size
    if half_gray is not None and gray.shape[:2] == (4 * height, 4 * width) \
            and half_gray.shape[:2] == (2 * height, 2 * width):
        return cv2.resize(half_gray, size, interpolation=cv2.INTER_AREA)
    return resize_frame(gray, *size)


BAND_ROWS = 24  # coefficient rows per band of `_apply_uint8` (96 frame rows at 720p)


def _apply_uint8(gray, a, b):
    """`round(gray * a + b)` (uint8, saturated) of the upsampled coefficients, computed only
    where it can be non-zero: outside the pixels within one coefficient pixel of those where
    `|a| * 255 + |b| >= 0.5` (which bounds the bilinear upsampling too) it is 0 for every grey
    level, so the background costs nothing. When the frame is a whole multiple of the
    coefficients (720p, 1080p) that region is taken band by band (`BAND_ROWS` coefficient rows,
    each band only as wide as its own non-zero columns: a person's outline is far narrower than
    their box in most rows), else as one box."""
    height, width = gray.shape
    out = np.zeros((height, width), np.uint8)
    bound = cv2.scaleAdd(cv2.absdiff(a, 0.0), 255.0, cv2.absdiff(b, 0.0))
    on = cv2.compare(bound, 0.5, cv2.CMP_GE)
    x, y, w, h = cv2.boundingRect(on)
    if w == 0 or h == 0:
        return out
    rows, cols = a.shape
    if width % cols or height % rows:
        bands = [(y, y + h, x, w)]
        sx, sy = width / cols, height / rows
    else:
        bands = []
        sx, sy = width // cols, height // rows
        for r0 in range(y, y + h, BAND_ROWS):
            r1 = min(y + h, r0 + BAND_ROWS)
            # frame rows of this band reach coefficient rows r0 - 1 .. r1 through the bilinear taps
            bx, _, bw, _ = cv2.boundingRect(on[max(0, r0 - 1):r1 + 1])
            if bw:
                bands.append((r0, r1, bx, bw))
    for index, (r0, r1, bx, bw) in enumerate(bands):
        # frame rows: the bands' rows, with a coefficient pixel of margin above the first and
        # below the last (and either side of each band's columns)
        y0 = int((r0 - 1) * sy) if index == 0 else int(r0 * sy)
        y1 = int(np.ceil((r1 + 1) * sy)) if index == len(bands) - 1 else int(r1 * sy)
        x0, x1 = int((bx - 1) * sx), int(np.ceil((bx + bw + 1) * sx))
        box = np.s_[max(0, y0):min(height, y1), max(0, x0):min(width, x1)]
        product = cv2.multiply(gray[box], upsampled_box(a, width, height, box), dtype=cv2.CV_32F)
        out[box] = cv2.add(product, upsampled_box(b, width, height, box), dtype=cv2.CV_8U)
    return out


def upsampled_box(small, width, height, box):
    """`mask_to_frame(small, width, height)[box]` (`box` a pair of slices), computed from the
    part of `small` under `box` alone when the frame is a whole multiple of `small` (the same
    bilinear weights then repeat); otherwise the whole upsampling, cropped."""
    rows, cols = small.shape[:2]
    if width % cols or height % rows:
        return mask_to_frame(small, width, height)[box]
    (sy, sx), (ys, xs) = (height // rows, width // cols), box
    # the source rows/cols a bilinear tap of the box reaches, plus one either side
    r0, c0 = max(0, ys.start // sy - 1), max(0, xs.start // sx - 1)
    r1, c1 = min(rows, -(-ys.stop // sy) + 1), min(cols, -(-xs.stop // sx) + 1)
    part = cv2.resize(small[r0:r1, c0:c1], ((c1 - c0) * sx, (r1 - r0) * sy),
                      interpolation=cv2.INTER_LINEAR)
    return part[ys.start - r0 * sy:ys.stop - r0 * sy, xs.start - c0 * sx:xs.stop - c0 * sx]
