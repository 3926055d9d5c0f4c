"""This checkout's composites against another checkout's, frame by frame: PSNR and mask changes.

    python -m benchmarks.composite_psnr --before /tmp/speed_before \
        --video ../shared/data/videos/juggle.mp4 --frames 60 --blur 25 [--planes] [--color C]

Runs the default video model through `VideoSegmenter` and `Effect(blur=...)` on the first
`--frames` frames, as the video driver does (masks in the effect's `mask_dtype` where the
checkout has one), here and in a fresh process with `--before` first on the Python path, and
prints the PSNR of the composites (min and mean over frames), their largest pixel difference, and
how much the masks moved: mean |difference| in grey levels (0-255) and the share of pixels whose
side of 0.5 changed (`--before-masks`: the YUV path composites --before's masks, so only the
composite differs; `--before-planes`: against --before's YUV path, not its RGB one). `--color`
composites over a colour instead of blurring. `--planes` runs this
checkout's YUV path instead (I420 frames as `bgseg video` composites them for H.264 outputs,
`bgseg.runtime.stream.segment_planes` and `Effect.on_planes`), each composite decoded back to RGB
with the input's matrix, as a player would; for scale it also prints what `--before`'s RGB path
loses itself before the encoder: the PSNR of its composites converted as the writer hands them to
H.264 (yuv420p, BT.709) and decoded, against themselves. No TensorFlow is imported.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bgseg.effects import parse_color


def run(video, frames, blur, color=None, planar=False, given=None):
    """(composites, masks as uint8) of the bgseg on the Python path (`planar`: its YUV path;
    `given`: composite these uint8 masks instead of the segmenter's)."""
    from bgseg import video_io
    from bgseg.effects import Effect
    from bgseg.runtime import VideoSegmenter

    with video_io.VideoReader(video, **({"planar": True} if planar else {})) as reader:
        images = [f for _, f in zip(range(frames), reader)]
        matrix = reader.matrix if planar else None
    if planar and matrix is None:
        raise SystemExit(f"{video}: not a limited-range yuv420p video; no YUV path to compare")
    segmenter = VideoSegmenter("default")
    effect = Effect(blur=blur) if color is None else Effect(background=color)
    dtype = getattr(effect, "mask_dtype", None)
    outputs, masks = [], []
    for index, image in enumerate(images):
        if planar:
            from bgseg.runtime.stream import segment_planes

            mask = segment_planes(segmenter, image, matrix, dtype)
            mask = mask if given is None else given[index]
            outputs.append(i420_to_rgb(effect.on_planes(image, mask, matrix), matrix))
        else:
            mask = segmenter.segment(image) if dtype is None else segmenter.segment(image,
                                                                                    dtype=dtype)
            outputs.append(effect(image, mask))
        masks.append(mask if mask.dtype == np.uint8
                     else np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8))
    return np.stack(outputs), np.stack(masks)


SWSCALE_MATRIX = {"bt709": "ITU709", "bt601": "ITU601"}  # also run on --before's bgseg: no import


def i420_to_rgb(frame, matrix):
    """An I420 buffer decoded to RGB as FFmpeg (and so a player) does."""
    import av

    video = av.VideoFrame.from_numpy_buffer(frame, format="yuv420p")
    return video.reformat(format="rgb24", src_colorspace=SWSCALE_MATRIX[matrix],
                          src_color_range="MPEG").to_ndarray()


def _through_yuv420p(rgb):
    """An RGB composite converted as `VideoWriter` does for H.264 (yuv420p, BT.709, limited
    range) and decoded back."""
    import av

    video = av.VideoFrame.from_numpy_buffer(rgb, format="rgb24").reformat(
        format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
    return i420_to_rgb(video.to_ndarray(), "bt709")


def psnr(a, b):
    """PSNR of two uint8 images in dB (inf when equal)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="the checkout to compare with")
    parser.add_argument("--video", required=True)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--blur", type=float, default=25.0)
    parser.add_argument("--color", help="a background colour instead of the blur")
    parser.add_argument("--planes", action="store_true", help="this checkout's YUV path")
    parser.add_argument("--before-masks", action="store_true",
                        help="with --planes: composite --before's masks (the composite alone)")
    parser.add_argument("--before-planes", action="store_true",
                        help="with --planes: against --before's YUV path too (not its RGB one)")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)  # the --before side
    parser.add_argument("--dump-planes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    color = None if args.color is None else parse_color(args.color)
    if args.dump:
        outputs, masks = run(args.video, args.frames, args.blur, color, args.dump_planes)
        np.savez(args.dump, outputs=outputs, masks=masks)
        return 0
    if args.before is None:
        parser.error("--before is required")
    if args.before_planes and not args.planes:
        parser.error("--before-planes needs --planes")
    with tempfile.TemporaryDirectory(prefix="bgseg-psnr-") as folder:
        dump = Path(folder) / "before.npz"
        env = dict(os.environ, PYTHONPATH=str(args.before.resolve()))
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--video",
                        str(Path(args.video).resolve()), "--frames", str(args.frames), "--blur",
                        str(args.blur), "--dump", str(dump),
                        *(["--color", args.color] if args.color else []),
                        *(["--dump-planes"] if args.before_planes else [])], check=True, env=env,
                       cwd=args.before)
        with np.load(dump) as old:
            old_outputs, old_masks = old["outputs"], old["masks"]
    if args.before_masks and not args.planes:
        parser.error("--before-masks needs --planes")
    outputs, masks = run(args.video, args.frames, args.blur, color, args.planes,
                         old_masks if args.before_masks else None)
    scores = [psnr(a, b) for a, b in zip(outputs, old_outputs)]
    worst = int(np.abs(outputs.astype(np.int16) - old_outputs).max())
    moved = np.abs(masks.astype(np.int16) - old_masks)
    flipped = np.mean((masks > 127) != (old_masks > 127))
    look = f"background {args.color}" if args.color else f"blur {args.blur:g}"
    if args.planes and not args.before_planes:
        own = [psnr(_through_yuv420p(old), old) for old in old_outputs]
        print(f"reference: --before's composites through the writer's yuv420p conversion, "
              f"against themselves: PSNR min {min(own):.1f} dB, mean {np.mean(own):.1f} dB")
    path = (", YUV path" if args.planes else "") + (" on --before's masks" if args.before_masks
                                                     else "")
    path += " (--before's YUV path too)" if args.before_planes else ""
    print(f"{args.video}: {len(outputs)} frames, {look}{path}, "
          f"against {args.before}")
    print("| PSNR min dB | PSNR mean dB | max abs diff | mask mean abs diff (0-255) | "
          "mask pixels across 0.5 % |\n|---|---|---|---|---|")
    print(f"| {min(scores):.1f} | {np.mean(scores):.1f} | {worst} | {moved.mean():.3f} | "
          f"{100 * flipped:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
