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


def test_guided_filter_uint8_is_the_rounded_float_one(scene):
    """The uint8 output (computed only in the box where it can be non-zero) is the float output
    rounded, within one grey level; far from the person it is exactly 0."""
    frame, mask = scene
    big = cv2.resize(frame, (1280, 720))
    person = np.zeros((360, 640), np.float32)
    person[100:250, 300:420] = 1.0
    for soft in (mask, person):
        exact = postprocess.guided_filter(big, soft, strength=2.0)
        fast = postprocess.guided_filter(big, soft, strength=2.0, dtype=np.uint8)
        assert fast.dtype == np.uint8 and fast.shape == (720, 1280)
        assert np.abs(fast.astype(np.int16) - np.rint(exact * 255)).max() <= 1
    assert fast[:150].max() == 0 and fast[:, :500].max() == 0
    with pytest.raises(ValueError, match="dtype"):
        postprocess.guided_filter(big, person, dtype=np.float64)


def test_uint8_composite_is_within_a_grey_level_of_the_float_blend(scene):
    frame, mask = scene
    background = np.random.default_rng(1).integers(0, 256, frame.shape, np.uint8)
    alpha = effects.alpha_of(mask)
    for given, weight, tolerance in ((alpha, alpha / 255.0, 1.0), (mask, mask, 1.5)):
        exact = frame * weight[..., None] + background * (1.0 - weight[..., None])
        out = effects.composite(frame, given, background)
        assert np.abs(out - exact).max() <= tolerance + 1e-3
    person = np.zeros_like(mask)
    person[50:100, 60:200] = 1.0
    out = effects.composite(frame, person, background)
    assert np.array_equal(out[50:100, 60:200], frame[50:100, 60:200])
    assert np.array_equal(out[100:], background[100:])  # outside the box: the background itself
    assert not np.shares_memory(out, background)


def test_effects_take_uint8_masks_like_float_ones(scene):
    frame, mask = scene
    alpha = effects.alpha_of(mask)
    assert alpha.dtype == np.uint8 and np.abs(alpha - mask * 255).max() <= 0.5 + 1e-3
    assert effects.alpha_of(np.array([[0.5, -1.0, 2.0]], np.float32)).tolist() == [[128, 0, 255]]
    for effect in (effects.Effect(blur=15), effects.Effect(background=(0, 255, 0)),
                   effects.Effect(alpha=True), effects.Effect(mask_only=True)):
        difference = np.abs(effect(frame, alpha).astype(np.int16) - effect(frame, mask))
        assert difference.max() <= 2
    assert effects.Effect(blur=15).mask_dtype == np.uint8


def test_rgba_of_any_size_and_layout():
    rng = np.random.default_rng(2)
    for height, width in ((1, 1), (2, 2), (37, 101)):
        padded = rng.integers(0, 256, (height + 2, width + 4, 3), np.uint8)
        frame = padded[1:height + 1, 2:width + 2]  # a view, as crops are
        mask = rng.random((height, width), dtype=np.float32)
        expected = np.dstack([frame, effects.alpha_of(mask)])
        assert np.array_equal(effects.to_rgba(frame, mask), expected)


@pytest.mark.parametrize("radius", [1, 2, 4])
def test_coefficients_in_the_support_box_match_the_whole_frame(scene, radius):
    frame, _ = scene
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    mask = np.zeros((360, 640), np.float32)
    cv2.ellipse(mask, (420, 150), (60, 90), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 4)
    mask[mask < 1e-7] = 0.0
    whole = postprocess.guided_coefficients(gray, mask, radius)
    boxed = postprocess._supported_coefficients(gray, mask, radius, 1e-4)
    for full, part in zip(whole, boxed):
        assert np.abs(full - part).max() < 1e-5
    empty = postprocess._supported_coefficients(gray, np.zeros_like(mask), radius, 1e-4)
    assert not empty[0].any() and not empty[1].any()


@pytest.mark.parametrize("scale", [(2, 2), (3, 2), (1, 1), (1.5, 1.5)])
def test_upsampled_box_is_the_crop_of_the_whole_upsampling(scale):
    rng = np.random.default_rng(3)
    small = rng.random((36, 64), np.float32)
    width, height = round(64 * scale[0]), round(36 * scale[1])
    whole = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    for box in (np.s_[0:height, 0:width], np.s_[5:17, 3:40], np.s_[height - 7:height, 0:9],
                np.s_[1:2, width - 1:width]):
        np.testing.assert_array_equal(postprocess.upsampled_box(small, width, height, box),
                                      whole[box])


def reference_guided_filter(gray, mask, radius, eps, strength):
    """The guided filter with its coefficients at the working size (before `subsample`): the
    sharpened mask fitted there, `a` and `b` upsampled bilinearly, `gray * a + b` clipped."""
    height, width = gray.shape
    size = postprocess.working_size(height, width)
    small_gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    p = postprocess.sharpen(cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR), strength)
    a, b = postprocess.guided_coefficients(small_gray, p, radius, eps)
    a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR) / 255.0
    b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(gray * a + b, 0.0, 1.0)


def test_subsampled_guided_filter_is_close_to_the_working_size_one(scene):
    """He's fast guided filter step (coefficients at half the working size, the default
    `subsample=2`): within a small fraction of a grey level of the filter fitted at the working
    size on average, the same side of 0.5 almost everywhere; `subsample=1` is that filter."""
    frame, mask = scene
    big = cv2.resize(frame, (1280, 720))
    gray = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)
    full = reference_guided_filter(gray, mask, 2, 1e-4, 2.0)
    at_work = postprocess.guided_filter(big, mask, strength=2.0, subsample=1)
    assert np.abs(at_work - full).max() < 1e-4
    fast = postprocess.guided_filter(big, mask, strength=2.0)
    assert fast.shape == (720, 1280) and fast.dtype == np.float32
    difference = np.abs(fast - full)
    assert difference.mean() < 1.0 / 255 and psnr(fast * 255, full * 255) > 40
    assert np.mean((fast > 0.5) != (full > 0.5)) < 0.002
    fast_uint8 = postprocess.guided_filter(big, mask, strength=2.0, dtype=np.uint8)
    assert np.abs(fast_uint8.astype(np.int16) - np.rint(fast * 255)).max() <= 1
    assert postprocess.coefficient_size(720, 1280) == (320, 180)
    assert postprocess.coefficient_size(1, 1) == (1, 1)
    with pytest.raises(ValueError, match="subsample"):
        postprocess.guided_filter(big, mask, subsample=0)


@pytest.mark.parametrize("radius", [1.5, 3.9, 4, 7.9, 15, 25, 40])
def test_blur_works_where_a_sigma_of_1_to_2_pixels_is_left(radius):
    """Below radius 4 the blur runs at full size; above, on the frame shrunk by the power of two
    that leaves a sigma in [1, 2) pixels (`test_blur_matches_the_reference` bounds the look)."""
    width, _ = effects._blur_size(1280, 720, radius)
    left = radius * width / 1280
    assert left == radius if radius < 4 else 1.0 <= left < 2.0


def test_the_canvas_is_where_the_guided_filter_fits():
    """With refinement the frame-shaped mask (smoothing, motion compensation) is at the guided
    filter's coefficient size, so nothing is resized between them: half the working size for
    video, the working size for stills; without, at the working size that is upsampled to the
    frame."""
    from bgseg.runtime.segmenter import Segmenter, VideoSegmenter, canvas_size, picture_size

    assert (Segmenter.subsample, VideoSegmenter.subsample) == (1, postprocess.SUBSAMPLE)
    for height, width in ((720, 1280), (1080, 1920), (37, 91), (1, 1)):
        frame = np.zeros((height, width, 3), np.uint8)
        assert canvas_size(frame, 2) == postprocess.coefficient_size(height, width, subsample=2)
        assert canvas_size(frame) == picture_size(frame) == postprocess.coefficient_size(
            height, width, subsample=1)
    assert picture_size(np.zeros((720, 1280, 3), np.uint8)) == (640, 360)
    assert canvas_size(np.zeros((720, 1280, 3), np.uint8), 2) == (320, 180)


def test_remap_coordinates_scale_the_flow_as_numpy_does():
    """`MotionCompensator._map` scales the flow per channel with OpenCV: bit for bit numpy's
    float32 product, resized and offset by the pixel grid."""
    from bgseg.runtime import motion

    rng = np.random.default_rng(5)
    compensator = motion.MotionCompensator()
    compensator.flow = rng.normal(0, 3, (108, 192, 2)).astype(np.float32)
    for shape in ((180, 320), (360, 640), (37, 91)):
        scale = np.array([shape[1] / 192, shape[0] / 108], np.float32)
        expected = cv2.resize(compensator.flow * scale, shape[::-1],
                              interpolation=cv2.INTER_LINEAR) + motion._grid(shape)
        assert np.array_equal(compensator._map(shape)[0], expected)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (1000, 562)])
def test_uint8_output_band_by_band_is_the_whole_frame_one(scene, size):
    """`_apply_uint8` computes only the bands of rows (and their columns) that can be non-zero:
    the same bytes as `gray * a + b` over the whole frame, rounded; empty bands (two people
    apart) stay 0."""
    frame, _ = scene
    width, height = size
    gray = cv2.cvtColor(cv2.resize(frame, size), cv2.COLOR_RGB2GRAY)
    small = postprocess.coefficient_size(height, width)
    mask = np.zeros(small[::-1], np.float32)
    cv2.ellipse(mask, (small[0] // 4, small[1] // 5), (20, 25), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (small[0] * 3 // 4, small[1] * 4 // 5), (30, 20), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 2)
    mask[mask < 1e-7] = 0.0
    small_gray = cv2.resize(gray, small, interpolation=cv2.INTER_AREA)
    a, b = postprocess._supported_coefficients(small_gray, mask, 1, 1e-4)
    a, b = a * (postprocess.SCALE * 255.0), b * np.float32(255.0)
    whole = cv2.add(cv2.multiply(gray, cv2.resize(a, size), dtype=cv2.CV_32F), cv2.resize(b, size),
                    dtype=cv2.CV_8U)
    banded = postprocess._apply_uint8(gray, a, b)
    assert whole.max() == 255 and np.array_equal(banded, whole)
    assert not postprocess._apply_uint8(gray, a * 0, b * 0).any()


@pytest.mark.parametrize("height", [1, 63, 200, 721])
def test_blend_band_by_band_is_the_whole_frame_blend(height):
    """`effects._blend_into` blends each band of rows in the box of its own non-zero mask: the
    same bytes as the uint8 blend over the whole frame (people apart, bands with none)."""
    rng = np.random.default_rng(height)
    width = 301
    mask = np.zeros((height, width), np.uint8)
    mask[: max(1, height // 8), 10:40] = rng.integers(0, 256, (max(1, height // 8), 30))
    mask[height * 3 // 4:, 200:260] = 255
    mask[height * 3 // 4:, 250:] = rng.integers(0, 256, (height - height * 3 // 4, 51))
    for channels in ((), (3,)):
        frame = rng.integers(0, 256, (height, width, *channels), np.uint8)
        background = rng.integers(0, 256, (height, width, *channels), np.uint8)
        weight = mask if not channels else cv2.cvtColor(mask, cv2.COLOR_GRAY2RGB)
        whole = cv2.add(cv2.multiply(frame, weight, scale=1.0 / 255.0),
                        cv2.multiply(background, cv2.bitwise_not(weight), scale=1.0 / 255.0))
        assert np.array_equal(effects._blend_into(background.copy(), frame, mask), whole)


@pytest.mark.parametrize("radius", [3, 8, 15, 25])
def test_shrink_from_the_chroma_mask_is_the_shrink_of_the_mask(radius):
    """The blur of the planes starts its mask's halvings from the chroma's half-size mask (the
    same area average): bit for bit the halvings of the full mask, at sizes where it applies and
    ignored where it does not."""
    rng = np.random.default_rng(5)
    for height, width in ((720, 1280), (360, 640), (362, 646), (24, 32)):
        mask = cv2.GaussianBlur(rng.integers(0, 256, (height, width), np.uint8), (0, 0), 3)
        size = effects._blur_size(width, height, radius)
        half = effects._half_mask(mask, (height // 2, width // 2))
        assert np.array_equal(effects._shrink(mask, size, halved=half),
                              effects._shrink(mask, size))


def test_coefficient_gray_from_the_half_size_luma_is_resize_frames():
    """The refinement's small grayscale made from the picture's luma (the frame area-averaged to
    half) is bit for bit `resize_frame` of the full one where it is used (a frame four times the
    coefficients: 720p), and `resize_frame` itself elsewhere."""
    from bgseg.contract import resize_frame

    rng = np.random.default_rng(6)
    for height, width in ((720, 1280), (1080, 1920), (480, 854), (360, 640)):
        gray = cv2.GaussianBlur(rng.integers(0, 256, (height, width), np.uint8), (0, 0), 1)
        size = postprocess.coefficient_size(height, width)
        half = resize_frame(gray, width // 2, height // 2)
        assert np.array_equal(postprocess.coefficient_gray(gray, size, half),
                              resize_frame(gray, *size))


def test_segment_planes_with_the_picture_luma_is_the_segment_without(tiny_tflite):
    """`segment_planes` hands the segmenter the picture's luma as well (`picture_gray`): with
    motion compensation off the masks are bit for bit those of the call without it, frame after
    frame (the refinement's small grayscale is the same); with it, the flow's grayscale is made
    from the picture's luma instead of the full one (the masks move a little); a segmenter whose
    `segment` has no such parameter still gets the call it takes."""
    from bgseg import planes
    from bgseg.runtime import VideoSegmenter
    from bgseg.runtime.stream import segment_planes

    rng = np.random.default_rng(7)
    base = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), np.uint8), (0, 0), 3)
    frames = [planes.join(*planes.from_yuv(np.roll(base, 9 * i, axis=1))) for i in range(4)]
    for motion in (False, True):
        with_luma = VideoSegmenter(str(tiny_tflite()), threads=1, motion=motion)
        without = VideoSegmenter(str(tiny_tflite()), threads=1, motion=motion)
        for frame in frames:
            luma = planes.split(frame)[0]
            small = planes.to_rgb(frame, 640, 360, "bt709")
            expected = without.segment(small, dtype=np.uint8, gray=luma)
            got = segment_planes(with_luma, frame, "bt709")
            if motion:
                assert np.abs(got.astype(np.int16) - expected).mean() < 2.0
            else:
                assert np.array_equal(got, expected)

    class Plain:
        def segment(self, image, dtype=np.float32, gray=None):
            return np.zeros(gray.shape, dtype)

    assert segment_planes(Plain(), frames[0], "bt709").shape == (720, 1280)


def test_the_prior_moved_only_under_the_zoomed_crop_is_the_whole_ones_crop():
    """The model's prior is moved along the flow only under the tracked crop (`warp(mask, box)`):
    bit for bit the crop of the whole moved prior, so the masks of a stream are those of a
    segmenter that moves all of it."""
    from bgseg.runtime import VideoSegmenter
    from bgseg.runtime.motion import MotionCompensator

    rng = np.random.default_rng(8)
    motion = MotionCompensator()
    scene = cv2.GaussianBlur(rng.integers(0, 256, (180, 320, 3), np.uint8), (0, 0), 2)
    motion.update(scene)
    motion.update(np.roll(scene, 5, axis=1))
    mask = cv2.GaussianBlur(rng.random((180, 320), np.float32), (0, 0), 4)
    box = (70, 10, 250, 171)
    assert np.array_equal(motion.warp(mask, box), motion.warp(mask)[10:171, 70:250])

    class WholePrior(VideoSegmenter):
        def _prior(self, box=None):
            whole = super()._prior()
            return whole if box is None or whole is None else whole[box[1]:box[3], box[0]:box[2]]

    from tests.helpers import PHOTO

    photo = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    base = np.full((540, 960, 3), 128, np.uint8)
    base[300:460, 500:660] = cv2.resize(photo, (160, 160), interpolation=cv2.INTER_AREA)
    crop, whole = (kind("default", threads=1, redetect=3) for kind in (VideoSegmenter,
                                                                     WholePrior))
    zoomed = 0
    for i in range(7):
        frame = np.roll(base, 8 * i, axis=1)
        assert np.array_equal(crop.segment(frame, dtype=np.uint8),
                              whole.segment(frame, dtype=np.uint8))
        assert np.array_equal(crop.previous_mask, whole.previous_mask)
        zoomed += crop._box is not None
    assert zoomed >= 5  # the crop was tracked


@pytest.mark.parametrize("eps", [1e-4, 1e-3, 1e-6])
def test_uint8_output_with_the_wider_support_is_the_exact_ones(scene, monkeypatch, eps):
    """The uint8 output treats mask levels up to `uint8_support(eps)` as 0 (a smaller box for the
    coefficients): bit for bit the output of coefficients fitted wherever the mask is above 0,
    on a mask with faint noise everywhere (the worst case for the bound) and a sharp-edged one."""
    frame, soft = scene
    rng = np.random.default_rng(9)
    faint = rng.random(soft.shape, np.float32) * np.float32(postprocess.uint8_support(eps))
    noisy = np.where(soft > 0.01, soft, faint).astype(np.float32)
    hard = np.zeros_like(soft)
    hard[100:260, 200:420] = 1.0
    for mask in (noisy, hard, faint):
        wide = postprocess.guided_filter(frame, mask, eps=eps, dtype=np.uint8, subsample=1)
        with monkeypatch.context() as patched:
            patched.setattr(postprocess, "uint8_support", lambda eps: 0.0)
            exact = postprocess.guided_filter(frame, mask, eps=eps, dtype=np.uint8, subsample=1)
        assert np.array_equal(wide, exact)
    assert not postprocess.guided_filter(frame, faint, eps=eps, dtype=np.uint8).any()
