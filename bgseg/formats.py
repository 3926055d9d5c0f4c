"""Image formats OpenCV lacks (HEIC/HEIF/AVIF via pillow-heif, GIF) and the pixel limit read from
any format's header before decoding (PIL's lazy open reads the header only).

PIL is imported only when these are needed; a missing pillow-heif is an InputError naming the
install command.
"""

import io as _bytes_io
import re
import warnings

import numpy as np

PIL_EXTENSIONS = {".heic", ".heif", ".avif", ".gif"}  # inputs only: outputs stay OpenCV formats
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif",
                b"avis")
HEIF_HINT = 'pip install "bgseg[heif]" (or pip install -e ".[heif]" from a source tree)'


def is_heif(data):
    """True for the bytes of a HEIC/HEIF/AVIF file (an ISO-BMFF `ftyp` box with a HEIF brand)."""
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _register_heif(name):
    from bgseg.io import InputError

    try:
        import pillow_heif
    except ModuleNotFoundError:
        raise InputError(name, f"HEIC/HEIF/AVIF needs pillow-heif: {HEIF_HINT}") from None
    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):
        pillow_heif.register_avif_opener()


def _open(data, name, max_pixels=None):
    """A lazily opened PIL image (header read, pixels not decoded), or None when PIL cannot.
    Pillow's own decompression-bomb limit (about 179 MP) becomes the caller's "image too large"
    when the image is over `max_pixels` too."""
    try:
        from PIL import Image
    except ModuleNotFoundError:
        return None
    if is_heif(bytes(data[:16])):
        _register_heif(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(_bytes_io.BytesIO(data))
    except Image.DecompressionBombError as error:
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        if max_pixels is not None and pixels and int(pixels[1]) > max_pixels:
            from bgseg.io import InputError

            raise InputError(name, f"image too large: {int(pixels[1]) / 1e6:.0f} MP "
                                   f"(limit {max_pixels / 1e6:.0f} MP)") from None
        return None
    except Exception:  # any format PIL cannot read is simply "not known here"
        return None


def header_size(data, name, max_pixels=None):
    """(width, height) from any header PIL knows (TIFF, WebP, BMP, HEIC, ...), or None."""
    image = _open(data, name, max_pixels)
    return None if image is None else image.size


def decode(data, name):
    """Decode bytes OpenCV cannot (HEIC, AVIF, GIF's first frame) as RGB or RGBA uint8 (EXIF
    orientation applied), or None when PIL cannot either."""
    image = _open(data, name)
    if image is None:
        return None
    from PIL import ImageOps

    try:
        image = ImageOps.exif_transpose(image)
        mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
        return np.asarray(image.convert(mode))
    except Exception:  # a corrupt file: the caller reports it
        return None
