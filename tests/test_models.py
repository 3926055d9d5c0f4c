import numpy as np
import pytest

keras = pytest.importorskip("keras")

from bgseg.models import PRESETS, build_model  # noqa: E402
from tests.helpers import tiny_hourglass  # noqa: E402


def _tiny_hourglass(channels=4, keras_module=None):
    return tiny_hourglass(64, channels, encoder_filters=(16, 32, 32, 64), decoder_filters=16,
                          keras_module=keras_module)


@pytest.mark.parametrize("name", [n for n in PRESETS if not n.startswith("tiramisu_103")])
def test_preset_shapes_and_parameter_counts(name):
    preset = PRESETS[name]
    model = build_model(name)
    h, w, c = preset.input_shape
    assert model.input_shape == (None, h, w, c)
    assert model.output_shape == (None, h, w, 1)
    assert model.count_params() == preset.parameters


def test_tiramisu_103_has_9_4m_parameters():
    model = build_model("tiramisu_103")
    assert model.count_params() == 9_422_593 == PRESETS["tiramisu_103"].parameters


def test_small_hourglass_under_250k_and_landscape_preset():
    assert PRESETS["hourglass_small_256"].parameters < 250_000
    assert PRESETS["hourglass_144x256"].input_shape == (144, 256, 4)
    assert PRESETS["hourglass_image_256"].channels == 3


def test_hourglass_architecture_is_visible_in_the_layers():
    model = build_model("hourglass_256")
    stem = model.get_layer("stem_conv")
    assert stem.kernel_size == (7, 7) and stem.strides == (4, 4)
    assert stem.input.shape[1:3] == (256, 256)
    # bottleneck middles are compressed 16x
    expand = model.get_layer("enc3_b0_expand_conv")
    middle = model.get_layer("enc3_b0_mid_conv")
    assert expand.filters // middle.filters == 16
    assert build_model("hourglass_256", compression=32).get_layer("enc3_b0_mid_conv").filters == 8
    # deepest encoder features are at 1/32, DenseNet layers run at full resolution
    assert model.get_layer("enc3_b0_out").output.shape[1:3] == (8, 8)
    dense = [layer for layer in model.layers if layer.name.startswith("head_dense_l")
             and layer.name.endswith("_cat")]
    assert len(dense) >= 3 and all(layer.output.shape[1:3] == (256, 256) for layer in dense)
    assert model.layers[-1].activation.__name__ == "sigmoid"


def test_no_lambda_layers_anywhere():
    for name in ("hourglass_256", "unet_256", "tiramisu_56"):
        assert not [layer for layer in build_model(name).layers if "Lambda" in type(layer).__name__]


def test_bad_shapes_are_rejected_with_clear_errors():
    with pytest.raises(ValueError, match="multiple of 32"):
        build_model("hourglass", input_shape=(100, 256, 4))
    with pytest.raises(ValueError, match="3 .image. or 4 .video. channels"):
        build_model("hourglass", input_shape=(64, 64, 2))
    with pytest.raises(KeyError, match="unknown preset"):
        build_model("no_such_model")


def test_overrides_and_builder_names():
    model = build_model("hourglass_256", input_shape=(128, 128, 3))
    assert model.input_shape == (None, 128, 128, 3)
    assert build_model("unet", input_shape=(32, 32, 4), base_filters=4, depth=2).output_shape == (
        None, 32, 32, 1)


def test_config_round_trip_gives_identical_outputs():
    model = _tiny_hourglass()
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((2, 64, 64, 4), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), clone.predict(x, verbose=0), atol=1e-6)


def test_keras_file_round_trip_without_custom_objects(tmp_path):
    from bgseg import losses, metrics

    model = _tiny_hourglass(channels=3)
    model.compile(optimizer="rmsprop", loss=losses.IoULoss(bce_weight=0.5),
                  metrics=metrics.default_metrics())
    x = np.random.default_rng(1).random((2, 64, 64, 3), dtype=np.float32)
    y = (x[..., :1] > 0.5).astype("float32")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "tiny.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.loss.get_config()["bce_weight"] == 0.5


def test_tf_keras_twin_has_the_same_weights_layout():
    tf_keras = pytest.importorskip("tf_keras")
    model = _tiny_hourglass()
    twin = _tiny_hourglass(keras_module=tf_keras)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in twin.get_weights()]
    assert [layer.name for layer in model.layers] == [layer.name for layer in twin.layers]
    twin.set_weights(model.get_weights())
    x = np.random.default_rng(2).random((1, 64, 64, 4), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0), atol=1e-5)
