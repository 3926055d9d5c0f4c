"""Register a trained Keras model as pretrained weights of the package (`bgseg/assets/<name>.keras`
plus its SHA-256 in `bgseg/assets/pretrained.json`), converting it to another preset first.

    python training/register.py runs/selfie_video/best.keras --name default_video \
        --preset selfie_256 --license "..." --description "..."

With a preset of fewer input channels (e.g. `selfie_image_256` from a video model), the weights
are transferred and the previous-mask channel dropped (`bgseg.models.transfer`).
"""

import argparse

import keras

from bgseg import losses, metrics  # noqa: F401 - registers the custom objects
from bgseg.models import build_model
from bgseg.models.pretrained import register
from bgseg.models.transfer import transfer_weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the trained .keras model")
    parser.add_argument("--name", required=True)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--license", required=True)
    parser.add_argument("--description", required=True)
    args = parser.parse_args()
    source = keras.models.load_model(args.model, compile=False)
    model = build_model(args.preset, name=args.preset)
    report = transfer_weights(source, model)
    if report["skipped"]:
        raise SystemExit(f"error: {args.model} has no weights for {report['skipped']}")
    path = register(args.name, model, args.preset, args.license, args.description)
    print(f"registered {args.name}: {path} ({args.preset}, partial layers: {report['partial']})")


if __name__ == "__main__":
    main()
