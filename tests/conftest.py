"""Shared fixtures. Heavy tests carry the `slow` marker (deselected by default, see setup.cfg)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --- runtime / CLI: tiny TFLite models exported once per session ------------------------------
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory):
    """`tiny_tflite(channels=4, mode="float32")` -> path of a tiny exported hourglass (64x64).

    Modes: float32, float16, int8 (int8 input/output tensors). Each variant is exported once;
    `tiny_tflite.keras_path(channels)` is the Keras model they were exported from.
    """
    import numpy as np

    folder = tmp_path_factory.mktemp("tiny_tflite")
    cache = {}

    def make(channels=4, mode="float32"):
        if (channels, mode) not in cache:
            import keras

            from bgseg.export import QuantizationConfig, export_tflite
            from tests.helpers import tiny_hourglass

            keras.utils.set_random_seed(channels)
            model = tiny_hourglass(64, channels)
            config = {
                "float32": QuantizationConfig.float32(),
                "float16": QuantizationConfig.float16(),
                "int8": QuantizationConfig.int8(io_type="int8", representative_samples=4),
            }[mode]
            data = np.random.default_rng(0).random((4, 64, 64, channels), np.float32)
            path = folder / f"tiny{channels}_{mode}.tflite"
            export_tflite(model, path, config, representative_data=data if mode == "int8" else None)
            model.save(folder / f"tiny{channels}.keras")  # the same weights for every mode
            cache[channels, mode] = path
        return cache[channels, mode]

    make.keras_path = lambda channels=4: folder / f"tiny{channels}.keras"
    return make
