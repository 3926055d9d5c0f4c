import numpy as np
import pytest

pytest.importorskip("keras")

from bgseg.models import build_model  # noqa: E402
from bgseg.models.widen import widen_selfie_weights  # noqa: E402


def _randomised(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.3
                       for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def narrow():
    return _randomised(build_model("selfie", input_shape=(32, 32, 3)))


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)


@pytest.mark.parametrize("multiplier", [2, 3])
def test_widened_model_predicts_what_the_narrow_one_did(narrow, image, multiplier):
    wide = build_model("selfie", input_shape=(32, 32, 3), expand_multiplier=multiplier)
    assert wide.count_params() > narrow.count_params()
    report = widen_selfie_weights(narrow, wide)
    assert {"enc0_expand", "enc0_dw", "enc0_se_reduce", "enc0_se_expand", "enc0_project",
            "head_conv", "head_gate_expand", "dec0_up_conv"} <= set(report["widened"])
    assert "dec1_conv" not in report["widened"] and report["copied"] > 0
    want = narrow.predict(image, verbose=0)
    assert np.abs(want - wide.predict(image, verbose=0)).max() < 1e-3  # float32 rounding
    fresh = build_model("selfie", input_shape=(32, 32, 3), expand_multiplier=multiplier)
    assert np.abs(want - fresh.predict(image, verbose=0)).max() > 0.01


def test_copies_of_a_channel_get_different_shares(narrow):
    wide = build_model("selfie", input_shape=(32, 32, 3), expand_multiplier=2)
    widen_selfie_weights(narrow, wide, noise=0.1)
    kernel = wide.get_layer("enc3_project").get_weights()[0]
    half = kernel.shape[2] // 2
    first, second = kernel[:, :, :half], kernel[:, :, half:]
    source = narrow.get_layer("enc3_project").get_weights()[0]
    np.testing.assert_allclose(first + second, source, rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, second)


def test_widening_needs_an_integer_multiple_and_two_selfie_models(narrow):
    with pytest.raises(ValueError, match="not a multiple"):
        widen_selfie_weights(build_model("selfie", input_shape=(32, 32, 3), expand_multiplier=2),
                             build_model("selfie", input_shape=(32, 32, 3), expand_multiplier=3))
    with pytest.raises(ValueError, match="has no layer"):
        widen_selfie_weights(build_model("unet", input_shape=(32, 32, 3)), narrow)


def test_expand_multiplier_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="expand_multiplier"):
        build_model("selfie", input_shape=(32, 32, 3), expand_multiplier=1.5)
