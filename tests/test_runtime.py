"""bgseg.runtime: contract check, quantized I/O, mask feedback, reset, model names,
post-processing."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from bgseg import contract, runtime
from bgseg.runtime import ModelContractError, Segmenter, VideoSegmenter, postprocess, registry
from tests.helpers import noise_frame, record_inputs


def _frame(height=37, width=91, seed=0):
    return noise_frame(height, width, seed)


@pytest.mark.parametrize("mode", ["float32", "float16", "int8"])
def test_every_quantization_gives_a_full_size_probability(tiny_tflite, mode):
    with runtime.load(tiny_tflite(4, mode), refine=False, sharpen=1.0) as seg:
        assert isinstance(seg, VideoSegmenter)
        mask = seg.segment(_frame())
    # the reference is the float32 export, fed through the contract (it equals its Keras twin:
    # tests/test_tiny_models.py)
    model = runtime.TFLiteModel(tiny_tflite(4, "float32"))
    x = np.zeros((64, 64, 4), np.float32)
    contract.to_model_input(_frame(), 64, 64, out=x[..., :3])
    expected = contract.mask_to_frame(model(x), 91, 37)
    assert mask.shape == (37, 91) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    # float16/int8 stay close to float32 (int8 I/O (de)quantized from the file)
    tolerance = {"float32": 1e-5, "float16": 0.02, "int8": 0.1}[mode]
    assert np.abs(mask - expected).max() < 10 * tolerance
    assert np.abs(mask - expected).mean() < tolerance


def test_int8_model_reports_quantized_io(tiny_tflite):
    model = runtime.TFLiteModel(tiny_tflite(4, "int8"))
    assert model.input_dtype == np.int8 and model.output_dtype == np.int8


def test_video_segmenter_feeds_the_previous_mask_and_resets(tiny_tflite):
    """Without zoom or motion compensation the model's own output goes back in as it is (zoom:
    tests/test_zoom.py; motion: tests/test_motion.py)."""
    seg = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, zoom=False, motion=False)
    seen = record_inputs(seg)
    seg.segment(_frame(seed=1))
    first_output = seg.previous_mask.copy()
    seg.segment(_frame(seed=2))
    assert seen[0].shape == (64, 64, 4)
    assert not seen[0][..., 3].any()                        # first frame: empty prior
    np.testing.assert_array_equal(seen[1][..., 3], first_output)  # second frame sees the first mask
    assert first_output.std() > 0
    seg.reset()
    seg.segment(_frame(seed=3))
    assert not seen[2][..., 3].any() and seg.frame_index == 1


def test_smoothing_changes_the_output_but_not_the_fed_back_mask(tiny_tflite):
    plain = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, smoothing=0.0)
    smooth = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, smoothing=1.0)
    plain_seen, smooth_seen = record_inputs(plain), record_inputs(smooth)
    frames = [_frame(seed=1), _frame(seed=2)]
    plain_out = [plain.segment(f) for f in frames]
    smooth_out = [smooth.segment(f) for f in frames]
    np.testing.assert_allclose(smooth_out[0], plain_out[0])    # nothing to mix on frame 1
    assert not np.allclose(smooth_out[1], plain_out[1])       # frame 2 leans on frame 1
    # the model is fed its raw output, not the smoothed one
    np.testing.assert_array_equal(smooth_seen[1], plain_seen[1])
    np.testing.assert_array_equal(smooth.previous_mask, plain.previous_mask)
    with pytest.raises(ValueError, match="smoothing"):
        VideoSegmenter(tiny_tflite(4, "float32"), smoothing=1.5)


def test_prior_changes_the_output(tiny_tflite):
    """The carried state matters: the same frame gives another mask with a non-empty prior."""
    seg = VideoSegmenter(tiny_tflite(4, "float32"), refine=False)
    a = seg.segment(_frame(seed=5))
    b = seg.segment(_frame(seed=5))
    assert not np.allclose(a, b)


def test_segmenter_is_stateless_with_a_video_model(tiny_tflite):
    seg = Segmenter(tiny_tflite(4, "float32"))
    seen = record_inputs(seg)
    a, b = seg.segment(_frame()), seg.segment(_frame())
    np.testing.assert_array_equal(a, b)
    assert not seen[1][..., 3].any()


def test_image_model_and_explicit_kind(tiny_tflite):
    path = tiny_tflite(3, "float32")
    seg = runtime.load(path, threads=2)
    assert type(seg) is Segmenter and seg.model.channels == 3
    assert seg.segment(_frame(300, 200)).shape == (300, 200)
    video = runtime.load(path, kind="video", smoothing=0.5)
    assert isinstance(video, VideoSegmenter)
    assert video.segment(_frame()).shape == (37, 91)
    with pytest.raises(ValueError, match="kind"):
        runtime.load(path, kind="stream")
    with pytest.raises(ValueError, match="threads"):
        runtime.load(path, threads=0)


def test_timings_and_bad_frames(tiny_tflite):
    seg = Segmenter(tiny_tflite(4, "float32"))
    seg.segment(_frame())
    assert set(seg.timings) == {"pre", "invoke", "post", "runs"}
    assert seg.timings["runs"] in (1, 2)
    assert all(0 < seg.timings[k] < 10 for k in ("pre", "invoke", "post"))
    with pytest.raises(ValueError, match="RGB uint8"):
        seg.segment(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        seg.segment(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match="empty"):
        seg.segment(np.zeros((0, 10, 3), np.uint8))


def test_contract_errors(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelContractError, match="not a loadable TFLite model"):
        runtime.TFLiteModel(junk)


def test_contract_names_a_wrong_output_shape(tiny_tflite):
    with pytest.raises(ModelContractError, match=r"output shape \[1, 32, 32, 2\]"):
        runtime.TFLiteModel(tiny_tflite.contract_breaker("two_channels"))


def test_model_names(tmp_path, monkeypatch, tiny_tflite):
    assets = tmp_path / "assets"
    assets.mkdir()
    shutil.copy(registry.ASSETS / "models.json", assets / "models.json")
    monkeypatch.setattr(registry, "ASSETS", assets)
    with pytest.raises(FileNotFoundError, match="shipped model 'default' is not installed"):
        runtime.load("default")
    with pytest.raises(FileNotFoundError, match="neither a file nor a shipped model"):
        runtime.load("no_such_model")
    entries = json.loads((assets / "models.json").read_text())
    shutil.copy(tiny_tflite(4, "float32"), assets / entries["default"]["file"])
    shutil.copy(tiny_tflite(3, "float32"), assets / entries["default_image"]["file"])
    assert isinstance(runtime.load("default"), VideoSegmenter)
    assert type(runtime.load("default_image")) is Segmenter


def test_runtime_imports_no_tensorflow(tiny_tflite):
    code = ("import sys, numpy as np, bgseg\n"
            "import bgseg.effects, bgseg.io\n"
            "from bgseg.commands import image, video, webcam\n"
            f"seg = bgseg.load({str(tiny_tflite(4, 'float32'))!r})\n"
            "seg.segment(np.zeros((20, 30, 3), np.uint8))\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False False", out.stderr


def test_temporal_smoothing_only_moves_uncertain_pixels():
    mask = np.array([[0.0, 0.5, 1.0]], np.float32)
    previous = np.array([[1.0, 1.0, 0.0]], np.float32)
    out = postprocess.smooth_temporal(mask, previous, ratio=0.6)
    np.testing.assert_allclose(out, [[0.0, 0.8, 1.0]], atol=1e-4)
    assert postprocess.smooth_temporal(mask, None) is mask


def test_guided_filter_moves_the_mask_edge_onto_the_frame_edge():
    frame = np.zeros((80, 120, 3), np.uint8)
    frame[:, 60:] = 255  # the true edge: between columns 59 and 60
    blurry = contract.mask_to_frame((np.arange(15) >= 8).astype(np.float32)[None].repeat(10, 0),
                                       120, 80)            # a low-resolution mask, edge a bit off
    refined = postprocess.guided_filter(frame, blurry, radius=4, eps=1e-3)
    assert refined.shape == (80, 120) and refined.dtype == np.float32
    step = np.diff(refined[40])
    assert step.argmax() == 59 and np.diff(blurry[40]).argmax() != 59
    assert step[59] > 2 * np.diff(blurry[40]).max()


def test_sharpen_makes_masks_opaque_without_moving_the_boundary(tiny_tflite):
    p = np.linspace(0, 1, 101, dtype=np.float32)
    sharp = postprocess.sharpen(p, 2.0)
    assert sharp[50] == pytest.approx(0.5) and sharp[80] == pytest.approx(0.941, abs=1e-3)
    assert sharp[20] == pytest.approx(0.059, abs=1e-3)
    assert np.all(np.diff(sharp) >= 0) and np.array_equal(sharp > 0.5, p > 0.5)
    np.testing.assert_allclose(postprocess.sharpen(p, 3.0), postprocess.sharpen(
        postprocess.sharpen(p, 1.5), 2.0), atol=1e-5)            # sigmoid(k logit p) composes
    assert postprocess.sharpen(p, 1.0) is p
    # in the runtime: the output is sharpened, the prior fed back is not
    soft = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, zoom=False, sharpen=1.0,
                          smoothing=0.0)
    sharp_seg = VideoSegmenter(tiny_tflite(4, "float32"), refine=False, zoom=False, smoothing=0.0)
    frames = [_frame(seed=1), _frame(seed=2)]
    outs = [(soft.segment(f), sharp_seg.segment(f)) for f in frames]
    raw = sharp_seg.previous_mask                           # at model resolution without zoom
    np.testing.assert_allclose(outs[1][1], contract.mask_to_frame(postprocess.sharpen(raw, 2.0),
                                                                  91, 37), atol=1e-5)
    assert not np.allclose(outs[1][1], outs[1][0], atol=1e-3)
    np.testing.assert_array_equal(soft.previous_mask, sharp_seg.previous_mask)
    with pytest.raises(ValueError, match="sharpen"):
        Segmenter(tiny_tflite(4, "float32"), sharpen=0.5)


@pytest.mark.parametrize("refine", [True, False])
def test_uint8_masks_are_the_rounded_float_ones(tiny_tflite, refine):
    """`segment(frame, dtype=numpy.uint8)` (what the video driver asks for) is the float mask
    rounded to 0-255, for images and streams; other dtypes are refused."""
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 256, (90, 160, 3), np.uint8) for _ in range(3)]
    image = Segmenter(tiny_tflite(channels=3), refine=refine)
    exact, fast = image.segment(frames[0]), image.segment(frames[0], dtype=np.uint8)
    assert exact.dtype == np.float32 and fast.dtype == np.uint8 and fast.shape == (90, 160)
    assert np.abs(fast.astype(np.int16) - np.rint(exact * 255)).max() <= 1
    floats = VideoSegmenter(tiny_tflite(), refine=refine)
    uint8s = VideoSegmenter(tiny_tflite(), refine=refine)
    for frame in frames:
        exact, fast = floats.segment(frame), uint8s.segment(frame, dtype=np.uint8)
        assert np.abs(fast.astype(np.int16) - np.rint(exact * 255)).max() <= 1
    with pytest.raises(ValueError, match="dtype"):
        uint8s.segment(frames[0], dtype=np.float64)


def test_reuse_freed_memory_is_idempotent():
    from bgseg.runtime import memory

    first = memory.reuse_freed_memory()
    assert isinstance(first, bool) and memory.reuse_freed_memory() is first
