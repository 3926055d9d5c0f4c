"""Post-processing step by step: `runtime_latency` with a clock around each post step.

    python -m benchmarks.post_steps --model default --effect blur \\
        --video ../shared/data/videos/juggle.mp4 --frames 150 --planes

Takes `benchmarks.runtime_latency`'s arguments, runs it (its table first), and then prints, per
step of `VideoSegmenter`'s post-processing (motion compensation, smoothing, the guided filter and
the parts of it) and of the blur effect (what the blur's own total leaves out of its parts is
mostly the blurred image's upsampling to the frame), the milliseconds per frame (all calls over
warm-up and timed frames, divided by their count), the calls per frame and the median
milliseconds of one call. Indented steps run inside the step above them. The clocks add a few
microseconds a call.
"""

import sys
import time
from collections import defaultdict

import numpy as np

from benchmarks import runtime_latency
from bgseg import effects
from bgseg.runtime import VideoSegmenter, motion, postprocess

# (owner, attribute, label): the steps timed, in the order they run
STEPS = [
    (VideoSegmenter, "segment", "segment"),  # counts the frames
    (motion.MotionCompensator, "update", "motion: DIS flow + trust"),
    (motion.MotionCompensator, "warp", "motion: warp (two masks)"),
    (motion.MotionCompensator, "_map", "  remap coordinates"),
    (motion.MotionCompensator, "confidence_at", "motion: trust at the canvas size"),
    (postprocess, "smooth_temporal", "smoothing by table"),
    (postprocess, "guided_filter", "guided filter"),
    (postprocess, "sharpen", "  sharpening (coefficient size)"),
    (postprocess, "_supported_coefficients", "  coefficients in the support box"),
    (postprocess, "_apply_uint8", "  full-size output in the box"),
    (effects, "blur_planes", "effect: blur of the YUV planes"),
    (effects, "blur_background", "effect: blur of the RGB frame"),
    (effects, "_shrink", "  shrinks (frame or planes, mask)"),
    (effects, "_normalized_blur", "  weighted blur at the small size"),
    (effects, "_blend_planes", "  blend of the planes"),
    (effects, "_blend_into", "  blends (each plane, or the RGB frame)"),
]


def _clocked(function, seconds):
    def clocked(*args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        seconds.append(time.perf_counter() - start)
        return result
    return clocked


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    times = defaultdict(list)
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in STEPS]
    for owner, name, label in STEPS:
        setattr(owner, name, _clocked(getattr(owner, name), times[label]))
    try:
        runtime_latency.main(argv)
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)
    frames = len(times["segment"])
    print("| post step | ms / frame | calls / frame | median ms / call |\n|---|---|---|---|")
    for _, _, label in STEPS[1:]:
        seconds = times[label]
        median = 1e3 * float(np.median(seconds)) if seconds else 0.0
        print(f"| {label} | {1e3 * sum(seconds) / frames:.2f} | {len(seconds) / frames:.2f} | "
              f"{median:.2f} |")


if __name__ == "__main__":
    main()
