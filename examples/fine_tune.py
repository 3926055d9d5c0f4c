"""Fine-tune the shipped video model on your own images and masks, then export and run it.

    python examples/fine_tune.py --train my_data/train --val my_data/val --output runs/my_model

Each folder holds `images/<name>.jpg` and `masks/<name>.png` (person > 0). Without `--val`, 20 % of
`--train` (by a hash of the file name) is held out for validation. The script prints the held-out
IoU of the shipped model, fine-tunes it (previous-mask augmentation and on-policy priors on, so the
result is still a video model; the encoder frozen for the first epoch), prints the IoU again,
exports a float16 `.tflite` and prints the `bgseg video` command that uses it. Nothing existing is
overwritten: `--output` must be new (or the same run, which is then resumed).
"""

import argparse
import sys
from pathlib import Path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", required=True, help="folder with images/ and masks/ to train on")
    p.add_argument("--val", help="folder with images/ and masks/ to validate on (default: 20%% of "
                                 "--train)")
    p.add_argument("--output", required=True, help="run folder (the .keras models and the .tflite)")
    p.add_argument("--init-from", default="default_video",
                   help="pretrained name or .keras model to start from (default: default_video)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--images-per-epoch", type=int, default=400)
    p.add_argument("--size", type=int, default=256, help="model input size (multiple of 16)")
    return p.parse_args()


def recipe_for(args):
    """A recipe (`bgseg.training.config.Recipe`) for the user's folders."""
    from bgseg.training.config import Recipe

    sources = [{"type": "folder", "path": args.train, "name": "train",
                "split": "train" if args.val else {"train": 0.8, "val": 0.2}}]
    if args.val:
        sources.append({"type": "folder", "path": args.val, "name": "val", "split": "val"})
    return Recipe.from_dict({
        "name": Path(args.output).name, "model": "selfie_256", "init_from": args.init_from,
        "model_kwargs": {"input_shape": [args.size, args.size, 4]},
        "epochs": args.epochs, "images_per_epoch": args.images_per_epoch, "batch_size": 8,
        "lr": 1e-4, "loss": "bce_iou", "val_images": 64, "plot_images": 4,
        "freeze_prefixes": ["stem_", "enc"], "freeze_epochs": 1,
        "sources": sources,
        "augment": {"stretch": 0.5, "val_full_frame": True, "on_policy": 0.3,
                    "prev_mask": {"empty": 0.3, "small": 0.3, "large": 0.15, "tps": 0.1,
                                  "distractor": 0.15}},
    })


def held_out_iou(model, folder, fractions):
    """Mean IoU (threshold 0.5, empty prior, full frame stretched to the model) on the validation
    items of `folder`."""
    import cv2
    import numpy as np

    from bgseg.data.folders import folder_items, read_image, read_mask
    from bgseg.data.split import split_of
    from bgseg.evaluation import iou

    _, height, width, channels = model.input_shape
    scores = []
    for item in folder_items(folder):
        if split_of(item.key, fractions) != "val":
            continue
        image = read_image(item.image)
        truth = read_mask(item.mask, (image.shape[1], image.shape[0])) > 127
        x = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) / np.float32(255)
        x = np.concatenate([x, np.zeros((height, width, channels - 3))], axis=-1)
        prob = model.predict(x[None].astype("float32"), verbose=0)[0, ..., 0]
        prob = cv2.resize(prob, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        scores.append(iou(prob > 0.5, truth))
    if not scores:
        raise SystemExit(f"error: no validation images in {folder}")
    return float(np.mean(scores))


def main():
    args = parse_args()
    try:
        import keras

        from bgseg.export import QuantizationConfig, export_tflite
        from bgseg.models.pretrained import check_model_source
        from bgseg.training.trainer import RunDirError, initial_model, train
    except ImportError as error:
        from bgseg.install import install_command

        raise SystemExit(f"error: {error.name} is missing: {install_command('train')}") from None
    try:
        check_model_source(args.init_from)
        recipe = recipe_for(args)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    val_folder = args.val or args.train
    fractions = recipe.sources[-1].fractions()
    before = held_out_iou(initial_model(recipe, log=lambda _: None), val_folder, fractions)
    print(f"held-out IoU before fine-tuning: {before:.3f}")
    try:
        run = train(recipe, output=args.output, verbose=2)
    except (FileNotFoundError, ValueError, RunDirError) as error:
        raise SystemExit(f"error: {error}") from None
    tuned = keras.models.load_model(run / "best.keras", compile=False)
    print(f"held-out IoU after fine-tuning: {held_out_iou(tuned, val_folder, fractions):.3f} "
          f"(before {before:.3f})")
    tflite = run / "model_float16.tflite"
    if not tflite.exists():
        export_tflite(
            tuned,
            tflite,
            QuantizationConfig.float16(),
            metadata={"training_data": f"fine-tuned from {args.init_from} on {args.train}"},
        )
    print(f"exported {tflite}\nrun it:  bgseg video IN.mp4 -o OUT.mp4 --model {tflite}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
