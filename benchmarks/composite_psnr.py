"""This checkout's composites against another checkout's, frame by frame: PSNR and mask changes.

    python -m benchmarks.composite_psnr --before /tmp/speed_before \
        --video ../shared/data/videos/juggle.mp4 --frames 60 --blur 25

Runs the default video model through `VideoSegmenter` and `Effect(blur=...)` on the first
`--frames` frames, as the video driver does (masks in the effect's `mask_dtype` where the
checkout has one), here and in a fresh process with `--before` first on the Python path, and
prints the PSNR of the composites (min and mean over frames), their largest pixel difference, and
how much the masks moved: mean |difference| in grey levels (0-255) and the share of pixels whose
side of 0.5 changed. No TensorFlow is imported.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def run(video, frames, blur):
    """(composites, masks as uint8) of the bgseg on the Python path."""
    from bgseg import video_io
    from bgseg.effects import Effect
    from bgseg.runtime import VideoSegmenter

    with video_io.VideoReader(video) as reader:
        images = [f for _, f in zip(range(frames), reader)]
    segmenter, effect = VideoSegmenter("default"), Effect(blur=blur)
    dtype = getattr(effect, "mask_dtype", None)
    outputs, masks = [], []
    for image in images:
        mask = segmenter.segment(image) if dtype is None else segmenter.segment(image, dtype=dtype)
        outputs.append(effect(image, mask))
        masks.append(mask if mask.dtype == np.uint8
                     else np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8))
    return np.stack(outputs), np.stack(masks)


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
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)  # the --before side
    args = parser.parse_args(argv)
    if args.dump:
        outputs, masks = run(args.video, args.frames, args.blur)
        np.savez(args.dump, outputs=outputs, masks=masks)
        return 0
    if args.before is None:
        parser.error("--before is required")
    with tempfile.TemporaryDirectory(prefix="bgseg-psnr-") as folder:
        dump = Path(folder) / "before.npz"
        env = dict(os.environ, PYTHONPATH=str(args.before.resolve()))
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--video",
                        str(Path(args.video).resolve()), "--frames", str(args.frames), "--blur",
                        str(args.blur), "--dump", str(dump)], check=True, env=env,
                       cwd=args.before)
        with np.load(dump) as old:
            old_outputs, old_masks = old["outputs"], old["masks"]
    outputs, masks = run(args.video, args.frames, args.blur)
    scores = [psnr(a, b) for a, b in zip(outputs, old_outputs)]
    worst = int(np.abs(outputs.astype(np.int16) - old_outputs).max())
    moved = np.abs(masks.astype(np.int16) - old_masks)
    flipped = np.mean((masks > 127) != (old_masks > 127))
    print(f"{args.video}: {len(outputs)} frames, blur {args.blur:g}, against {args.before}")
    print("| PSNR min dB | PSNR mean dB | max abs diff | mask mean abs diff (0-255) | "
          "mask pixels across 0.5 % |\n|---|---|---|---|---|")
    print(f"| {min(scores):.1f} | {np.mean(scores):.1f} | {worst} | {moved.mean():.3f} | "
          f"{100 * flipped:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
