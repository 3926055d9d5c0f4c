"""The webcam path with a simulated camera: frames/s shown and how old each frame is when shown.

    python -m benchmarks.webcam_latency --size 1280x720 --fps 30 --seconds 10 --effect blur

A stand-in camera delivers the first frames of ../shared/data/videos/juggle.mp4 (resized to
`--size`, looped) at `--fps` on its own clock, as a real one does whether or not anyone keeps up.
They go through what `bgseg webcam --preview browser` runs: `bgseg.capture.LatestFrames` (the
newest frame only), the video driver (`bgseg.runtime.stream.process_stream` with `live`, where
that checkout has it) and a preview sink that JPEG-encodes each frame as the browser preview does.
It prints the frames/s shown, the frames dropped, and each shown frame's age (capture to shown,
median and p90) in milliseconds and in camera frame periods, with the part of it spent waiting
before processing began ("added latency"; the rest is segmentation, effect and JPEG).
No TensorFlow is imported.
"""

import argparse
import inspect
import time

import cv2
import numpy as np

from benchmarks import heldout
from bgseg import video_io
from bgseg.capture import LatestFrames
from bgseg.effects import Effect
from bgseg.runtime import VideoSegmenter, stream

SOURCE = heldout.DEFAULT_DATA / "videos" / "juggle.mp4"


class PacedCamera:
    """`frames` looped at `fps` on a wall clock for `seconds`: yields `(capture time, frame)`."""

    def __init__(self, frames, fps, seconds):
        self.frames, self.period, self.count = frames, 1.0 / fps, int(seconds * fps)

    def __iter__(self):
        start = time.perf_counter()
        for index in range(self.count):
            due = start + index * self.period
            time.sleep(max(0.0, due - time.perf_counter()))
            yield due, self.frames[index % len(self.frames)]


def _frames(size, count):
    with video_io.VideoReader(SOURCE) as reader:
        frames = [f for _, f in zip(range(count), reader)]
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--effect", default="blur", help="blur (25) or a --background value")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    frames = _frames(size, 60)
    segmenter = VideoSegmenter("default", threads=args.threads)
    effect = Effect(blur=25) if args.effect == "blur" else Effect(background=args.effect)
    for frame in frames[:10]:  # warm-up
        segmenter.segment(frame)
    segmenter.reset()

    due_of, current, ages, waits = {}, {}, [], []
    original = segmenter.segment

    def segment(frame, **options):  # processing starts (segment, effect, show run in turn)
        current["due"], current["begun"] = due_of[id(frame)], time.perf_counter()
        return original(frame, **options)

    segmenter.segment = segment

    def camera():
        for due, frame in PacedCamera(frames, args.fps, args.seconds):
            due_of[id(frame)] = due  # frames loop every 2 s: the newest capture of this one
            yield frame

    def show(out):
        cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        ages.append(time.perf_counter() - current["due"])
        waits.append(current["begun"] - current["due"])
        return True

    newest = LatestFrames(camera())
    options = {"live": True} if "live" in inspect.signature(stream.process_stream).parameters \
        else {}
    start = time.perf_counter()
    shown = stream.process_stream(newest, None, segmenter, effect, show=show, **options)
    seconds = time.perf_counter() - start
    newest.close()
    period = 1e3 / args.fps
    age, wait = 1e3 * np.array(ages), 1e3 * np.array(waits)
    print(f"{args.size} at {args.fps:g} frames/s for {args.seconds:g} s, effect {args.effect}, "
          f"live driver {'yes' if options else 'no (this checkout has none)'}")
    print(f"shown {shown} frames: {shown / seconds:.1f} frames/s; dropped {newest.dropped}")
    print(f"age when shown: median {np.median(age):.1f} ms ({np.median(age) / period:.2f} frames),"
          f" p90 {np.percentile(age, 90):.1f} ms ({np.percentile(age, 90) / period:.2f} frames)")
    print(f"added latency (waiting before processing): median {np.median(wait):.1f} ms "
          f"({np.median(wait) / period:.2f} frames), p90 {np.percentile(wait, 90):.1f} ms "
          f"({np.percentile(wait, 90) / period:.2f} frames), max {wait.max() / period:.2f} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
