"""Blend a fine-tuned model with the model it started from in weight space (WiSE-FT).

    python training/interpolate.py runs/selfie_video/best.keras --original mediapipe_selfie \
        --alpha 0.6 -o runs/selfie_video/wise_0.6.keras

`--original` is a pretrained name or a `.keras` model; its weights are moved into `tuned`'s
architecture first (a 3-channel original gets a zero previous-mask slice), so `alpha=0` is exactly
the original.
"""

import argparse

import keras

from bgseg import losses, metrics  # noqa: F401 - registers the custom objects
from bgseg.models.pretrained import load_model_source
from bgseg.models.transfer import interpolate_weights, transfer_weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tuned", help="the fine-tuned .keras model")
    parser.add_argument("--original", required=True, help="pretrained name or .keras model")
    parser.add_argument("--alpha", type=float, required=True, help="weight of the fine-tune")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    tuned = keras.models.load_model(args.tuned, compile=False)
    original = keras.models.clone_model(tuned)  # the same architecture, to receive the original
    report = transfer_weights(load_model_source(args.original), original, zero_new_channels=True)
    if report["skipped"]:
        raise SystemExit(f"error: {args.original} has no weights for {report['skipped']}")
    interpolate_weights(tuned, original, args.alpha).save(args.output)
    print(f"wrote {args.output} (alpha {args.alpha})")


if __name__ == "__main__":
    main()
