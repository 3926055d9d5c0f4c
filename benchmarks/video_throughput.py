"""Frames/s of `bgseg video` end to end at 480p, 720p, 1080p, and where the time goes.

    python -m benchmarks.video_throughput --frames 60 --before /tmp/bgseg-v030 \
        --json docs/results/video_throughput.json

Makes each clip by resizing the first `--frames` frames of ../shared/data/videos/juggle.mp4
(H.264, its timestamps and no audio). For `--blur 25` (to .mp4) and `--alpha` (to .webm; v0.3.0
cannot write alpha, so `--mask-only` there) it times, as a user runs them (process start and model
load included): the PyAV driver of this checkout ("after") and, with `--before`, the OpenCV path
of an older checkout's CLI ("before", e.g. `git worktree add /tmp/bgseg-v030 06ecf31`). It also
runs the driver in-process with each stage timed: decode and encode (their own threads), segment
(model + post-processing) and effect, as shares of the busy time of all stages; decode and encode
overlap the model, so end-to-end time is less than their sum.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import heldout

SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
SOURCE = heldout.DEFAULT_DATA / "videos" / "juggle.mp4"  # ../shared/data next to the checkout
MODES = {"blur": (["--blur", "25"], ".mp4", ["--blur", "25"]),
         "alpha": (["--alpha"], ".webm", ["--mask-only"])}


def make_clip(path, size, frames):
    """The first `frames` frames of SOURCE resized to `size`, as H.264 MP4."""
    import av

    with av.open(str(SOURCE)) as source, av.open(str(path), "w") as target:
        stream = source.streams.video[0]
        out = target.add_stream("libx264", rate=stream.average_rate)
        out.width, out.height, out.pix_fmt = *size, "yuv420p"
        out.options = {"crf": "20", "preset": "veryfast"}
        for index, frame in enumerate(source.decode(stream)):
            if index >= frames:
                break
            resized = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            resized.pts = None
            target.mux(out.encode(resized))
        target.mux(out.encode(None))
    return path


def end_to_end(checkout, clip, output, options):
    """Seconds for `python -m bgseg video` of `checkout` (None: this one) on `clip`."""
    env = dict(os.environ)
    if checkout:
        env["PYTHONPATH"] = str(checkout)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bgseg", "video", str(clip), "-o", str(output),
                    "--overwrite", *options], check=True, env=env, capture_output=True,
                   cwd=checkout or None)
    return time.perf_counter() - start


def staged(clip, output, options):
    """(frames/s, {stage: share}) of the driver run in-process (model loaded beforehand)."""
    from bgseg.cli import build_parser
    from bgseg.commands import common
    from bgseg.runtime import stream

    args = build_parser().parse_args(["video", str(clip), "-o", str(output), *options])
    segmenter = common.open_segmenter(args, "video")
    effect = common.make_effect(args, common.DEFAULT_VIDEO_BACKGROUND)
    spent = {"segment": 0.0, "effect": 0.0}

    def timed(name, function):
        def run(*values):
            start = time.perf_counter()
            result = function(*values)
            spent[name] += time.perf_counter() - start
            return result
        return run

    segmenter.segment = timed("segment", segmenter.segment)
    with segmenter, effect:
        result = stream.segment_video(clip, output, segmenter, timed("effect", effect),
                                      overwrite=True, alpha=bool(args.alpha))
    busy = {"decode": result.times.decode, **spent, "encode": result.times.encode}
    total = sum(busy.values())
    return result.frames / result.seconds, {k: round(v / total, 3) for k, v in busy.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--before", type=Path, default=None,
                        help="an older checkout whose CLI is timed end to end")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bgseg-video-bench-") as folder:
        folder = Path(folder)
        for name in args.sizes:
            clip = make_clip(folder / f"{name}.mp4", SIZES[name], args.frames)
            for mode, (options, suffix, old_options) in MODES.items():
                row = {"size": name, "mode": mode, "frames": args.frames}
                seconds = end_to_end(None, clip, folder / f"after{suffix}", options)
                row["after_fps"] = round(args.frames / seconds, 1)
                if args.before:
                    old = end_to_end(args.before, clip.resolve(), folder / "before.mp4",
                                     old_options)
                    row["before_fps"] = round(args.frames / old, 1)
                fps, shares = staged(clip, folder / f"staged{suffix}", options)
                row.update(driver_fps=round(fps, 1), shares=shares)
                row["after_bytes"] = (folder / f"after{suffix}").stat().st_size
                row["input_bytes"] = clip.stat().st_size
                print(json.dumps(row), flush=True)
                rows.append(row)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
