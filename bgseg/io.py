"""Image and video reading and writing for the CLI: input checks, colour conversion, atomic output.

Images come back as RGB uint8 whatever the file holds (grayscale, RGBA, 16-bit, float are
converted). Outputs are written to a temporary file in the destination folder and moved into place
with `os.replace`, so a failure never leaves a partial file and an existing file is only replaced
with `overwrite=True`.
"""

import contextlib
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
ALPHA_EXTENSIONS = {".png", ".webp", ".tif", ".tiff"}
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm"}
MAX_PIXELS = 100_000_000  # images beyond this are refused (OpenCV itself stops at 2**30)


class InputError(Exception):
    """A file that cannot be used, with the reason; str() is "PATH: reason"."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class OutputExists(InputError, FileExistsError):
    """The output file exists and replacing it was not asked for."""

    def __init__(self, path):
        super().__init__(path, "output exists (pass --overwrite to replace it)")


def _to_rgb8(image, path, keep_alpha=False):
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputError(path, f"unsupported pixel type {image.dtype}")
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if keep_alpha else cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    raise InputError(path, f"unsupported channel count {image.shape[2]}")


def _truncated(data):
    if data[:2] == b"\xff\xd8":  # JPEG: the end-of-image marker must be near the end
        return b"\xff\xd9" not in data[-1024:]
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in data[-32:]
    return False


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _header_size(data):
    """(width, height) from a PNG or JPEG header without decoding, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in _JPEG_SOF:
                return (int.from_bytes(data[i + 7:i + 9], "big"),
                        int.from_bytes(data[i + 5:i + 7], "big"))
            i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _check_pixels(path, width, height, max_pixels):
    if width * height > max_pixels:
        raise InputError(path, f"image too large: {width}x{height} = {width * height / 1e6:.0f} MP "
                               f"(limit {max_pixels / 1e6:.0f} MP)")


def exif_orientation(data):
    """The EXIF orientation (1-8) of JPEG bytes; 1 (upright) when there is none or it is
    unreadable."""
    import struct

    if data[:2] != b"\xff\xd8":
        return 1
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xE1 and data[pos + 4:pos + 10] == b"Exif\x00\x00":
            tiff = data[pos + 10:pos + 2 + length]
            order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
            if order is None or len(tiff) < 8:
                return 1
            ifd = struct.unpack(order + "I", tiff[4:8])[0]
            if ifd + 2 > len(tiff):
                return 1
            for i in range(struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]):
                entry = tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
                if len(entry) == 12 and struct.unpack(order + "H", entry[:2])[0] == 0x0112:
                    value = struct.unpack(order + "H", entry[8:10])[0]
                    return value if 1 <= value <= 8 else 1
            return 1
        if marker in (0xDA, 0xD9):  # image data starts: no EXIF before it
            return 1
        pos += 2 + length
    return 1


def apply_orientation(image, orientation):
    """Turn an image as stored into the upright picture that its EXIF `orientation` describes."""
    if orientation == 5:      # transpose
        image = image.swapaxes(0, 1)
    elif orientation == 7:    # transverse
        image = image[::-1, ::-1].swapaxes(0, 1)
    elif orientation in (6, 8):
        image = np.rot90(image, -1 if orientation == 6 else 1)
    elif orientation == 2:
        image = image[:, ::-1]
    elif orientation == 3:
        image = image[::-1, ::-1]
    elif orientation == 4:
        image = image[::-1]
    return np.ascontiguousarray(image)


def read_image(path, max_pixels=MAX_PIXELS, keep_alpha=False):
    """Read an image file as upright (EXIF orientation applied) RGB uint8 `(H, W, 3)` (RGBA
    `(H, W, 4)` for an input with alpha when `keep_alpha`), or raise InputError naming the
    problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a folder")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as error:
        raise InputError(path, f"cannot read ({error.strerror or error})") from None
    return decode_image(data, path, max_pixels, keep_alpha)


def decode_image(data, name, max_pixels=MAX_PIXELS, keep_alpha=False):
    """Decode the bytes of an image file (`bytes` or a uint8 array) as `read_image` does; `name`
    (a path or URL) only labels errors. HEIC/AVIF/GIF go through PIL (`bgseg.formats`)."""
    from bgseg import formats

    if not isinstance(data, np.ndarray):
        data = np.frombuffer(data, np.uint8)
    if data.size == 0:
        raise InputError(name, "empty file")
    if _truncated(data[:8].tobytes() + data[-1024:].tobytes()):
        raise InputError(name, "truncated image file")
    header = _header_size(data[:65536].tobytes()) or formats.header_size(data, name, max_pixels)
    if header is not None:  # refuse before decoding: a huge image would take gigabytes
        if 0 in header:
            raise InputError(name, f"zero-size image ({header[0]}x{header[1]})")
        _check_pixels(name, *header, max_pixels)
    image = None if formats.is_heif(data[:16].tobytes()) else cv2.imdecode(
        data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        decoded = formats.decode(data, name)  # upright RGB(A) already
        if decoded is None:
            raise InputError(name, "not an image, or an unreadable/corrupt one")
        _check_pixels(name, decoded.shape[1], decoded.shape[0], max_pixels)
        return decoded if keep_alpha or decoded.shape[2] == 3 else decoded[..., :3].copy()
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise InputError(name, f"zero-size image ({width}x{height})")
    _check_pixels(name, width, height, max_pixels)
    # the decoder is told to ignore EXIF (IMREAD_UNCHANGED keeps alpha), so orient here: phone
    # photos are stored sideways with an orientation tag that every viewer applies
    return apply_orientation(_to_rgb8(image, name, keep_alpha),
                             exif_orientation(data[:65536].tobytes()))


def output_suffix(suffix, alpha):
    """The extension an output keeps for an input with `suffix`: the same one, PNG where the
    input's format is unknown or cannot hold the transparency of `alpha` outputs."""
    suffix = suffix.lower()
    if suffix not in IMAGE_EXTENSIONS or (alpha and suffix not in ALPHA_EXTENSIONS):
        return ".png"
    return suffix


def check_output(path, inputs=(), overwrite=False):
    """Raise InputError if `path` is one of `inputs`, or exists and `overwrite` is False."""
    path = Path(path)
    for source in inputs:
        source = Path(source)
        same = (path.exists() and source.exists() and os.path.samefile(path, source)) or \
            path.resolve() == source.resolve()
        if same:
            raise InputError(path, "output is the same file as the input")
    if path.exists() and not overwrite:
        raise OutputExists(path)


def temp_file(path, prefix=None):
    """A new empty file next to `path` (same extension; named `prefix...`, default `.STEM.`),
    with the permissions of a plain open()."""
    prefix = f".{path.stem}." if prefix is None else prefix
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


def output_temp_file(path, prefix=None):
    """Create `path`'s folder and a temporary file beside it (`temp_file`); an InputError naming
    the output (not a traceback) when that is impossible: a parent that is a file, a read-only or
    full disk."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return temp_file(path, prefix)
    except (FileExistsError, NotADirectoryError):
        raise InputError(
            path, "cannot create the output: a parent of it is a file, not a folder"
        ) from None
    except OSError as error:
        raise InputError(
            path, f"cannot write the output here ({error.strerror or error})"
        ) from None


@contextlib.contextmanager
def atomic_output(path, overwrite=False):
    """Yield a temporary path next to `path` (same extension); move it into place on success."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExists(path)
    tmp = output_temp_file(path)
    try:
        yield tmp
        if not overwrite and path.exists():
            raise InputError(path, "appeared while it was being written; not replacing it")
        try:
            os.replace(tmp, path)
        except OSError as error:
            raise InputError(path, f"cannot write the output ({error.strerror or error})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path, data, overwrite=False):
    """Write bytes (or any buffer, e.g. an encoded image array) atomically (the project's one
    atomic writer: a killed process leaves the old file or the new one, never half);
    OutputExists unless `overwrite`."""
    with atomic_output(path, overwrite) as tmp:
        try:
            Path(tmp).write_bytes(data)
        except OSError as error:
            raise InputError(path, f"cannot write the output ({error.strerror or error})") from None


def encode_image(image, suffix, name):
    """The bytes of an RGB, RGBA or grayscale uint8 image in the format of `suffix` (".png", ...);
    `name` labels errors."""
    ext = suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise InputError(name, f"unknown image format {ext or '(no extension)'}; use one of "
                               f"{', '.join(sorted(IMAGE_EXTENSIONS))}")
    if image.ndim == 3 and image.shape[2] == 4:
        if ext not in ALPHA_EXTENSIONS:
            raise InputError(name, f"{ext} cannot store transparency; write .png (or .webp/.tif)")
        encoded = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    elif image.ndim == 3:
        encoded = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    else:
        encoded = image
    ok, buffer = cv2.imencode(ext, encoded)
    if not ok:
        raise InputError(name, f"OpenCV could not encode {ext}")
    return buffer


def write_image(path, image, overwrite=False):
    """Write an RGB, RGBA or grayscale uint8 image atomically; the format follows the extension."""
    path = Path(path)
    write_bytes(path, encode_image(image, path.suffix, path), overwrite)


def __getattr__(name):
    """`VideoReader`/`VideoWriter` live in `bgseg.video_io` (PyAV); imported on first use."""
    if name in ("VideoReader", "VideoWriter"):
        from bgseg import video_io

        return getattr(video_io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
