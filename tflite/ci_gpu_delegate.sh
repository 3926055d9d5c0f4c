#!/usr/bin/env bash
# CI step: real TFLite GPU-delegate runs (OpenGL ES on Mesa llvmpipe, via MediaPipe Tasks) on every
# .tflite in tflite/ and on tiny freshly exported float16 and int8 models; and the checker must catch a
# model with an op the GPU delegate lacks. Run with bgseg's environment active. A few minutes at most.
set -euo pipefail
cd "$(dirname "$0")/.."
tflite/setup_mediapipe_venv.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python - "$work" <<'PY'
import sys, warnings
import numpy as np
import keras
import tensorflow as tf
from bgseg.export import QuantizationConfig, export_tflite
from bgseg.models import build_model

out = sys.argv[1]
keras.utils.set_random_seed(0)
model = build_model("hourglass_small_256", input_shape=(64, 64, 4), name="ci_tiny")
images = np.random.default_rng(0).random((8, 64, 64, 3), dtype=np.float32)
export_tflite(model, f"{out}/ci_tiny_float16.tflite", QuantizationConfig.float16())
export_tflite(model, f"{out}/ci_tiny_int8.tflite", QuantizationConfig.int8(representative_samples=8),
              representative_data=images)


class ArgMax(keras.layers.Layer):  # ARG_MAX: a TFLite builtin that the GPU delegate lacks
    def call(self, x):
        return tf.cast(tf.math.argmax(x, axis=-1), tf.float32)[..., None]


inputs = keras.Input((32, 32, 3))
bad = keras.Model(inputs, keras.layers.Multiply()([
    ArgMax()(keras.layers.Conv2D(2, 1)(inputs)), keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs)]))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    export_tflite(bad, f"{out}/bad/argmax.tflite", QuantizationConfig.float32(), allow_cpu_ops=True)
PY
shopt -s nullglob
# the released files on a real photo (a person, so the masks are not trivially empty)
.venv-mediapipe/bin/python tflite/gpu_delegate_check.py --reference-python "$(command -v python)" \
  --image examples/astronaut.jpg tflite/*.tflite
.venv-mediapipe/bin/python tflite/gpu_delegate_check.py --reference-python "$(command -v python)" \
  "$work"/ci_tiny_*.tflite
.venv-mediapipe/bin/python tflite/gpu_delegate_check.py --reference-python "$(command -v python)" \
  --expect-failure "$work"/bad/argmax.tflite
