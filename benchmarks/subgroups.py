"""IoU per subgroup of the held-out everyday photos (coco_person): how large the person is.

The shared data carry no skin-tone, age or gender labels; COCO's annotations do give each person's
size, one of the failure modes users meet (small people). Every coco_person photo has exactly one
annotated person (see the data README), so the groups are by that person's share of the photo:
small (< 5 %), medium (5-20 %), large (> 20 %).

Same models, pre-processing and threshold as `benchmarks.compare_mediapipe` (raw models;
`--with-runtime` adds the bgseg model through the runtime, zoom included):

    python -m benchmarks.subgroups --model tflite/bgseg_video_256_float16.tflite --with-runtime \\
        --also converted_original=tflite/mediapipe_selfie_256_float16.tflite --json out.json
"""

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks import heldout
from benchmarks.compare_mediapipe import DEFAULT_MEDIAPIPE, named_paths
from benchmarks.protocol import still
from benchmarks.runners import THRESHOLD, RawModel, RuntimeModel
from bgseg import evaluation

SIZES = (("small (< 5 %)", 0.0, 0.05), ("medium (5-20 %)", 0.05, 0.20),
         ("large (> 20 %)", 0.20, 1.01))


def groups_of(root):
    """{image id (str): size group} from the person annotations (the largest person counts)."""
    data = json.loads((Path(root) / "annotations" / "person_keypoints_val2017.json").read_text())
    person = {c["id"] for c in data["categories"] if c["name"] == "person"}
    largest = {}
    for ann in data["annotations"]:
        if ann["category_id"] in person:
            key = str(ann["image_id"])
            largest[key] = max(largest.get(key, 0.0), ann["area"])
    return {str(info["id"]): next(name for name, low, high in SIZES if low <= largest.get(
        str(info["id"]), 0.0) / (info["height"] * info["width"]) < high) for info in data["images"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the bgseg .tflite model")
    parser.add_argument("--name", default="bgseg")
    parser.add_argument("--also", nargs="+", default=[], metavar="NAME=PATH")
    parser.add_argument("--with-runtime", action="store_true",
                        help="add the bgseg model through bgseg.runtime (zoom, refinement)")
    parser.add_argument("--mediapipe", default=str(DEFAULT_MEDIAPIPE))
    parser.add_argument("--data", default=str(heldout.DEFAULT_DATA))
    parser.add_argument("--split", choices=("val", "test", "both"), default="both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the table as JSON here")
    args = parser.parse_args(argv)
    splits = heldout.splits_of(args.split)
    root = Path(args.data) / "coco_person"
    models = [RawModel(args.name, args.model, args.threads, feedback=False)]
    if args.with_runtime:
        models.append(RuntimeModel(f"{args.name} + runtime", args.model, args.threads, 0.0))
    models += [RawModel(name, path, args.threads, feedback=False)
               for name, path in named_paths("--also", args.also)]
    models.append(RawModel("MediaPipe", args.mediapipe, args.threads, feedback=False))
    groups = groups_of(root)
    scores = {}  # group -> model -> [IoU]
    for key, image, truth in heldout.coco_person(root, splits=splits):
        for model in models:
            model.reset()
            score = evaluation.iou(evaluation.binarize(still(model, image), THRESHOLD), truth)
            scores.setdefault(groups[key], {}).setdefault(model.name, []).append(score)
    rows = [{"group": group, "images": len(next(iter(scores[group].values()))),
             **{name: float(np.mean(v)) for name, v in scores[group].items()}}
            for group, _, _ in SIZES if group in scores]
    names = [m.name for m in models]
    print(f"coco_person held-out ({args.split}), IoU by the person's share of the photo\n")
    print("| person size | images | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for row in rows:
        print(f"| {row['group']} | {row['images']} | "
              + " | ".join(f"{row[n]:.3f}" for n in names) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "models": names, "rows": rows},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
