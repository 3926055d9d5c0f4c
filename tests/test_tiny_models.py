"""The checked-in tiny models (tests/data/tiny/, tests/make_tiny_models.py) that the runtime and
CLI tests run on without TensorFlow: each follows the model contract and matches its Keras twin."""

import numpy as np
import pytest

from bgseg import contract, runtime
from tests.make_tiny_models import FOLDER, VARIANTS

FILES = [(channels, mode) for channels, modes in VARIANTS.items() for mode in modes]


def _input(channels, seed=0):
    """A contract input of a random frame (4 channels: a random previous mask)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((64, 64, channels), np.float32)
    contract.to_model_input(rng.integers(0, 256, (50, 70, 3), np.uint8), 64, 64, out=x[..., :3])
    if channels == 4:
        x[..., 3] = rng.random((64, 64))
    return x


def test_every_variant_is_checked_in_and_small():
    for channels, mode in FILES:
        assert (FOLDER / f"tiny{channels}_{mode}.tflite").stat().st_size < 200_000
    for channels in VARIANTS:
        assert (FOLDER / f"tiny{channels}.keras").stat().st_size < 200_000
    for name in ("two_channels", "logits"):  # tests/test_runtime.py, tests/test_failure_paths.py
        assert (FOLDER / f"{name}.tflite").stat().st_size < 200_000


@pytest.mark.parametrize("channels,mode", FILES)
def test_checked_in_model_follows_the_contract(tiny_tflite, channels, mode):
    model = runtime.TFLiteModel(tiny_tflite(channels, mode))  # raises on a contract break
    assert (model.height, model.width, model.channels) == (64, 64, channels)
    assert model.is_video == (channels == 4)
    expected_dtype = np.int8 if mode == "int8" else np.float32
    assert model.input_dtype == model.output_dtype == expected_dtype
    mask = model(_input(channels))
    assert mask.shape == (64, 64) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0 and mask.std() > 0


@pytest.mark.parametrize("channels,mode", FILES)
def test_checked_in_model_matches_its_keras_twin(tiny_tflite, channels, mode):
    keras = pytest.importorskip("keras", reason="the Keras twin needs the train extra")
    twin = keras.models.load_model(tiny_tflite.keras_path(channels), compile=False)
    model = runtime.TFLiteModel(tiny_tflite(channels, mode))
    tolerance = {"float32": 1e-5, "float16": 0.02, "int8": 0.1}[mode]
    for seed in range(2):
        x = _input(channels, seed)
        difference = np.abs(model(x) - twin.predict(x[None], verbose=0)[0, ..., 0])
        assert difference.max() < 10 * tolerance and difference.mean() < tolerance
