"""Write the converted MediaPipe selfie segmenter as a pretrained Keras model of bgseg.

    python training/convert_mediapipe.py [--tflite PATH]

Reads `selfie_segmentation.tflite` from the `mediapipe==0.10.21` wheel (Apache-2.0; default: the
venv made by `tflite/setup_mediapipe_venv.sh`), converts it with `bgseg.models.convert_mediapipe`,
checks the Keras prediction against the `.tflite` on generated images, writes
`bgseg/assets/mediapipe_selfie.keras` (preset `selfie_image_256`) and records its SHA-256 in
`bgseg/assets/pretrained.json`.
"""

import argparse
from pathlib import Path

import numpy as np

from bgseg.export.parity import tflite_predict
from bgseg.models.convert_mediapipe import WHEEL_PATH, from_mediapipe
from bgseg.models.pretrained import register

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TFLITE = ROOT / ".venv-mediapipe/lib/python3.11/site-packages" / WHEEL_PATH
NAME = "mediapipe_selfie"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", default=str(DEFAULT_TFLITE))
    args = parser.parse_args()
    model = from_mediapipe(args.tflite, (256, 256, 3), name="selfie_image_256")
    images = np.random.default_rng(0).random((4, 256, 256, 3), dtype=np.float32)
    reference = tflite_predict(Path(args.tflite).read_bytes(), images)
    diff = np.abs(model.predict(images, verbose=0) - reference).max()
    if diff > 1e-3:
        raise SystemExit(f"conversion differs from the .tflite by {diff}")
    path = register(NAME, model, "selfie_image_256",
                    "Apache-2.0 (MediaPipe selfie segmentation model card)",
                    "MediaPipe's selfie segmenter (mediapipe==0.10.21), converted unmodified")
    print(f"wrote {path} ({model.count_params():,} parameters, max |diff| vs .tflite {diff:.2e})")


if __name__ == "__main__":
    main()
