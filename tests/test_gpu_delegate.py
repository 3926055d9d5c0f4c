"""Real TFLite GPU-delegate runs (OpenGL ES on Mesa llvmpipe, MediaPipe Tasks) via
tflite/gpu_delegate_check.py. Slow: needs the MediaPipe venv (tflite/setup_mediapipe_venv.sh)."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from bgseg.export import QuantizationConfig, export_tflite

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv-mediapipe" / "bin" / "python"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not VENV_PYTHON.exists(), reason="run tflite/setup_mediapipe_venv.sh for the MediaPipe venv"
    ),
]


def check(*args):
    command = [str(VENV_PYTHON), str(ROOT / "tflite" / "gpu_delegate_check.py"),
               "--reference-python", sys.executable, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_float_and_int8_exports_pass(tmp_path):
    import keras

    from bgseg.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("hourglass_small_256", input_shape=(64, 64, 4), name="gpu_tiny")
    images = np.random.default_rng(0).random((4, 64, 64, 3), dtype=np.float32)
    paths = [export_tflite(model, tmp_path / f"{c.name}.tflite", c, representative_data=images).path
             for c in (QuantizationConfig.float16(), QuantizationConfig.dynamic(),
                       QuantizationConfig.int8(representative_samples=4))]
    out = check(*paths)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("PASS") == 3 and "GPU delegate ran every op" in out.stdout
    assert (
        "renderer: llvmpipe" in out.stdout
        and "Created TensorFlow Lite delegate for GPU" in out.stdout
    )


def test_incompatible_model_is_caught(tmp_path):
    import keras
    import tensorflow as tf

    class ArgMax(keras.layers.Layer):
        def call(self, x):
            return tf.cast(tf.math.argmax(x, axis=-1), tf.float32)[..., None]

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Multiply()([
        ArgMax()(keras.layers.Conv2D(2, 1)(inputs)),
        keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs)]))
    with pytest.warns(UserWarning, match="ARG_MAX"):
        path = export_tflite(model, tmp_path / "argmax.tflite", QuantizationConfig.float32(),
                             allow_cpu_ops=True).path
    out = check(path)
    assert out.returncode == 1 and "FAIL" in out.stdout
    assert "not supported by GPU delegate" in out.stdout
    assert check("--expect-failure", path).returncode == 0
