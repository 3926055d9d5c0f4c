"""Motion compensation between video frames: dense optical flow at a low resolution.

Masks of the previous frame are moved onto the current one before they are used (the model's
prior, the temporal smoothing), so that a moving person's old mask lines up with where the person
is now instead of where they were. The flow is OpenCV's DIS (Kroeger et al. 2016, the
"ultrafast" preset) between the grayscale frames with their longer side at `work_side` pixels:
about a millisecond on one core at the default 192. `confidence` tells, per pixel, how well the
warped previous frame matches the current one (1: the same colour; towards 0 where the flow failed:
occlusions, motion blur, new content), so that smoothing can trust the past only where it fits.
"""

import cv2
import numpy as np

from bgseg.contract import resize_frame


class MotionCompensator:
    """Flow from each frame back to the one before (`update`), applied to masks (`warp`)."""

    def __init__(self, work_side=192, tolerance=0.08):
        if work_side < 16:
            raise ValueError(f"work_side must be at least 16 pixels, got {work_side}")
        if tolerance <= 0:
            raise ValueError(f"tolerance must be > 0, got {tolerance}")
        self.work_side = int(work_side)
        self.tolerance = float(tolerance)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.reset()

    def reset(self):
        """Forget the previous frame (scene cut, new stream)."""
        self._previous = None
        self._frame_shape = None
        self._maps = {}
        self.flow = None
        self.confidence = None

    def update(self, frame, gray=None):
        """Take the next RGB frame (`gray`: its grayscale at full size, when the caller has it);
        True when a flow to the previous frame is now available (False on the first frame and
        after the frame size changed)."""
        height, width = frame.shape[:2]
        scale = min(1.0, self.work_side / max(height, width))
        size = (max(16, round(width * scale)), max(16, round(height * scale)))
        if gray is None:
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        gray = resize_frame(gray, *size)
        previous, self._previous = self._previous, gray
        same = previous is not None and self._frame_shape == frame.shape
        self._frame_shape = frame.shape
        self._maps = {}
        if not same:
            self.flow = self.confidence = None
            return False
        # flow[y, x]: where the pixel (x, y) of this frame was in the previous one
        self.flow = self._dis.calc(gray, previous, None)
        moved = cv2.remap(previous, cv2.add(self.flow, _grid(gray.shape)), None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
        error = cv2.absdiff(moved, gray).astype(np.float32) * np.float32(1.0 / 255.0)
        error = cv2.blur(error, (3, 3))
        self.confidence = np.exp(-(error / np.float32(self.tolerance)) ** 2).astype(np.float32)
        return True

    def warp(self, mask, box=None):
        """`mask` of the previous frame (any resolution; the frame stretched to it) moved onto the
        current frame; `box` (x0, y0, x1, y1, `mask`'s pixels): only that crop of the moved mask
        (bit for bit the whole one's crop, for the pixels of the crop alone)."""
        if self.flow is None:
            return mask if box is None else mask[box[1]:box[3], box[0]:box[2]]
        map_x, map_y = self._map(mask.shape[:2])
        if box is not None:
            map_x = map_x[box[1]:box[3], box[0]:box[2]]
        return cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _map(self, shape):
        """The remap coordinates of this frame's flow at `shape` (computed once per frame)."""
        if shape not in self._maps:
            height, width = shape
            f_height, f_width = self.flow.shape[:2]
            # per channel by OpenCV (numpy's broadcast over the pairs cost 15x more)
            sx, sy = np.float32(width / f_width), np.float32(height / f_height)
            scaled = cv2.multiply(self.flow, (float(sx), float(sy), 0.0, 0.0))
            flow = cv2.resize(scaled, (width, height), interpolation=cv2.INTER_LINEAR)
            self._maps[shape] = cv2.add(flow, _grid(shape))
        return self._maps[shape], None

    def confidence_at(self, shape):
        """`confidence` resized to `shape` (rows, cols), or None before the second frame."""
        if self.confidence is None:
            return None
        return cv2.resize(self.confidence, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


_GRIDS = {}


def _grid(shape):
    """Pixel coordinates (x, y) of an image of `shape`, float32 (rows, cols, 2), cached: a stream
    reuses one."""
    if shape not in _GRIDS:
        if len(_GRIDS) > 8:
            _GRIDS.clear()
        height, width = shape
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32),
                             np.arange(height, dtype=np.float32))
        _GRIDS[shape] = np.dstack([xs, ys])
    return _GRIDS[shape]
