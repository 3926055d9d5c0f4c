"""Motion compensation (bgseg.runtime.motion) and its use by VideoSegmenter."""

import numpy as np
import pytest

from bgseg.runtime import VideoSegmenter
from bgseg.runtime.motion import MotionCompensator


def _scene(shift, height=96, width=128):
    """A textured frame with a bright textured square whose left edge is at 40 + shift."""
    rng = np.random.default_rng(0)
    frame = np.full((height, width, 3), 40, np.uint8)
    frame += rng.integers(0, 20, (height, width, 1), np.uint8)
    patch = rng.integers(150, 255, (32, 32, 1), np.uint8)
    frame[30:62, 40 + shift:72 + shift] = patch
    return frame


def _square_mask(shift, height=96, width=128):
    mask = np.zeros((height, width), np.float32)
    mask[30:62, 40 + shift:72 + shift] = 1.0
    return mask


def _centre_x(mask):
    return (mask.sum(axis=0) * np.arange(mask.shape[1])).sum() / mask.sum()


def test_warp_moves_the_previous_mask_with_the_content():
    motion = MotionCompensator(work_side=128)
    assert not motion.update(_scene(0))                   # first frame: nothing to warp with
    np.testing.assert_array_equal(motion.warp(_square_mask(0)), _square_mask(0))
    assert motion.update(_scene(6))
    moved = motion.warp(_square_mask(0))
    assert abs(_centre_x(moved) - _centre_x(_square_mask(6))) < 1.5  # was 6 px off
    # at another resolution (a model-sized mask) the flow is scaled to it
    small = motion.warp(_square_mask(0)[::2, ::2].copy())
    assert abs(_centre_x(small) - _centre_x(_square_mask(6)[::2, ::2])) < 1.0


def test_confidence_is_high_where_the_flow_explains_the_frame_and_low_elsewhere():
    motion = MotionCompensator(work_side=128)
    motion.update(_scene(0))
    motion.update(_scene(6))
    steady = motion.confidence_at((96, 128))
    assert steady.min() >= 0.0 and steady.max() <= 1.0
    assert steady[5:25, 5:35].mean() > 0.9                 # still background, well explained
    other = _scene(6)
    other[30:62, 90:122] = 255                             # new content the old frame lacks
    motion.update(other)
    assert motion.confidence_at((96, 128))[35:57, 95:117].mean() < 0.5


def test_a_new_frame_size_or_reset_drops_the_flow():
    motion = MotionCompensator(work_side=64)
    motion.update(_scene(0))
    assert not motion.update(_scene(0, 80, 100))          # another size: no flow across it
    motion.reset()
    assert not motion.update(_scene(0)) and motion.flow is None
    with pytest.raises(ValueError, match="work_side"):
        MotionCompensator(work_side=4)


def test_video_segmenter_feeds_the_warped_previous_mask(tiny_tflite):
    seg = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, zoom=False, smoothing=0.0)
    seen = []
    original = seg.model.set_input
    seg.model.set_input = lambda x: (seen.append(x.copy()), original(x))[1]
    seg.segment(_scene(0))
    first = seg.previous_mask.copy()
    seg.segment(_scene(6))
    expected = seg.motion.warp(first)                      # the same flow, applied again
    np.testing.assert_allclose(seen[1][..., 3], expected, atol=1e-6)
    assert not np.allclose(expected, first)                # the prior was moved, not reused
    plain = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, zoom=False, motion=False)
    assert plain.motion is None
    seg.reset()
    seg.segment(_scene(0))
    assert not seen[2][..., 3].any()                       # reset: empty prior again
