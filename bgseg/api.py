"""`bgseg.remove(data, **options)`: one call from an image to its cut-out, rembg-style, and the
per-thread segmenters that the CLI's image command and `bgseg serve` share.

Bytes in (any supported format) give encoded bytes out; a PIL image gives a PIL image; a numpy
array (uint8 or uint16; gray, RGB or RGBA) gives an array. Needs no TensorFlow; PIL only for PIL
input and for the formats OpenCV lacks (`bgseg.formats`).
"""

import threading

import numpy as np

from bgseg.io import ALPHA_EXTENSIONS, MAX_PIXELS

_local = threading.local()


def segmenter(model="default_image", threads=None, refine=True, zoom=True, sharpen=None,
              flip=None):
    """This thread's image Segmenter for these options (loaded on first use, then kept): a LiteRT
    interpreter is never shared between threads. `sharpen` / `flip` None: the model's own
    (`bgseg.runtime.registry.runtime_options`), else 2 / on."""
    from bgseg.runtime import load

    cache = _local.__dict__.setdefault("segmenters", {})
    key = (str(model), threads, refine, zoom, sharpen, flip)
    if key not in cache:
        cache[key] = load(model, kind="image", threads=threads, refine=refine, zoom=zoom,
                          sharpen=sharpen, flip=flip)
    return cache[key]


def effect_for(suffix=".png", background=None, blur=None, alpha=False, mask_only=False):
    """The Effect asked for; with none, the alpha cut-out where `suffix`'s format holds
    transparency, else a composite on white (JPEG/BMP have no alpha)."""
    from bgseg.effects import Effect

    if not (background is not None or blur or alpha or mask_only):
        if suffix.lower() in ALPHA_EXTENSIONS:
            alpha = True
        else:
            background = (255, 255, 255)
    return Effect(background=background, blur=blur, alpha=alpha, mask_only=mask_only)


def apply(image, segmenter, effect, foreground=False):
    """Segment an RGB or RGBA uint8 image and apply `effect`; an input alpha multiplies the person
    mask; `foreground` estimates the person's edge colours first (`bgseg.foreground`)."""
    rgb = np.ascontiguousarray(image[..., :3]) if image.shape[2] == 4 else image
    mask = segmenter.segment(rgb)
    if image.shape[2] == 4:
        mask = mask * (image[..., 3].astype(np.float32) * (1.0 / 255.0))
    if foreground and not effect.mask_only:
        from bgseg.foreground import estimate_foreground

        rgb = estimate_foreground(rgb, mask)
    return effect(rgb, mask)


def _array_to_rgb(array):
    """A uint8 RGB or RGBA copy of a numpy image (uint8/uint16; gray, RGB or RGBA)."""
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"unsupported pixel type {array.dtype}: use uint8 or uint16")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"unsupported image shape {array.shape}: use (H, W), (H, W, 3) or "
                         f"(H, W, 4)")
    return np.ascontiguousarray(array)


def _background_value(background, max_pixels):
    """An Effect background from what a caller may pass: bytes and PIL images become arrays."""
    if isinstance(background, (bytes, bytearray, memoryview)):
        from bgseg.io import decode_image

        return decode_image(bytes(background), "background", max_pixels)
    if hasattr(background, "getbands"):  # a PIL image
        return np.asarray(background.convert("RGB"))
    if isinstance(background, np.ndarray):
        return _array_to_rgb(background)[..., :3]
    return background


def remove(data, *, format="png", background=None, blur=None, alpha=False, mask_only=False,
           foreground=False, model="default_image", threads=None, refine=True, zoom=True,
           sharpen=None, flip=None, max_pixels=MAX_PIXELS):
    """Remove (or replace, or blur) the background of one image.

    `data`: encoded image bytes (PNG, JPEG, WebP, TIFF, BMP, HEIC/AVIF with the [heif] extra),
    a PIL image, or a numpy array (uint8/uint16; gray, RGB or RGBA). Returns the same kind:
    bytes encoded as `format` (png, jpg, webp, tif, bmp), a PIL image, or an array (RGBA for the
    cut-out, RGB for a background or blur, 2-D uint8 for `mask_only`). With no effect chosen the
    result is the transparent cut-out (on white for a `format` without alpha). `background`: a
    colour (name, #rrggbb, r,g,b, an RGB tuple), an image (path, bytes, array, PIL) or a video
    path. An input's own alpha multiplies the person mask. Other options as `bgseg image`.
    """
    from bgseg.io import decode_image, encode_image

    suffix = "." + str(format).lower().lstrip(".")
    effect = effect_for(suffix if isinstance(data, (bytes, bytearray, memoryview)) else ".png",
                        _background_value(background, max_pixels), blur, alpha, mask_only)
    if isinstance(data, (bytes, bytearray, memoryview)):
        image = decode_image(bytes(data), "image", max_pixels, keep_alpha=True)
    elif hasattr(data, "getbands"):
        pil_mode = "RGBA" if "A" in data.getbands() or "transparency" in data.info else "RGB"
        image = np.asarray(data.convert(pil_mode))
    elif isinstance(data, np.ndarray):
        image = _array_to_rgb(data)
    else:
        raise TypeError(f"remove() takes bytes, a PIL image or a numpy array, not "
                        f"{type(data).__name__}")
    with effect:
        result = apply(image, segmenter(model, threads, refine, zoom, sharpen, flip), effect,
                       foreground)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return encode_image(result, suffix, "output").tobytes()
    if hasattr(data, "getbands"):
        from PIL import Image

        return Image.fromarray(result)
    return result
