"""Regenerate the tiny models of tests/data/tiny/ (needs the train extra).

    python tests/make_tiny_models.py

The runtime and CLI tests use these checked-in files, so they run without TensorFlow
(`tests/conftest.py`'s `tiny_tflite`): `tiny{channels}.keras`, the 64x64 tiny hourglass of
`tests/helpers.py`, and its exports `tiny{channels}_{mode}.tflite`; `two_channels.tflite` and
`logits.tflite` break the model contract. All are replaced. Export is not bit-stable across runs;
`tests/test_tiny_models.py` checks the files against their Keras twin.
"""

import os
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "data" / "tiny"
# (channels, modes): 4 channels (video, mask feedback) in every mode, 3 channels (image) float32
VARIANTS = {4: ("float32", "float16", "int8"), 3: ("float32",)}


def main():
    """Build, save and export every variant into FOLDER."""
    import keras
    import numpy as np

    from bgseg.export import QuantizationConfig, export_tflite
    from tests.helpers import tiny_hourglass

    FOLDER.mkdir(parents=True, exist_ok=True)
    configs = {
        "float32": QuantizationConfig.float32(),
        "float16": QuantizationConfig.float16(),
        "int8": QuantizationConfig.int8(io_type="int8", representative_samples=4),
    }
    for channels, modes in VARIANTS.items():
        keras.utils.set_random_seed(channels)
        model = tiny_hourglass(64, channels)
        _save_deflated(model, FOLDER / f"tiny{channels}.keras")
        data = np.random.default_rng(0).random((4, 64, 64, channels), np.float32)
        for mode in modes:
            path = FOLDER / f"tiny{channels}_{mode}.tflite"
            export_tflite(model, path, configs[mode],
                          representative_data=data if mode == "int8" else None, overwrite=True)
            _report(path)
    _export_contract_breakers(keras, export_tflite, QuantizationConfig.float32())


def _export_contract_breakers(keras, export_tflite, float32):
    """Two models the runtime must refuse: a 2-channel output and logits (a sigmoid-free head)."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 4], tf.float32)])
    def two_channels(x):
        return tf.sigmoid(x[..., :2])

    path = FOLDER / "two_channels.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions(
        [two_channels.get_concrete_function()]).convert())
    _report(path)
    inputs = keras.Input((32, 32, 3))
    logits = keras.layers.Conv2D(1, 1, bias_initializer=keras.initializers.Constant(4.0))(inputs)
    path = FOLDER / "logits.tflite"
    export_tflite(keras.Model(inputs, logits), path, float32, overwrite=True)
    _report(path)


def _report(path):
    print(f"{path.relative_to(FOLDER.parents[2])}: {path.stat().st_size} bytes")


def _save_deflated(model, path):
    """`model.save(path)`, its zip recompressed (Keras stores it uncompressed: 560 KB -> 46 KB)."""
    import zipfile

    stored = path.with_suffix(".stored.keras")
    model.save(stored)
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(
            path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry))
    stored.unlink()


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(FOLDER.parents[2]))  # `tests.helpers` from any working folder
    main()
