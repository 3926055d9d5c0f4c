"""Side-by-side benchmark: a bgseg .tflite model vs MediaPipe's selfie segmenter.

Both models run through the project's TFLite runner (`bgseg.runtime.TFLiteModel`) with the same
threads, on the same held-out frames of ../shared/data (split "val" + "test" of
`bgseg.data.split`), with the same pre-processing: the RGB frame stretched bilinearly to the
model's HxW, scaled to [0, 1]; the output probability resized bilinearly back to the frame and
thresholded at 0.5. A 4-channel bgseg model gets its previous output as the prior mask on video
(zeros on a first frame and on still images). This is the raw model: no post-processing;
`--with-runtime` adds the same model through the shipped runtime.

    python -m benchmarks.compare_mediapipe --model model.tflite \
        --markdown out.md --json out.json --overlays out_overlays/

Roles: `runners` (the models), `protocol` (how data is run), `overlays`, `tables`, `heldout`
(the data). See docs/benchmarks.md ("Side by side with MediaPipe") for the metrics.
"""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import cv2

from benchmarks import heldout
from benchmarks.overlays import WorstItems
from benchmarks.protocol import run_clips, run_image_set, run_videos
from benchmarks.runners import THRESHOLD, BlazePoseModel, RawModel, RuntimeModel, RVMModel
from benchmarks.tables import markdown_table

DEFAULT_MEDIAPIPE_PYTHON = heldout.REPOSITORY / ".venv-mediapipe" / "bin" / "python"
DEFAULT_RVM = heldout.REPOSITORY.parent / "shared" / "peers" / "rvm_mobilenetv3.onnx"
DEFAULT_MEDIAPIPE = (heldout.REPOSITORY / ".venv-mediapipe" / "lib" / "python3.11" / "site-packages"
                     / "mediapipe"
                     / "modules" / "selfie_segmentation" / "selfie_segmentation.tflite")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the bgseg .tflite model")
    p.add_argument(
        "--name", default="bgseg", help="column name of the bgseg model (default: bgseg)"
    )
    p.add_argument("--without-feedback", action="store_true",
                   help="add a column for the same model given an empty prior on every frame "
                        "(tells what the fed-back mask adds or costs)")
    p.add_argument("--also", nargs="+", default=[], metavar="NAME=PATH",
                   help="more .tflite models for more columns (e.g. the converted original)")
    p.add_argument("--mediapipe", default=str(DEFAULT_MEDIAPIPE),
                   help="MediaPipe selfie_segmentation.tflite (default: the one inside "
                        ".venv-mediapipe, from the mediapipe==0.10.21 wheel)")
    p.add_argument("--rvm", default=str(DEFAULT_RVM),
                   help="Robust Video Matting as ONNX, a peer column (GPL-3.0: measured against "
                        "only; default: ../shared/peers/rvm_mobilenetv3.onnx; needs onnxruntime, "
                        "the [bench] extra)")
    p.add_argument("--no-rvm", dest="rvm", action="store_const", const=None,
                   help="leave out the RVM column (it costs ~150-400 ms per frame)")
    p.add_argument("--blazepose", nargs="?", const=str(DEFAULT_MEDIAPIPE_PYTHON), default=None,
                   metavar="PYTHON",
                   help="add BlazePose's segmentation (MediaPipe pose, video mode) as a peer "
                        "column, run by this MediaPipe environment's python (default when given "
                        "alone: .venv-mediapipe/bin/python, see tflite/setup_mediapipe_venv.sh)")
    p.add_argument("--data", default=str(heldout.DEFAULT_DATA),
                   help="the shared data folder (default: ../shared/data)")
    p.add_argument(
        "--sets",
        nargs="+",
        default=[*heldout.IMAGE_SETS, "davis", "videos"],
        choices=[*heldout.IMAGE_SETS, *heldout.EXTRA_IMAGE_SETS, "davis", "videos"],
        help="what to measure (default: all but coco_mini, the held-out multi-person COCO "
             "photos)",
    )
    p.add_argument("--split", choices=("val", "test", "both"), default="both",
                   help="held-out split(s) to measure: val to choose between candidates, test for "
                        "an untouched report (default: both)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many held-out images per image set and frames per DAVIS clip")
    p.add_argument("--video-frames", type=int, default=150,
                   help="frames read from each unlabelled video (default: 150)")
    p.add_argument(
        "--threads", type=int, default=2, help="interpreter threads for both models (default: 2)"
    )
    p.add_argument("--with-runtime", action="store_true",
                   help="add a column for the model through bgseg.runtime.VideoSegmenter with its "
                        "post-processing (guided-filter refinement)")
    p.add_argument("--no-zoom", dest="zoom", action="store_false",
                   help="the --with-runtime columns without the runtime's zoom on the people")
    p.add_argument("--runtime-also", nargs="+", default=[], metavar="NAME=PATH",
                   help="more .tflite models through the runtime, as --with-runtime (e.g. the "
                        "converted original, to tell the runtime's gain from the weights')")
    p.add_argument("--zoom-margin", type=float, default=0.15, metavar="M",
                   help="the runtime's zoom margin in the --with-runtime columns (a fraction of "
                        "the people's box; default: 0.15, the runtime's default)")
    p.add_argument("--zoom-people", type=int, default=4, metavar="N",
                   help="still photos in the --with-runtime columns: closer looks for up to N "
                        "separate people (default: 4, the runtime's default; 0: off)")
    p.add_argument("--sharpen", type=float, default=2.0,
                   help="the runtime's output sharpening in the --with-runtime columns (1: off; "
                        "default: 2, the runtime's default)")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="the --with-runtime columns with (--flip) or without (--no-flip) the "
                        "mirrored looks (default: the runtime's: photos on, video off)")
    p.add_argument("--smoothing", type=float, default=1.0,
                   help="temporal smoothing of the --with-runtime columns (default: 1, the "
                        "runtime's default; 0: off)")
    p.add_argument("--no-motion", dest="motion", action="store_false",
                   help="the --with-runtime columns without motion compensation")
    p.add_argument("--markdown", help="also write the markdown table to this file")
    p.add_argument(
        "--json", help="write all results (per set, clip and video) as JSON to this file"
    )
    p.add_argument(
        "--overlays", help="folder for PNGs of the worst items (by the bgseg model's IoU)"
    )
    p.add_argument("--worst", type=int, default=4, help="overlays per set (default: 4)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    if args.video_frames < 2:
        p.error("--video-frames must be at least 2")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    for option in ("markdown", "json"):
        path = getattr(args, option)
        if path and Path(path).exists() and not args.overwrite:
            p.error(f"--{option}: {path} exists (pass --overwrite to replace it)")
    if args.overlays and Path(args.overlays).exists() and any(Path(args.overlays).iterdir()) \
            and not args.overwrite:
        p.error(f"--overlays: {args.overlays} is not empty (pass --overwrite to write into it)")
    if args.name.startswith("MediaPipe"):
        p.error("--name must not start with 'MediaPipe'")
    return args


def named_paths(option, specs):
    """(name, path) of each NAME=PATH value of `option`; ValueError naming a malformed one."""
    for spec in specs:
        name, _, path = spec.partition("=")
        if not path:
            raise ValueError(f"{option} {spec!r}: expected NAME=PATH")
        yield name, path


def main(argv=None):
    args = parse_args(argv)
    splits = heldout.splits_of(args.split)
    command = shlex.join(["python", "-m", "benchmarks.compare_mediapipe",
                          *(sys.argv[1:] if argv is None else argv)])
    data = Path(args.data)
    if not data.is_dir():
        raise SystemExit(f"error: data folder not found: {data} (see the data README)")
    if not Path(args.mediapipe).is_file():
        raise SystemExit(
            f"error: MediaPipe model not found: {args.mediapipe}\n"
            "install it with: python -m venv .venv-mediapipe && "
            ".venv-mediapipe/bin/pip install mediapipe==0.10.21, or pass --mediapipe PATH"
        )
    runtime_options = {"zoom": args.zoom, "sharpen": args.sharpen, "motion": args.motion,
                       "zoom_people": args.zoom_people, "zoom_margin": args.zoom_margin,
                       **({} if args.flip is None else {"flip": args.flip})}
    try:
        models = [RawModel(args.name, args.model, args.threads)]
        if args.without_feedback:
            models.append(RawModel(f"{args.name} (zero prior)", args.model, args.threads,
                                      feedback=False))
        if args.with_runtime:
            models.append(RuntimeModel(f"{args.name} + runtime", args.model, args.threads,
                                       args.smoothing, **runtime_options))
        for name, path in named_paths("--also", args.also):
            models.append(RawModel(name, path, args.threads))
        for name, path in named_paths("--runtime-also", args.runtime_also):
            models.append(RuntimeModel(f"{name} + runtime", path, args.threads, args.smoothing,
                                       **runtime_options))
        if args.rvm:
            models.append(RVMModel("RVM", args.rvm, args.threads))
        if args.blazepose:
            models.append(BlazePoseModel("BlazePose", args.blazepose, args.threads))
        models.append(RawModel("MediaPipe", args.mediapipe, args.threads))
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    report = {"command": command, "threads": args.threads, "threshold": THRESHOLD,
              "models": [m.describe() for m in models], "images": {}}
    worst = {}
    started = time.perf_counter()
    readers = {"celebamask": lambda: heldout.folder_pairs(data / "celebamask", args.limit, splits),
               "ccp": lambda: heldout.folder_pairs(data / "ccp", args.limit, splits),
               "coco_person": lambda: heldout.coco_person(data / "coco_person", args.limit,
                                                          splits),
               "coco_mini": lambda: heldout.coco_mini(data / "coco_mini", args.limit, splits)}
    for set_name in (*heldout.IMAGE_SETS, *heldout.EXTRA_IMAGE_SETS):
        if set_name in args.sets:
            worst[set_name] = WorstItems(args.worst if args.overlays else 0)
            report["images"][set_name] = run_image_set(models, readers[set_name](), worst[set_name])
            _progress(set_name, report["images"][set_name], started)
    if "davis" in args.sets:
        root = data / "davis_train"
        report["davis_clips"] = heldout.davis_clips(root, splits)
        worst["davis"] = WorstItems(args.worst if args.overlays else 0)
        clips = {c: heldout.davis_frames(root, c, args.limit) for c in report["davis_clips"]}
        report["davis"], report["davis_per_clip"] = run_clips(models, clips, worst["davis"])
        _progress("davis", report["davis"], started)
    if "videos" in args.sets:
        videos = sorted((data / "videos").glob("*.mp4"))
        if not videos:
            raise SystemExit(f"error: no .mp4 files in {data / 'videos'}")
        report["videos"], report["videos_per_file"] = run_videos(models, videos, args.video_frames)
        _progress("videos", report["videos"], started)
    report["timing"] = {m.name: m.timing() for m in models}
    theirs = report["timing"]["MediaPipe"]
    report["ratios"] = {m.name: {"invoke_time": report["timing"][m.name]["median_invoke_ms"]
                                 / theirs["median_invoke_ms"],
                                 "fps": report["timing"][m.name]["fps"] / theirs["fps"]}
                        for m in models[:-1]}
    report["seconds"] = time.perf_counter() - started

    table = markdown_table(report)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.overlays:
        out = Path(args.overlays)
        out.mkdir(parents=True, exist_ok=True)
        for set_name, items in worst.items():
            for rank, (_score, key, picture) in enumerate(items.items()):
                name = f"{set_name}_{rank:02d}_{key.replace('/', '_')}.png"
                cv2.imwrite(str(out / name), picture)
    return 0


def _progress(name, result, started):
    print(
        f"[{time.perf_counter() - started:6.1f}s] {name}: "
        + ", ".join(
            f"{model} IoU {r['iou']:.3f}"
            if r.get("iou") is not None
            else f"{model} flips {100 * r.get('flip_rate', float('nan')):.3f}%"
            for model, r in result.items()
        ),
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
