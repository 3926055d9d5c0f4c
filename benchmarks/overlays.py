"""Overlays of the worst items of a comparison: image | truth | one panel per model."""

import heapq

import cv2
import numpy as np

from benchmarks.runners import THRESHOLD


class WorstItems:
    """The `k` items with the lowest IoU of the first model, rendered side by side when kept."""

    def __init__(self, k):
        self.k, self._heap, self._count = k, [], 0

    def offer(self, score, key, image, truth, alphas, ious):
        if self.k <= 0:
            return
        self._count += 1
        if len(self._heap) == self.k and -self._heap[0][0] <= score:
            return
        item = (-score, self._count, key, render_overlay(image, truth, alphas, ious))
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, item)
        else:
            heapq.heapreplace(self._heap, item)

    def items(self):
        """(iou, key, picture), worst first."""
        return [(-s, key, pic) for s, _, key, pic in sorted(self._heap, key=lambda t: -t[0])]


def render_overlay(image, truth, alphas, ious, height=240):
    """Image | truth | one panel per model; green = hit, red = false person, blue = missed
    person."""
    scale = height / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), height)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_truth = cv2.resize(truth.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    panels = [_label(small.copy(), "image"),
              _label(_tint(small, small_truth, small_truth), "truth")]
    for (name, alpha), score in zip(alphas.items(), ious):
        pred = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR) > THRESHOLD
        panels.append(_label(_tint(small, pred, small_truth), f"{name} IoU {score:.3f}"))
    return np.concatenate(panels, axis=1)


def _tint(image, pred, truth):
    out = image.astype(np.float32)
    for region, colour in (((pred & truth), (0, 200, 0)), ((pred & ~truth), (0, 0, 255)),
                           ((~pred & truth), (255, 80, 0))):
        out[region] = 0.45 * out[region] + 0.55 * np.array(colour, np.float32)
    return out.astype(np.uint8)


def _label(image, text):
    cv2.rectangle(image, (0, 0), (image.shape[1], 20), (0, 0, 0), -1)
    cv2.putText(
        image, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA
    )
    return image
