"""Frames/s of `bgseg video` end to end at 480p, 720p, 1080p, and where the time goes.

    python -m benchmarks.video_throughput --frames 60 --before /tmp/bgseg-v030 \
        --json docs/results/video_throughput.json

Makes each clip by resizing the first `--frames` frames of ../shared/data/videos/juggle.mp4
(H.264, its timestamps and no audio). For `--blur 25` (to .mp4) and `--alpha` (to .webm) it times,
as a user runs them (process start and model load included): the PyAV driver of this checkout
("after") and, with `--before`, an older checkout's CLI ("before"): by default with v0.3.0's
options (its OpenCV path cannot write alpha, so `--mask-only` there; e.g.
`git worktree add /tmp/bgseg-v030 06ecf31`), with `--before-same` with the same options (a
checkout with the PyAV driver). It also runs each checkout's driver in-process with the model
loaded (`staged` of that checkout's copy of this file) with each stage timed: decode and encode
(their own threads), segment (model + post-processing) and effect, as shares of the busy time of
all stages (decode and encode overlap the model, so end-to-end time is less than their sum), and
the process CPU time per frame (all threads: FFmpeg's and x264's included), which bounds the
frames/s that a number of free cores allows.
"""

import argparse
import json
import os
import resource
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


def _env(checkout):
    env = dict(os.environ)
    if checkout:
        env["PYTHONPATH"] = str(checkout)
    return env


def end_to_end(checkout, clip, output, options):
    """(seconds, CPU seconds of all its threads) for `python -m bgseg video` of `checkout` (None:
    this one) on `clip`."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bgseg", "video", str(clip), "-o", str(output),
                    "--overwrite", *options], check=True, env=_env(checkout), capture_output=True,
                   cwd=checkout or None)
    seconds = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime


def staged_in(checkout, clip, output, options):
    """`staged` of `checkout`'s copy of this benchmark, in a fresh process: (frames/s, shares,
    CPU ms per frame or None where that copy does not measure it)."""
    code = ("import json, sys; from benchmarks.video_throughput import staged; "
            "print(json.dumps(staged(sys.argv[1], sys.argv[2], sys.argv[3:])))")
    done = subprocess.run([sys.executable, "-c", code, str(clip), str(output), *options],
                          check=True, env=_env(checkout), capture_output=True, text=True,
                          cwd=checkout or None)
    values = json.loads(done.stdout.strip().splitlines()[-1])
    return values[0], values[1], values[2] if len(values) > 2 else None


def staged(clip, output, options):
    """(frames/s, {stage: share}, process CPU ms per frame) of the driver run in-process (model
    loaded beforehand)."""
    from bgseg.cli import build_parser
    from bgseg.commands import common
    from bgseg.runtime import stream

    args = build_parser().parse_args(["video", str(clip), "-o", str(output), *options])
    segmenter = common.open_segmenter(args, "video")
    effect = common.make_effect(args, common.DEFAULT_VIDEO_BACKGROUND)
    spent = {"segment": 0.0}

    def timed(function):
        def run(*values, **options):
            start = time.perf_counter()
            result = function(*values, **options)
            spent["segment"] += time.perf_counter() - start
            return result
        return run

    # the effect is timed by the driver itself (StageTimes.effect) and passed as it is, so that
    # the driver takes the same path as `bgseg video` (the YUV composite for an Effect on H.264)
    segmenter.segment = timed(segmenter.segment)
    cpu = time.process_time()
    with segmenter, effect:
        result = stream.segment_video(clip, output, segmenter, effect,
                                      overwrite=True, alpha=bool(args.alpha))
    cpu = time.process_time() - cpu
    busy = {"decode": result.times.decode, **spent, "effect": result.times.effect,
            "encode": result.times.encode}
    total = sum(busy.values())
    return (result.frames / result.seconds, {k: round(v / total, 3) for k, v in busy.items()},
            round(1e3 * cpu / result.frames, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--before", type=Path, default=None,
                        help="an older checkout whose CLI and driver are timed too")
    parser.add_argument("--before-same", action="store_true",
                        help="give --before the same options (else v0.3.0's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="interpreter threads for both checkouts (default: theirs)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    extra = [] if args.threads is None else ["--threads", str(args.threads)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bgseg-video-bench-") as folder:
        folder = Path(folder)
        for name in args.sizes:
            clip = make_clip(folder / f"{name}.mp4", SIZES[name], args.frames)
            for mode in args.modes:
                options, suffix, old_options = MODES[mode]
                options = options + extra
                old_options = (options if args.before_same else old_options + extra)
                row = {"size": name, "mode": mode, "frames": args.frames}
                seconds, cpu = end_to_end(None, clip, folder / f"after{suffix}", options)
                row.update(after_fps=round(args.frames / seconds, 1),
                           after_cpu_ms=round(1e3 * cpu / args.frames, 1))
                fps, shares, cpu_ms = staged_in(None, clip.resolve(), folder / f"staged{suffix}",
                                                options)
                row.update(driver_fps=round(fps, 1), shares=shares, driver_cpu_ms=cpu_ms)
                if args.before:
                    before_out = folder / f"before{suffix if args.before_same else '.mp4'}"
                    old, cpu = end_to_end(args.before, clip.resolve(), before_out, old_options)
                    row.update(before_fps=round(args.frames / old, 1),
                               before_cpu_ms=round(1e3 * cpu / args.frames, 1))
                    if args.before_same:
                        fps, shares, cpu_ms = staged_in(args.before, clip.resolve(),
                                                        folder / f"before_staged{suffix}",
                                                        old_options)
                        row.update(before_driver_fps=round(fps, 1), before_shares=shares,
                                   before_driver_cpu_ms=cpu_ms)
                    row["before_bytes"] = before_out.stat().st_size
                row["after_bytes"] = (folder / f"after{suffix}").stat().st_size
                row["input_bytes"] = clip.stat().st_size
                print(json.dumps(row), flush=True)
                rows.append(row)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
