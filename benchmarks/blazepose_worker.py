"""BlazePose segmentation as a peer, run inside the MediaPipe environment
(`tflite/setup_mediapipe_venv.sh`: mediapipe==0.10.21 pins its own numpy, so it cannot share
bgseg's). Started by `benchmarks.runners.BlazePoseModel`; not for direct use.

Protocol on stdin/stdout, one frame at a time: a header of three little-endian int32 (height,
width, reset flag) then height * width * 3 RGB bytes; the answer is height * width float32 person
probabilities (zeros where no pose was found). A reset starts a new tracking graph (a clip's first
frame, every still photo), as BlazePose's video mode expects.
"""

import struct
import sys

import mediapipe as mp
import numpy as np


def main():
    complexity = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    pose = None
    while True:
        header = stdin.read(12)
        if len(header) < 12:
            break
        height, width, reset = struct.unpack("<3i", header)
        rgb = np.frombuffer(stdin.read(height * width * 3), np.uint8).reshape(height, width, 3)
        if reset or pose is None:
            if pose is not None:
                pose.close()
            pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity,
                                          enable_segmentation=True, smooth_segmentation=True)
        result = pose.process(rgb)
        mask = result.segmentation_mask
        if mask is None:
            mask = np.zeros((height, width), np.float32)
        stdout.write(np.ascontiguousarray(mask, np.float32).tobytes())
        stdout.flush()


if __name__ == "__main__":
    main()
