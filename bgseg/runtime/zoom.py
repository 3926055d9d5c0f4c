"""Zoom: a second, closer look at the people in a frame.

The model sees a whole frame at 256 x 256, where a person who fills a tenth of a 720p frame is a
few thousand model pixels. `zoom_box` finds the square around everyone the model marked (plus a
margin); the runtime crops the frame there, runs the model again on the crop (the person now fills
the model's input) and pastes that mask back. On video the box of the previous frame is used
directly (one model run per frame) and kept while it still holds everyone (`keep_box`), so the
crop does not jitter. Boxes are `(x0, y0, x1, y1)` in pixels of the mask they were found on,
`x1`/`y1` exclusive.

On still photos `people_boxes` then gives each separate person found (a connected region) a look
of their own when the shared crop shows them small: people far apart in a group photo.
"""

import cv2
import numpy as np

THRESHOLD = 0.5


def person_box(mask, threshold=THRESHOLD):
    """The tight box of the pixels above `threshold`, or None when there are none."""
    rows = np.flatnonzero((mask > threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((mask[rows[0]:rows[-1] + 1] > threshold).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def zoom_box(mask, margin=0.15, max_area=0.8, threshold=THRESHOLD):
    """The square crop (in `mask` pixels) around everyone in `mask`, or None when zooming would not
    help: nobody found, or the crop would cover more than `max_area` of the frame.

    The square's side is the tight box's longer side times `1 + 2 * margin`, centred on the box,
    cut to the frame's width and height and shifted inside the frame.
    """
    return _square(person_box(mask, threshold), mask.shape[:2], margin, max_area)


def people_boxes(mask, seen, margin=0.15, limit=4, min_area=0.0005, threshold=THRESHOLD):
    """Square crops (as `zoom_box`'s) around each separate person in `mask`, largest first, at
    most `limit`: the connected regions above `threshold` of at least `min_area` of the frame
    whose crop is under 60 % of the crop `seen` already looked at (None: the whole frame): a
    closer look than the one they had."""
    if limit <= 0:
        return []
    height, width = mask.shape[:2]
    reference = height * width if seen is None else _area(seen)
    _, _, stats, _ = cv2.connectedComponentsWithStats((mask > threshold).astype(np.uint8), 8)
    boxes = []
    for x, y, w, h, area in sorted(stats[1:].tolist(), key=lambda s: -s[4]):
        if area < min_area * height * width or len(boxes) == limit:
            break
        box = _square((x, y, x + w, y + h), (height, width), margin, 1.0)
        if _area(box) < 0.6 * reference:
            boxes.append(box)
    return boxes


def _square(tight, shape, margin, max_area):
    if tight is None:
        return None
    height, width = shape
    x0, y0, x1, y1 = tight
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    w, h = int(round(min(side, width))), int(round(min(side, height)))
    if w * h > max_area * width * height:
        return None
    left = int(round(min(max((x0 + x1 - w) / 2.0, 0.0), width - w)))
    top = int(round(min(max((y0 + y1 - h) / 2.0, 0.0), height - h)))
    return left, top, left + w, top + h


def _contains(outer, inner):
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and outer[2] >= inner[2] and outer[3] >= inner[3])


def _area(box):
    return (box[2] - box[0]) * (box[3] - box[1])


def keep_box(current, mask, margin=0.15, max_area=0.8, threshold=THRESHOLD):
    """The crop for the next video frame: `current` while it still holds everyone in `mask` with a
    third of the margin to spare and the new crop would not be much smaller (less than 60 % of its
    area); otherwise the new `zoom_box` (None: next frame unzoomed)."""
    tight = person_box(mask, threshold)
    new = _square(tight, mask.shape[:2], margin, max_area)
    if current is None or new is None:
        return new
    snug = _square(tight, mask.shape[:2], margin / 3.0, 1.0)
    if _contains(current, snug) and _area(new) > 0.6 * _area(current):
        return current
    return new
