"""Frames as YUV 4:2:0 planes: what H.264 decoders give and encoders take, so a composite done
there needs no full-resolution colour conversion on the way in or out.

A frame is an I420 buffer, uint8 `(3 * H / 2, W)` (PyAV's `VideoFrame.to_ndarray()` of a yuv420p
frame): the luma plane `Y` (H, W), then `U` and `V` (H/2, W/2) each packed two rows to a row.
Values are limited ("MPEG") range under a BT.709 or BT.601 matrix (`MATRICES`); colours and
images are converted with the frame's own matrix, so the result decodes to the same RGB as a
composite done in RGB.
"""

import cv2
import numpy as np

MATRICES = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}  # (Kr, Kb)


def _to_rgb_matrix(matrix):
    """The 4x4 affine map `[Y, U, V, 1] -> [R, G, B, 1]` of a limited-range `matrix`."""
    if matrix not in MATRICES:
        raise ValueError(f"unknown YUV matrix {matrix!r}; use one of {', '.join(MATRICES)}")
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    ys, cs = 255.0 / 219.0, 255.0 / 224.0
    rows = np.array([[ys, 0.0, 2 * (1 - kr) * cs],
                     [ys, -2 * kb * (1 - kb) / kg * cs, -2 * kr * (1 - kr) / kg * cs],
                     [ys, 2 * (1 - kb) * cs, 0.0]])
    affine = np.eye(4)
    affine[:3, :3] = rows
    affine[:3, 3] = -rows @ np.array([16.0, 128.0, 128.0])
    return affine


def rgb_to_yuv(rgb, matrix):
    """An RGB uint8 image `(H, W, 3)` as a 3-channel YUV uint8 image (full resolution, limited
    range, rounded)."""
    return cv2.transform(rgb, np.linalg.inv(_to_rgb_matrix(matrix))[:3].astype(np.float32))


def color_to_yuv(color, matrix):
    """An RGB colour tuple as rounded limited-range `(Y, U, V)` integers."""
    values = np.linalg.inv(_to_rgb_matrix(matrix)) @ np.array([*color, 1.0])
    return tuple(int(np.clip(round(v), 0, 255)) for v in values[:3])


def split(frame):
    """Views `(Y, U, V)` of an I420 buffer (U and V at half size)."""
    if frame.ndim != 2 or frame.shape[0] % 3 or frame.shape[1] % 2 or (frame.shape[0] // 3) % 2:
        raise ValueError(f"expected an I420 buffer of shape (3 * H / 2, W) with H and W even, "
                         f"got {frame.shape}")
    height, width = frame.shape[0] * 2 // 3, frame.shape[1]
    quarter = height // 4
    chroma = (height // 2, width // 2)
    return (frame[:height], frame[height:height + quarter].reshape(chroma),
            frame[height + quarter:].reshape(chroma))


def join(y, u, v):
    """An I420 buffer of the planes (U and V at half the size of Y)."""
    height, width = y.shape
    out = np.empty((height * 3 // 2, width), np.uint8)
    out_y, out_u, out_v = split(out)
    out_y[:], out_u[:], out_v[:] = y, u, v
    return out


def from_yuv(image):
    """Planes `(Y, U, V)` of a 3-channel YUV image, chroma area-averaged to half size."""
    height, width = image.shape[:2]
    y, u, v = cv2.split(image)
    half = (width // 2, height // 2)
    return (y, cv2.resize(u, half, interpolation=cv2.INTER_AREA),
            cv2.resize(v, half, interpolation=cv2.INTER_AREA))


def to_rgb(frame, width, height, matrix, luma=None):
    """The I420 `frame` as an RGB uint8 image of `width` x `height` (e.g. a model's working size):
    the planes are resized first, then converted, so no full-size RGB image is made. `luma`: the
    Y plane already resized to that size (`contract.resize_frame`), when the caller has it."""
    from bgseg.contract import resize_frame

    y, u, v = split(frame)
    if luma is None or luma.shape != (height, width):
        luma = resize_frame(y, width, height)
    small = cv2.merge([luma, resize_frame(u, width, height), resize_frame(v, width, height)])
    return cv2.transform(small, _to_rgb_matrix(matrix)[:3].astype(np.float32))


def rotate(frame, quarter_turns):
    """The I420 `frame` turned counter-clockwise by `quarter_turns` * 90 degrees."""
    return join(*(np.rot90(plane, quarter_turns) for plane in split(frame)))
