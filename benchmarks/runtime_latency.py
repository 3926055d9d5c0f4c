"""Per-frame latency of the bgseg runtime, split into pre-processing, invoke and post-processing.

    python -m benchmarks.runtime_latency --model bgseg/assets/default_video.tflite --threads 2

Runs `VideoSegmenter` (mask feedback) on a video file (`--video`, looped) or on synthetic frames of
`--size WxH`, discards `--warmup` frames, and prints median and p90 milliseconds of each stage, of
the effect (`--effect`, composited at full resolution) and of the whole frame, plus end-to-end
frames/s. Masks are asked for in the effect's `mask_dtype` (uint8) and freed memory is reused
(`bgseg.runtime.memory`), as the video driver (`bgseg.runtime.stream`) does. `preview_jpeg` (not in
`total`) is the JPEG encoding that `bgseg webcam --preview browser` adds per frame; the last line
sets the webcam path's per-frame cost against its 30 frames/s budget. `--planes` times the YUV
path that `bgseg video` takes for H.264 outputs instead (I420 frames; `yuv_to_rgb` is the
working-size RGB made from the planes; no preview JPEG). No TensorFlow is imported.
"""

import argparse
import json
import platform
import time

import cv2
import numpy as np

from bgseg import video_io
from bgseg.effects import Effect
from bgseg.runtime import VideoSegmenter, memory, stream


def _frames(args):
    """(frames, their YUV matrix or None for RGB frames)."""
    if args.video:
        reader = video_io.VideoReader(args.video, planar=args.planes)
        frames = [f for _, f in zip(range(args.frames), reader)]
        reader.close()
        if not frames:
            raise SystemExit(f"{args.video}: no readable frame")
        if args.planes and reader.matrix is None:
            raise SystemExit(f"{args.video}: not limited-range yuv420p; no YUV path")
        return frames, reader.matrix
    if args.planes:
        raise SystemExit("--planes needs --video")
    width, height = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height, width, 3), np.uint8)
    return [np.roll(base, 7 * i, axis=1) for i in range(8)], None


def _effect(spec):
    if spec == "none":
        return None
    if spec == "blur":
        return Effect(blur=15)
    if spec == "alpha":
        return Effect(alpha=True)
    return Effect(background=spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help=".tflite path or shipped name")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--video", help="a video file (default: synthetic frames)")
    parser.add_argument("--size", default="1280x720", help="synthetic frame size WxH")
    parser.add_argument("--frames", type=int, default=200, help="timed frames")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--zoom", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--sharpen", type=float, default=None,
                        help="output sharpening (1: off; default: the model's own, else 2)")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                        help="mirrored looks (default: the model's own, else off)")
    parser.add_argument("--smooth", type=float, default=1.0,
                        help="temporal smoothing ratio (default: 1, the runtime's)")
    parser.add_argument("--motion", action=argparse.BooleanOptionalAction, default=True,
                        help="motion compensation (default: on, the runtime's)")
    parser.add_argument("--effect", default="green",
                        help="none, blur, alpha or a --background value (default: green)")
    parser.add_argument("--reuse-memory", action=argparse.BooleanOptionalAction, default=True,
                        help="glibc malloc keeps freed frame buffers (the video driver's setting)")
    parser.add_argument("--planes", action="store_true",
                        help="the YUV path of `bgseg video` for H.264 (I420 frames, "
                             "stream.segment_planes, Effect.on_planes; no preview JPEG)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    if args.reuse_memory:
        memory.reuse_freed_memory()
    frames, matrix = _frames(args)
    segmenter = VideoSegmenter(args.model, threads=args.threads, refine=args.refine,
                               smoothing=args.smooth, zoom=args.zoom, sharpen=args.sharpen,
                               motion=args.motion, flip=args.flip)
    effect = _effect(args.effect)
    mask_dtype = getattr(effect, "mask_dtype", np.float32)  # as the video driver asks
    rows = {"yuv_to_rgb": [], "pre": [], "invoke": [], "post": [], "effect": [], "total": [],
            "preview_jpeg": []}
    runs = []
    start_all = None
    for i in range(args.warmup + args.frames):
        if i == args.warmup:
            start_all = time.perf_counter()
        frame = frames[i % len(frames)]
        start = time.perf_counter()
        if matrix is None:
            mask = segmenter.segment(frame, dtype=mask_dtype)
        else:
            mask = stream.segment_planes(segmenter, frame, matrix, mask_dtype)
        effect_start = time.perf_counter()
        if effect is None:
            out = frame
        else:
            out = effect(frame, mask) if matrix is None else effect.on_planes(frame, mask, matrix)
        end = time.perf_counter()
        if matrix is None:
            cv2.imencode(".jpg", out[..., :3] if out.ndim == 3 else out,
                         [cv2.IMWRITE_JPEG_QUALITY, 80])  # as preview.BrowserPreview does
        jpeg_end = time.perf_counter()
        if i >= args.warmup:
            rows["preview_jpeg"].append(jpeg_end - end)
            for key in ("pre", "invoke", "post"):
                rows[key].append(segmenter.timings[key])
            # the planes' working-size RGB (segment_planes, before the segmenter's clock)
            rows["yuv_to_rgb"].append(effect_start - start - sum(
                segmenter.timings[k] for k in ("pre", "invoke", "post")))
            runs.append(segmenter.timings["runs"])
            rows["effect"].append(end - effect_start)
            rows["total"].append(end - start)
    fps = args.frames / (time.perf_counter() - start_all - sum(rows["preview_jpeg"]))

    height, width = frames[0].shape[:2]
    if matrix is not None:
        height = height * 2 // 3
    stats = {
        key: {"median_ms": 1e3 * float(np.median(v)), "p90_ms": 1e3 * float(np.percentile(v, 90))}
        for key, v in rows.items()
    }
    model = segmenter.model
    print(
        f"model {model.path} [1,{model.height},{model.width},{model.channels}] "
        f"{model.input_dtype}, delegate {model.delegate}; frames {width}x{height} "
        f"({'video ' + args.video if args.video else 'synthetic'}); threads {args.threads}; "
        f"refine {args.refine}; zoom {args.zoom} ({np.mean(runs):.2f} model runs per frame); "
        f"sharpen {args.sharpen}; smooth {args.smooth}; effect {args.effect}; "
        f"{'YUV path (' + matrix + ')' if matrix else 'RGB frames'}; "
        f"{args.frames} frames after {args.warmup} warm-up; "
        f"{platform.processor() or platform.machine()}"
    )
    print("| stage | median ms | p90 ms |\n|---|---|---|")
    for key, value in stats.items():
        print(f"| {key} | {value['median_ms']:.2f} | {value['p90_ms']:.2f} |")
    print(f"end-to-end: {fps:.1f} frames/s")
    webcam_ms = stats["total"]["median_ms"] + stats["preview_jpeg"]["median_ms"]
    print(f"webcam path (segment + effect + browser JPEG): {webcam_ms:.1f} ms median of the "
          f"{1e3 / 30:.1f} ms a frame at 30 frames/s allows")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"args": vars(args), "stages": stats, "fps": fps,
                       "runs_per_frame": float(np.mean(runs))}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
