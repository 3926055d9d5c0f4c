"""The blur effect against its former implementation (a Gaussian pyramid): PSNR and speed.

    python -m benchmarks.blur_psnr --video /work/shared/data/videos/juggle.mp4 --frames 60

Segments `--frames` frames of the video with the default runtime, composites each with
`effects.blur_background` and with `pyramid_blur` (the implementation before the speed-up, kept
here as the reference) for each `--radius`, and prints the PSNR of the new composite against the
old one (min and mean over frames), the largest pixel difference, and the fastest of `--repeat`
timed calls of each on the last frame (the fastest: the least disturbed by other load).
No TensorFlow is imported.
"""

import argparse
import time

import cv2
import numpy as np

from bgseg import effects, video_io
from bgseg.runtime import VideoSegmenter


def pyramid_blur(frame, mask, radius):
    """The blur before the speed-up: weights and products formed at full resolution, pyrDown."""
    height, width = mask.shape
    levels = max(0, int(np.log2(radius / 2.0)))
    weight = 1.0 - mask.astype(np.float32)
    image = frame
    if levels:
        image, weight = cv2.pyrDown(image), cv2.pyrDown(weight)
    weighted = image.astype(np.float32) * weight[..., None]
    for _ in range(levels - 1):
        weighted, weight = cv2.pyrDown(weighted), cv2.pyrDown(weight)
    sigma = radius / 2 ** levels
    blurred = cv2.GaussianBlur(weighted, (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    background = np.clip(blurred / np.maximum(norm, 1e-3)[..., None] + 0.5, 0, 255).astype(np.uint8)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = np.ascontiguousarray(mask, dtype=np.float32)  # the float composite of that time
    return cv2.blendLinear(frame, background, mask, 1.0 - mask)


def psnr(a, b):
    """Peak signal-to-noise ratio of two uint8 images, in dB (inf when equal)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def _fastest_ms(blur, frame, mask, radius, repeat):
    blur(frame, mask, radius)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        blur(frame, mask, radius)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", required=True)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--radius", type=float, nargs="+", default=[15.0, 25.0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--model", default="default")
    args = parser.parse_args(argv)

    reader = video_io.VideoReader(args.video)
    frames = [frame for _, frame in zip(range(args.frames), reader)]
    reader.close()
    if not frames:
        raise SystemExit(f"{args.video}: no readable frame")
    segmenter = VideoSegmenter(args.model)
    masks = [segmenter.segment(frame) for frame in frames]
    height, width = frames[0].shape[:2]
    print(f"{args.video}: {len(frames)} frames {width}x{height}, model {args.model}")
    print("| radius | PSNR min dB | PSNR mean dB | max abs diff | pyramid ms | new ms |")
    print("|---|---|---|---|---|---|")
    for radius in args.radius:
        scores, worst = [], 0
        for frame, mask in zip(frames, masks):
            new = effects.blur_background(frame, mask, radius)
            old = pyramid_blur(frame, mask, radius)
            scores.append(psnr(new, old))
            worst = max(worst, int(np.abs(new.astype(np.int16) - old).max()))
        old_ms = _fastest_ms(pyramid_blur, frames[-1], masks[-1], radius, args.repeat)
        new_ms = _fastest_ms(effects.blur_background, frames[-1], masks[-1], radius, args.repeat)
        print(f"| {radius:g} | {min(scores):.1f} | {np.mean(scores):.1f} | {worst} | "
              f"{old_ms:.2f} | {new_ms:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
