"""The mirrored looks (`flip`): the mean of the model's masks of an input and of its mirror
image, on photos for the first look and on video for every look; each model's own defaults."""

import argparse

import numpy as np
import pytest

from bgseg import runtime
from bgseg.commands import common
from bgseg.runtime import Segmenter, VideoSegmenter, registry
from tests.helpers import noise_frame, record_inputs


def _frame(height=64, width=64, seed=0):
    return noise_frame(height, width, seed)


def test_a_flipped_photo_is_the_mean_of_it_and_its_mirror(tiny_tflite):
    """At the model's own size (no resizing) the mirrored look is exactly the mean of the plain
    look of the photo and the mirrored-back plain look of its mirror image."""
    options = {"refine": False, "zoom": False, "sharpen": 1.0}
    plain = Segmenter(tiny_tflite(3, "float32"), flip=False, **options)
    flipped = Segmenter(tiny_tflite(3, "float32"), flip=True, **options)
    frame = _frame()
    seen = record_inputs(flipped)
    expected = 0.5 * (plain.segment(frame) + plain.segment(frame[:, ::-1].copy())[:, ::-1])
    got = flipped.segment(frame)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert not np.allclose(got, plain.segment(frame))  # the tiny model is not mirror-symmetric
    assert flipped.timings["runs"] == 2 and plain.timings["runs"] == 1
    np.testing.assert_array_equal(seen[1], seen[0][:, ::-1])


def test_photos_mirror_only_their_first_look(tiny_tflite):
    """With zoom the closer looks run once each: one run more than without flip."""
    frame = _frame(120, 90, seed=3)
    runs = {}
    for flip in (False, True):
        seg = Segmenter(tiny_tflite(3, "float32"), flip=flip)
        seg.segment(frame)
        runs[flip] = seg.timings["runs"]
    assert runs[True] == runs[False] + 1


def test_video_mirrors_every_look_and_its_prior(tiny_tflite):
    seg = VideoSegmenter(tiny_tflite(4, "float32"), flip=True, refine=False, zoom=False,
                         motion=False, smoothing=0.0, sharpen=1.0)
    seen = record_inputs(seg)
    for seed in (1, 2):
        seg.segment(_frame(seed=seed))
        assert seg.timings["runs"] == 2
    assert len(seen) == 4 and seen[2][..., 3].any()  # the second frame has a prior
    np.testing.assert_array_equal(seen[3], seen[2][:, ::-1])  # prior mirrored with the picture


def test_defaults_photos_on_video_off_and_the_models_own(tiny_tflite):
    path = tiny_tflite(4, "float32")
    assert Segmenter(path).flip is True and VideoSegmenter(path).flip is False
    assert VideoSegmenter(path).sharpen == 2.0 and registry.runtime_options(path) == {}
    quality = registry.resolve_model("quality")
    assert registry.runtime_options(quality) == {"flip": True, "sharpen": 1.0}
    assert registry.runtime_options(registry.resolve_model("default")) == {}
    seg = runtime.load("quality")
    assert isinstance(seg, VideoSegmenter) and seg.flip is True and seg.sharpen == 1.0
    own = runtime.load("quality", flip=False, sharpen=2.0)  # explicit options win
    assert own.flip is False and own.sharpen == 2.0
    with pytest.raises(ValueError, match="sharpen"):
        runtime.load("quality", sharpen=0.5)


@pytest.mark.parametrize("argv, flip", [([], None), (["--flip"], True), (["--no-flip"], False)])
def test_the_flip_option_reaches_the_segmenter(argv, flip):
    parser = argparse.ArgumentParser()
    common.add_model_arguments(parser)
    options = common.segmenter_options(parser.parse_args(argv))
    assert options["flip"] is flip and options["sharpen"] is None


@pytest.mark.parametrize("channels, mode", [(3, "float32"), (4, "float16"), (4, "int8")])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_pair_of_inputs_gives_the_two_runs_masks_to_the_bit(tiny_tflite, channels, mode,
                                                              threads):
    """`run_pair` (a batch of 2 with two threads) returns exactly what two runs return."""
    from bgseg.runtime.interpreter import TFLiteModel

    model = TFLiteModel(tiny_tflite(channels, mode), threads=threads)
    rng = np.random.default_rng(5)
    first, second = rng.random((2, model.height, model.width, channels)).astype(np.float32)
    got = model.run_pair(first, second)
    np.testing.assert_array_equal(got[0], model(first))
    np.testing.assert_array_equal(got[1], model(second))
    if threads == 1:
        assert model._pair is False  # one thread: two runs, no second interpreter
    else:
        assert model._pair  # these models give the same bits in a batch: it is used


def test_a_pair_falls_back_to_two_runs_when_the_batch_differs(tiny_tflite, monkeypatch):
    from bgseg.runtime.interpreter import TFLiteModel

    model = TFLiteModel(tiny_tflite(4, "float32"), threads=2)
    monkeypatch.setattr(model, "_checked_pair", lambda: None)  # the batch's bits differed
    first, second = np.random.default_rng(6).random((2, 64, 64, 4)).astype(np.float32)
    got = model.run_pair(first, second)
    assert model._pair is False
    np.testing.assert_array_equal(got[0], model(first))
    np.testing.assert_array_equal(got[1], model(second))
