"""Mask-quality and temporal-stability metrics on NumPy arrays (no TensorFlow).

Probabilities ("alphas") are floats in [0, 1]; a mask is `alpha > threshold`. Truth masks may be
bool or {0, 1} arrays. `TemporalMeter` accumulates the video metrics frame by frame so that long
clips never have to sit in memory. (`bgseg.metrics` holds the Keras training metrics.)
"""

import numpy as np


def binarize(alpha, threshold=0.5):
    """The boolean mask `alpha > threshold`."""
    return np.asarray(alpha) > threshold


def iou(pred, truth):
    """Intersection over union of two boolean masks; two empty masks score 1.0."""
    pred, truth = _same_shape(pred, truth)
    pred, truth = pred.astype(bool), truth.astype(bool)
    union = np.logical_or(pred, truth).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, truth).sum() / union)


def solidity(alpha, truth, margin=0.015, high=0.9, low=0.1):
    """(interior, background) solidity: the share of true-person pixels at least `margin` x the
    image's short side inside the person with `alpha >= high`, and of background pixels as far
    outside with `alpha <= low` (None where a region is empty). Low values are see-through masks
    and haze, which IoU at 0.5 hides."""
    import cv2

    alpha = np.asarray(alpha, np.float32)
    truth = np.asarray(truth).astype(np.uint8)
    _same_shape(alpha, truth)
    radius = max(1, round(margin * min(truth.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    inside = cv2.erode(truth, kernel).astype(bool)
    outside = cv2.erode(1 - truth, kernel).astype(bool)
    interior = float((alpha[inside] >= high).mean()) if inside.any() else None
    background = float((alpha[outside] <= low).mean()) if outside.any() else None
    return interior, background


def dtssd_pair(alpha, alpha_prev, truth, truth_prev):
    """sqrt(mean over pixels of ((a_t - a_{t-1}) - (g_t - g_{t-1}))^2) for one pair of frames."""
    arrays = [np.asarray(x, dtype=np.float64) for x in (alpha, alpha_prev, truth, truth_prev)]
    _same_shape(*arrays)
    a, a_prev, g, g_prev = arrays
    return float(np.sqrt(np.mean(((a - a_prev) - (g - g_prev)) ** 2)))


def unstable_flip_rate_pair(mask, mask_prev, truth, truth_prev):
    """Share of the pixels whose truth label stays the same between two frames but whose predicted
    label flips (0.0 when the truth changes everywhere)."""
    mask, mask_prev, truth, truth_prev = (np.asarray(x).astype(bool)
                                          for x in _same_shape(mask, mask_prev, truth, truth_prev))
    stable = truth == truth_prev
    n = stable.sum()
    return float(((mask != mask_prev) & stable).sum() / n) if n else 0.0


class TemporalMeter:
    """Frame-by-frame temporal metrics of one clip.

    Call `update(alpha, truth)` for each frame in order (`truth=None` for unlabelled video), then
    `result()`:
      - `flip_rate`: mean over frame pairs of the share of pixels whose thresholded label flips;
      - `mean_abs_change`: mean over frame pairs of mean |a_t - a_{t-1}|;
      - with truth on every frame, also `dtssd` (RVM's dtSSD, x100, see `dtssd`) and
        `unstable_flip_rate` (see `unstable_flip_rate_pair`), both averaged over frame pairs.
    `per_pair` holds each pair's values (frame by frame), for finding where a model flickers.
    """

    def __init__(self, threshold=0.5):
        self.threshold = threshold
        self._prev = None
        self._sums = {}
        self.per_pair = {}
        self.pairs = 0
        self._labelled = True

    def update(self, alpha, truth=None):
        alpha = np.asarray(alpha, dtype=np.float32)
        mask = binarize(alpha, self.threshold)
        truth = None if truth is None else np.asarray(truth).astype(bool)
        if self._prev is not None:
            prev_alpha, prev_mask, prev_truth = self._prev
            _same_shape(alpha, prev_alpha)
            values = {"flip_rate": float(np.mean(mask != prev_mask)),
                      "mean_abs_change": float(np.mean(np.abs(alpha - prev_alpha)))}
            if truth is not None and prev_truth is not None:
                values["dtssd"] = 100.0 * dtssd_pair(alpha, prev_alpha, truth, prev_truth)
                values["unstable_flip_rate"] = unstable_flip_rate_pair(mask, prev_mask, truth,
                                                                       prev_truth)
            else:
                self._labelled = False
            for name, value in values.items():
                self._sums[name] = self._sums.get(name, 0.0) + value
                self.per_pair.setdefault(name, []).append(value)
            self.pairs += 1
        self._prev = (alpha, mask, truth)

    def result(self):
        """Dict of metric -> mean over frame pairs (empty before two frames)."""
        names = ["flip_rate", "mean_abs_change"]
        if self._labelled:
            names += ["dtssd", "unstable_flip_rate"]
        return {n: self._sums[n] / self.pairs for n in names if self.pairs}


def dtssd(alphas, truths):
    """dtSSD of a clip as Robust Video Matting defines it, scaled by 100 like RVM's tables:
    100 * mean over t >= 1 of sqrt(mean over pixels of ((a_t - a_{t-1}) - (g_t - g_{t-1}))^2)."""
    return _run(alphas, truths)["dtssd"]


def flip_rate(alphas, threshold=0.5):
    """Mean over consecutive frame pairs of the share of pixels whose thresholded label flips."""
    return _run(alphas, None, threshold)["flip_rate"]


def _run(alphas, truths, threshold=0.5):
    alphas = list(alphas)
    if len(alphas) < 2:
        raise ValueError(f"temporal metrics need at least 2 frames, got {len(alphas)}")
    truths = [None] * len(alphas) if truths is None else list(truths)
    if len(truths) != len(alphas):
        raise ValueError(f"got {len(alphas)} predicted frames but {len(truths)} truth frames")
    meter = TemporalMeter(threshold)
    for alpha, truth in zip(alphas, truths):
        meter.update(alpha, truth)
    return meter.result()


def _same_shape(*arrays):
    arrays = [np.asarray(a) for a in arrays]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"arrays must have the same shape, got {[a.shape for a in arrays]}")
    return arrays
