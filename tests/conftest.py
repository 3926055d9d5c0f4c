"""Shared fixtures. Heavy tests carry the `slow` marker (deselected by default, see setup.cfg)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --- runtime / CLI: the tiny TFLite models checked in under tests/data/tiny/ ------------------
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TINY_MODELS = Path(__file__).resolve().parent / "data" / "tiny"  # tests/make_tiny_models.py


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory):
    """`tiny_tflite(channels=4, mode="float32")` -> path of a tiny exported hourglass (64x64).

    Modes: float32, float16, int8 (int8 input/output tensors); 3 channels in float32 only. The
    files are checked in (no TensorFlow needed) and served as session copies, so no test can
    change them; `tiny_tflite.keras_path(channels)` is the Keras model they were exported from,
    `tiny_tflite.contract_breaker("two_channels" | "logits")` a model the runtime must refuse.
    """
    folder = tmp_path_factory.mktemp("tiny_tflite")

    def served(name):
        path = folder / name
        if not path.exists():
            source = TINY_MODELS / name
            if not source.exists():
                raise FileNotFoundError(f"no tiny model {source} (tests/make_tiny_models.py)")
            shutil.copy(source, path)
        return path

    def make(channels=4, mode="float32"):
        return served(f"tiny{channels}_{mode}.tflite")

    make.keras_path = lambda channels=4: served(f"tiny{channels}.keras")
    make.contract_breaker = lambda name: served(f"{name}.tflite")  # two_channels, logits
    return make
