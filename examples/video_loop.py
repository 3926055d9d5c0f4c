"""Run the video model on a clip, the right way and the wrong way.

    python examples/video_loop.py clip.mp4

Right: one VideoSegmenter for the whole clip, so each frame's mask is fed into the next frame.
Wrong: a new segmenter (or a Segmenter) per frame, so every frame starts from an empty prior: the
model never sees its previous mask and the result flickers. The script prints the flicker (share of
pixels whose label flips between frames) of both.
"""

import sys

import numpy as np

import bgseg
from bgseg.io import InputError
from bgseg.video_io import VideoReader


def flicker(masks):
    return np.mean([np.mean((a > 0.5) != (b > 0.5)) for a, b in zip(masks, masks[1:])])


if len(sys.argv) != 2:
    sys.exit(f"usage: python {sys.argv[0]} CLIP (a video file)")
try:
    with VideoReader(sys.argv[1]) as reader:
        frames = [frame for _, frame in zip(range(100), reader)]
except InputError as error:                              # missing or unreadable clip
    sys.exit(f"error: {error}")
if len(frames) < 2:
    sys.exit(f"error: {sys.argv[1]}: fewer than 2 frames, no flicker to measure")

# right: state carried across frames; call reset() at a scene cut
with bgseg.load("default", kind="video") as segmenter:
    right = [segmenter.segment(frame) for frame in frames]

# wrong: a fresh runner per frame forgets the previous mask
wrong = []
for frame in frames:
    with bgseg.load("default", kind="video") as segmenter:
        wrong.append(segmenter.segment(frame))

print(f"flicker with mask feedback: {flicker(right):.4f}; without: {flicker(wrong):.4f}")
