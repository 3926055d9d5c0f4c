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


def _blend_into(out, frame, alpha):
    """Blend `frame` over the background held in `out` (modified and returned) by uint8 `alpha`."""
    x, y, w, h = cv2.boundingRect(alpha)  # the non-zero pixels: outside, out stays background
    if w == 0 or h == 0:
        return out
    box = np.s_[y:y + h, x:x + w]
    weight = cv2.cvtColor(np.ascontiguousarray(alpha[box]), cv2.COLOR_GRAY2RGB)
    person = cv2.multiply(frame[box], weight, scale=1.0 / 255.0)
    out[box] = cv2.add(person, cv2.multiply(out[box], cv2.bitwise_not(weight), scale=1.0 / 255.0))
    return out


def blur_background(frame, mask, radius):
    """Blur the background by a Gaussian of sigma `radius` pixels, without a person-coloured halo.

    The blur is a normalised convolution weighted by `1 - mask`, so person pixels do not bleed into
    the blurred background. It runs on the frame and mask area-averaged by a power of two (halving
    steps) so that the remaining sigma is about 2 to 4 pixels there, then is upsampled: the same
    look (PSNR above 40 dB against the former Gaussian pyramid, see docs/runtime.md) at a fraction
    of the cost of a full-resolution blur.
    """
    if radius <= 0:
        raise ValueError(f"blur radius must be > 0, got {radius}")
    height, width = mask.shape
    factor = 2 ** max(0, int(np.log2(radius / 2.0)))
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    mask = alpha_of(mask)
    image, small = frame, mask
    while image.shape[1] > size[0] * 1.5:  # area-average by 2 (OpenCV's fast path) down to size
        half = (max(size[0], round(image.shape[1] / 2)), max(size[1], round(image.shape[0] / 2)))
        image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
        small = cv2.resize(small, half, interpolation=cv2.INTER_AREA)
    weight = cv2.subtract(1.0, cv2.multiply(small, 1.0 / 255.0, dtype=cv2.CV_32F))
    weighted = cv2.multiply(image, cv2.merge([weight] * 3), dtype=cv2.CV_32F)
    sigma = radius * image.shape[1] / width
    blurred = cv2.GaussianBlur(weighted, (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    # blurred <= 255 * norm, so the ratio stays in range; where norm ~ 0 the person covers it anyway
    background = np.clip(blurred / np.maximum(norm, 1e-3)[..., None] + 0.5, 0, 255).astype(np.uint8)
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    return _blend_into(background, frame, mask)


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

    def close(self):
        if self._video is not None:
            self._video.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
