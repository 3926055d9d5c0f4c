"""Temporal stability of the runtime's options, side by side on held-out video.

Each `--variant NAME:OPTIONS` is the model through `bgseg.runtime.VideoSegmenter` with those
options (`key=value` joined by commas: `smoothing=0.7,motion=1,zoom=0`); every variant, and the
peers (`--rvm`, MediaPipe's raw model), see the same held-out DAVIS clips (IoU, dtSSD, steady-pixel
flips) and unlabelled videos (flips, mean change), frame by frame, with ms per frame.

    python -m benchmarks.temporal_options --model tflite/bgseg_video_256_float16.tflite \\
        --variant today: --variant motion:motion=1 --variant motion_smooth:motion=1,smoothing=0.7 \\
        --split val --json out.json
"""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from benchmarks import heldout
from benchmarks.compare_mediapipe import DEFAULT_MEDIAPIPE_PYTHON, DEFAULT_RVM
from benchmarks.overlays import WorstItems
from benchmarks.protocol import run_clips, run_videos
from benchmarks.runners import BlazePoseModel, RawModel, RuntimeModel, RVMModel


def _flag(value):
    return bool(int(value))


OPTION_TYPES = {"smoothing": float, "motion": _flag, "zoom": _flag, "refine": _flag,
                "sharpen": float, "redetect": int, "zoom_margin": float, "hysteresis": float,
                "planes": _flag, "yuv420": _flag, "flip": _flag}


def parse_variant(spec):
    """`NAME:key=value,...` -> (name, options); ValueError naming what is wrong."""
    name, sep, rest = spec.partition(":")
    if not sep or not name:
        raise ValueError(f"--variant {spec!r}: expected NAME:key=value,... (options may be empty)")
    options = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in OPTION_TYPES:
            raise ValueError(f"--variant {spec!r}: unknown option {item!r} "
                             f"(known: {', '.join(OPTION_TYPES)})")
        options[key] = OPTION_TYPES[key](value)
    return name, options


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the bgseg .tflite model")
    p.add_argument("--variant", action="append", required=True, metavar="NAME:OPTIONS",
                   help="a runtime configuration to measure (repeat)")
    p.add_argument("--rvm", default=str(DEFAULT_RVM),
                   help="Robust Video Matting ONNX for a peer column (GPL-3.0: measured only)")
    p.add_argument("--no-rvm", dest="rvm", action="store_const", const=None)
    p.add_argument("--blazepose", nargs="?", const=str(DEFAULT_MEDIAPIPE_PYTHON), default=None,
                   metavar="PYTHON", help="add BlazePose as a peer column (see compare_mediapipe)")
    p.add_argument("--mediapipe", default=str(heldout.REPOSITORY / "tests" / "data"
                                              / "mediapipe_selfie_segmentation.tflite"),
                   help="MediaPipe's selfie_segmentation.tflite (raw, a peer column)")
    p.add_argument("--data", default=str(heldout.DEFAULT_DATA))
    p.add_argument("--split", choices=("val", "test", "both"), default="val")
    p.add_argument("--video-frames", type=int, default=150)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write the results (with per-frame series) to this file")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    try:
        args.variants = [parse_variant(v) for v in args.variant]
    except ValueError as error:
        p.error(str(error))
    if args.json and Path(args.json).exists() and not args.overwrite:
        p.error(f"--json: {args.json} exists (pass --overwrite to replace it)")
    return args


def main(argv=None):
    args = parse_args(argv)
    splits = heldout.splits_of(args.split)
    data = Path(args.data)
    models = [RuntimeModel(name, args.model, args.threads, **options)
              for name, options in args.variants]
    if args.rvm:
        models.append(RVMModel("RVM", args.rvm, args.threads))
    if args.blazepose:
        models.append(BlazePoseModel("BlazePose", args.blazepose, args.threads))
    models.append(RawModel("MediaPipe", args.mediapipe, args.threads))
    started = time.perf_counter()
    root = data / "davis_train"
    clips = {c: heldout.davis_frames(root, c) for c in heldout.davis_clips(root, splits)}
    davis, per_clip = run_clips(models, clips, WorstItems(0))
    videos, per_video = run_videos(models, sorted((data / "videos").glob("*.mp4")),
                                   args.video_frames)
    report = {"command": shlex.join(["python", "-m", "benchmarks.temporal_options",
                                     *(sys.argv[1:] if argv is None else argv)]),
              "split": args.split, "models": [m.describe() for m in models],
              "davis": davis, "davis_per_clip": per_clip, "videos": videos,
              "videos_per_file": per_video, "timing": {m.name: m.timing() for m in models},
              "seconds": time.perf_counter() - started}
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def table(report):
    """Markdown: one row per model."""
    lines = [f"Command: `{report['command']}`", "",
             "| model | DAVIS IoU | DAVIS dtSSD | DAVIS steady-pixel flips % | video flips % | "
             "video mean change x100 | ms / frame |", "|---|---|---|---|---|---|---|"]
    for model in report["models"]:
        name = model["name"]
        d, v, t = report["davis"][name], report["videos"][name], report["timing"][name]
        lines.append(f"| {name} | {d['iou']:.3f} | {d['dtssd']:.2f} | "
                     f"{100 * d['unstable_flip_rate']:.3f} | {100 * v['flip_rate']:.3f} | "
                     f"{100 * v['mean_abs_change']:.3f} | {t['mean_frame_ms']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
