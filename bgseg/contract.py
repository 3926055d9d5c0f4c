"""The model I/O contract, in one place (numpy and OpenCV only: no TensorFlow).

A bgseg model takes one float32 tensor `input` of shape [1, H, W, C], C = 3 (RGB) or 4 (RGB + the
previous frame's mask), values in [0, 1], and returns one tensor `mask` [1, H, W, 1]: the person
probability in [0, 1] (the model ends in a sigmoid). H and W are static, the batch is 1 (what the
TFLite GPU delegate runs). A frame becomes a model input by an area-averaged resize to W x H
(aliasing-free when shrinking) and a scale by 1/255; the mask goes back to the frame by a bilinear
resize. Training data, export (metadata, calibration data), the runtime and the benchmarks all use
these definitions.
"""

import cv2
import numpy as np

INPUT_NAME = "input"
OUTPUT_NAME = "mask"
CHANNELS = ("red", "green", "blue", "previous_mask")
VALUE_RANGE = (0.0, 1.0)
# pixel -> input: (pixel - mean) / std, as TFLite metadata's NormalizationOptions write it
NORMALIZATION = {"mean": 0.0, "std": 255.0}
SCALE = np.float32(1.0 / NORMALIZATION["std"])


def channel_names(channels):
    """The meaning of each input channel of a 3- or 4-channel model."""
    if channels not in (3, 4):
        raise ValueError(f"a bgseg model has 3 (RGB) or 4 (RGB + previous mask) input channels, "
                         f"got {channels}")
    return list(CHANNELS[:channels])


def resize_frame(image, width, height):
    """Resize a frame (or a grayscale image) to (width, height), area-averaged when shrinking.

    Reductions of more than 2x go bilinear to twice the target size, then 2x area averaging
    (OpenCV's fast path): several times faster than a direct INTER_AREA from 720p to 256x256, and
    within about 1.5 grey levels of it on average on photos and video frames.
    """
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    if w < width or h < height:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    if w > 2 * width and h > 2 * height:
        image = cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def to_model_input(rgb, width, height, out=None):
    """RGB uint8 (H', W', 3) frame -> float32 (height, width, 3) in [0, 1]; written into `out`
    (e.g. the first three channels of a preallocated 4-channel input) when given."""
    small = resize_frame(rgb, width, height)
    if out is None:
        return small.astype(np.float32) * SCALE
    np.multiply(small, SCALE, out=out, casting="unsafe")
    return out


def mask_to_frame(mask, width, height):
    """Bilinear resize of a float mask to the frame's (width, height): soft edges, no halo."""
    if mask.shape[1] == width and mask.shape[0] == height:
        return mask
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
