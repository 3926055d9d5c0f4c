"""Background effects at the frame's full resolution: replace (image, colour, looped video), blur,
transparent RGBA, bare mask.

Frames are RGB uint8 `(H, W, 3)`; masks are `(H, W)` person probabilities at the same size
(upsample model-resolution masks first, e.g. with `Segmenter`): float32 in [0, 1], or uint8 0-255
(`Segmenter.segment(frame, dtype=numpy.uint8)`, the video driver's choice: no full-size float
image on the way). Compositing is done per pixel in uint8 by OpenCV, rounded to the nearest grey
level, so soft edges stay soft.
"""

from pathlib import Path

import cv2
import numpy as np

from bgseg import planes
from bgseg.contract import mask_to_frame

COLORS = {
    "black": (0, 0, 0), "white": (255, 255, 255), "red": (255, 0, 0), "green": (0, 255, 0),
    "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255), "magenta": (255, 0, 255),
    "gray": (128, 128, 128), "grey": (128, 128, 128),
}


def parse_color(text):
    """An RGB tuple from a colour name (`COLORS`), `#rrggbb`, `#rgb` or `r,g,b`."""
    value = text.strip().lower()
    if value in COLORS:
        return COLORS[value]
    if value.startswith("#") and len(value) in (4, 7):
        digits = value[1:] if len(value) == 7 else "".join(c * 2 for c in value[1:])
        try:
            return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            pass
    parts = value.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
        return tuple(int(p) for p in parts)
    raise ValueError(f"{text!r} is not a colour: use a name ({', '.join(sorted(COLORS))}), "
                     f"#rrggbb or r,g,b")


def cover(image, width, height):
    """Scale `image` to cover (width, height) keeping its aspect ratio, then centre-crop."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    x, y = (new_w - width) // 2, (new_h - height) // 2
    return resized[y:y + height, x:x + width]


def alpha_of(mask):
    """A mask as uint8 0-255: itself when uint8, else `round(255 * mask)` clipped to 0-255."""
    if mask.dtype == np.uint8:
        return mask
    if mask.size <= 4:  # OpenCV would read so few values as a scalar
        return np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8)
    return cv2.multiply(np.asarray(mask, np.float32), 255.0, dtype=cv2.CV_8U)


def composite(frame, mask, background):
    """`frame * mask + background * (1 - mask)` per pixel in uint8 (OpenCV): each term rounded,
    so within one grey level of the exact blend by the uint8 mask (a float mask is rounded to
    1/255 first: 1.5 levels); exact where the mask is 0 or 1. Only the box around the mask's
    non-zero pixels is blended; the rest is the background."""
    if background.dtype != np.uint8:
        background = np.clip(background + 0.5, 0, 255).astype(np.uint8)
    return _blend_into(background.copy(), frame, alpha_of(mask))


BLEND_ROWS = 64  # rows per band of `_blend_into`


def _blend_into(out, frame, alpha, *pairs):
    """Blend `frame` over the background held in `out` (modified and returned) by uint8 `alpha`
    (`frame` RGB or a single plane), band by band of `BLEND_ROWS` rows, each only in the box of
    its non-zero `alpha` (outside it `out` stays the background, which the blend would give).
    `pairs`: more `(out, frame)` of `alpha`'s size blended by the same `alpha` (U and V), in the
    same boxes."""
    pairs = ((out, frame),) + pairs
    for top in range(0, alpha.shape[0], BLEND_ROWS):
        x, y, w, h = cv2.boundingRect(alpha[top:top + BLEND_ROWS])
        if w == 0 or h == 0:
            continue
        box = np.s_[top + y:top + y + h, x:x + w]
        weight = np.ascontiguousarray(alpha[box])
        if frame.ndim == 3:
            weight = cv2.cvtColor(weight, cv2.COLOR_GRAY2RGB)
        rest = cv2.bitwise_not(weight)
        for target, source in pairs:
            person = cv2.multiply(source[box], weight, scale=1.0 / 255.0)
            target[box] = cv2.add(person, cv2.multiply(target[box], rest, scale=1.0 / 255.0))
    return out


def _blur_size(width, height, radius):
    """(width, height) at which a blur of sigma `radius` (full-size pixels) is done."""
    if radius <= 0:
        raise ValueError(f"blur radius must be > 0, got {radius}")
    # below 4 at full size; else shrunk by the power of two that leaves a sigma of 1-2 pixels
    factor = 1 if radius < 4 else 2 ** int(np.log2(radius))
    return max(1, round(width / factor)), max(1, round(height / factor))


def _halving(shape, size):
    """(width, height) of one halving step of an image of `shape` towards `size`."""
    return max(size[0], round(shape[1] / 2)), max(size[1], round(shape[0] / 2))


def _shrink(image, size, halved=None):
    """`image` area-averaged by halving steps (OpenCV's fast path) down to about `size`;
    `halved`: the first of those steps when the caller has it already (the same area average
    of `image`, used only when its size is that step's)."""
    if halved is not None and image.shape[1] > size[0] * 1.5 \
            and halved.shape[1::-1] == _halving(image.shape, size):
        image = halved
    while image.shape[1] > size[0] * 1.5:
        image = cv2.resize(image, _halving(image.shape, size), interpolation=cv2.INTER_AREA)
    return image


def _normalized_blur(image, small_mask, sigma):
    """The background of a small multi-channel `image` blurred by a Gaussian of `sigma` pixels,
    weighted by `1 - small_mask` (uint8) so that person pixels do not bleed into it; uint8."""
    weight = cv2.subtract(1.0, cv2.multiply(small_mask, 1.0 / 255.0, dtype=cv2.CV_32F))
    weighted = cv2.multiply(image, cv2.merge([weight] * image.shape[2]), dtype=cv2.CV_32F)
    blurred = cv2.GaussianBlur(weighted, (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    # blurred <= 255 * norm, so the ratio stays in range; where norm ~ 0 the person covers it
    # anyway. OpenCV's divide rounds and saturates to uint8 in one pass
    norm = cv2.max(norm, 1e-3)
    return cv2.divide(blurred, cv2.merge([norm] * image.shape[2]), dtype=cv2.CV_8U)


def blur_background(frame, mask, radius):
    """Blur the background by a Gaussian of sigma `radius` pixels, without a person-coloured halo.

    The blur is a normalised convolution weighted by `1 - mask`, so person pixels do not bleed into
    the blurred background. It runs on the frame and mask area-averaged by a power of two (halving
    steps) so that the remaining sigma is 1 to 2 pixels there, then is upsampled: the same
    look (PSNR above 40 dB against the former Gaussian pyramid, see docs/runtime.md) at a fraction
    of the cost of a full-resolution blur.
    """
    height, width = mask.shape
    size = _blur_size(width, height, radius)
    mask = alpha_of(mask)
    image = _shrink(frame, size)
    background = _normalized_blur(image, _shrink(mask, size), radius * image.shape[1] / width)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    return _blend_into(background, frame, mask)


def blur_planes(frame, mask, radius):
    """`blur_background` of an I420 frame (`bgseg.planes`), returned as a new I420 buffer: the
    blur runs on Y and the half-size U and V shrunk to one small 3-channel image, the luma is
    blended by `mask` at full size and the chroma by the mask area-averaged to half size."""
    y, u, v = planes.split(frame)
    height, width = y.shape
    if mask.shape != (height, width):
        raise ValueError(f"mask {mask.shape} and frame {(height, width)} sizes differ")
    size = _blur_size(width, height, radius)
    mask = alpha_of(mask)
    half = _half_mask(mask, u.shape)  # the chroma's blend weight, and the blur's first halving
    small_y = _shrink(y, size)
    small = (small_y.shape[1], small_y.shape[0])
    image = cv2.merge([small_y, *(mask_to_frame(_shrink(c, size), *small) for c in (u, v))])
    small_mask = mask_to_frame(_shrink(mask, size, halved=half), *small)
    blurred = cv2.split(_normalized_blur(image, small_mask, radius * small[0] / width))
    out = np.empty_like(frame)
    for plane, target in zip(planes.split(out), blurred):
        cv2.resize(target, (plane.shape[1], plane.shape[0]), dst=plane,
                   interpolation=cv2.INTER_LINEAR)
    return _blend_planes(out, (y, u, v), mask, half)


def _half_mask(mask, shape):
    """The uint8 `mask` area-averaged to the chroma planes' `shape` (rows, cols)."""
    return cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _blend_planes(out, sources, mask, half=None):
    """Blend the planes `sources` (Y, U, V) over the background planes held in the I420 buffer
    `out` (modified and returned): Y by `mask`, U and V by it area-averaged to half size
    (`half`, when the caller has it)."""
    out_y, out_u, out_v = planes.split(out)
    y, u, v = sources
    if half is None:
        half = _half_mask(mask, u.shape)
    _blend_into(out_y, y, mask)
    _blend_into(out_u, u, half, (out_v, v))
    return out


def composite_planes(frame, mask, background):
    """`composite` of an I420 frame over the I420 `background` (the same shape), as a new
    buffer."""
    if background.shape != frame.shape:
        raise ValueError(f"background {background.shape} and frame {frame.shape} sizes differ")
    return _blend_planes(background.copy(), planes.split(frame), alpha_of(mask))


def to_rgba(frame, mask):
    """RGBA uint8 with alpha = mask (a transparent cut-out)."""
    alpha = alpha_of(mask)
    if alpha.size <= 4:  # OpenCV would read so few values as a scalar
        return np.dstack([frame, alpha])
    out = cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA)  # ten times faster than numpy.dstack at 720p
    cv2.mixChannels([alpha], [out], [0, 3])
    return out


def mask_image(mask):
    """The mask as a grayscale uint8 image (255 = person)."""
    alpha = alpha_of(mask)
    return alpha.copy() if alpha is mask else alpha


class VideoBackground:
    """Frames of a background video, looped, each scaled to cover the requested size."""

    def __init__(self, path):
        from bgseg.video_io import VideoReader

        self._reader = VideoReader(path)
        self._first = self._reader.read()
        if self._first is None:
            self._reader.close()
            from bgseg.io import InputError

            raise InputError(path, "background video has no readable frame")
        self._pending = self._first

    def next(self, width, height):
        frame, self._pending = self._pending, None
        if frame is None:
            frame = self._reader.read()
            if frame is None:  # loop
                self._reader.rewind()
                frame = self._reader.read()
                if frame is None:  # the container cannot seek: repeat the first frame
                    frame = self._first
        return cover(frame, width, height)

    def close(self):
        self._reader.close()


class Effect:
    """One background treatment, applied with `effect(frame, mask)`.

    Exactly one of: `background` (an RGB image array, an RGB tuple, a colour string, or a path to
    an image or video file), `blur` (sigma in pixels), `alpha=True` (RGBA cut-out), or
    `mask_only=True` (grayscale mask). Use `close()` (or `with`) to release a video background.
    """

    def __init__(self, background=None, blur=None, alpha=False, mask_only=False):
        chosen = [background is not None, bool(blur), alpha, mask_only]
        if sum(chosen) != 1:
            raise ValueError("choose exactly one of background, blur, alpha, mask_only")
        if blur is not None and blur <= 0:
            raise ValueError(f"blur must be > 0, got {blur}")
        self.blur, self.alpha, self.mask_only = blur, alpha, mask_only
        self._image = self._color = self._video = None
        self._cache = None
        self._planes = self._planes_key = None
        if isinstance(background, np.ndarray):
            self._image = background
        elif isinstance(background, tuple):
            self._color = background
        elif background is not None:
            self._open_background(str(background))

    def _open_background(self, spec):
        from bgseg import io

        path = Path(spec)
        if not path.is_file():
            if path.suffix.lower() in io.IMAGE_EXTENSIONS | io.VIDEO_EXTENSIONS:
                raise io.InputError(path, "background file not found")
            self._color = parse_color(spec)
        elif path.suffix.lower() in io.VIDEO_EXTENSIONS:
            self._video = VideoBackground(path)
        else:
            self._image = io.read_image(path)

    def _background(self, width, height):
        if self._video is not None:
            return self._video.next(width, height)
        if self._cache is None or self._cache.shape[:2] != (height, width):
            if self._image is not None:
                self._cache = cover(self._image, width, height)
            else:
                self._cache = np.empty((height, width, 3), np.uint8)
                self._cache[:] = self._color
        return self._cache

    mask_dtype = np.uint8  # masks it composites fastest (float32 ones work too)

    def __call__(self, frame, mask):
        if frame.shape[:2] != mask.shape:
            raise ValueError(f"mask {mask.shape} and frame {frame.shape[:2]} sizes differ")
        if self.mask_only:
            return mask_image(mask)
        if self.alpha:
            return to_rgba(frame, mask)
        if self.blur:
            return blur_background(frame, mask, self.blur)
        height, width = mask.shape
        return composite(frame, mask, self._background(width, height))

    @property
    def takes_planes(self):
        """Whether `on_planes` can composite this effect on I420 frames (blur, a colour or an
        image background)."""
        return bool(self.blur) or self._color is not None or self._image is not None

    def on_planes(self, frame, mask, matrix):
        """The effect on an I420 frame (`bgseg.planes`) whose YUV uses `matrix` ("bt709" or
        "bt601"), as an I420 buffer; a colour or image background is converted with that
        matrix."""
        if not self.takes_planes:
            raise ValueError("this effect has no YUV composite (alpha, mask-only, a video "
                             "background): give it RGB frames")
        if self.blur:
            return blur_planes(frame, mask, self.blur)
        height, width = frame.shape[0] * 2 // 3, frame.shape[1]
        key = (height, width, matrix)
        if self._planes_key != key:
            if self._image is not None:
                yuv = planes.rgb_to_yuv(cover(self._image, width, height), matrix)
            else:
                yuv = np.empty((height, width, 3), np.uint8)
                yuv[:] = planes.color_to_yuv(self._color, matrix)
            self._planes, self._planes_key = planes.join(*planes.from_yuv(yuv)), key
        return composite_planes(frame, mask, self._planes)

    def close(self):
        if self._video is not None:
            self._video.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
