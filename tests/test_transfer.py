import numpy as np
import pytest

pytest.importorskip("keras")

from bgseg.models.transfer import transfer_weights  # noqa: E402
from tests.helpers import tiny_hourglass  # noqa: E402

KW = {"head_layers": 3}  # on top of tests.helpers.TINY_HOURGLASS


def _randomised(model, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.3 for w in model.get_weights()]
    for w, v in zip(weights, model.weights):
        if "variance" in v.path:
            w[...] = np.abs(w) + 0.5
    model.set_weights(weights)
    return model


def test_video_to_image_twin_is_close_to_video_model_with_empty_prior():
    video = _randomised(tiny_hourglass(64, 4, **KW))
    image = tiny_hourglass(64, 3, **KW)
    report = transfer_weights(video, image)
    assert not report["skipped"]
    assert {"stem_conv", "head_dense_l0_dw", "head_dense_l2_conv", "mask"} <= set(report["partial"])
    x = np.random.default_rng(1).random((2, 64, 64, 3), dtype=np.float32)
    x4 = np.concatenate([x, np.zeros((2, 64, 64, 1), "float32")], -1)
    # the prior channel's weights only multiply zeros; what is lost is the depthwise biases of that
    # channel in the head, a small constant shift, which fine-tuning absorbs
    want = video.predict(x4, verbose=0)
    assert np.abs(want - image.predict(x, verbose=0)).max() < 0.05
    fresh = tiny_hourglass(64, 3, **KW)
    assert np.abs(want - fresh.predict(x, verbose=0)).max() > 0.1


def test_image_to_video_keeps_fresh_weights_for_the_new_channel():
    image = _randomised(tiny_hourglass(64, 3, **KW))
    video = tiny_hourglass(64, 4, **KW)
    fresh_prior_kernel = video.get_layer("stem_conv").get_weights()[0][:, :, 3].copy()
    transfer_weights(image, video)
    stem = video.get_layer("stem_conv").get_weights()[0]
    np.testing.assert_array_equal(stem[:, :, :3], image.get_layer("stem_conv").get_weights()[0])
    np.testing.assert_array_equal(stem[:, :, 3], fresh_prior_kernel)
