"""Phone photos: JPEGs stored sideways with an EXIF orientation tag are read upright everywhere."""

import struct

import cv2
import numpy as np
import pytest

from bgseg import io


def exif_jpeg(path, stored_rgb, orientation):
    """Write `stored_rgb` as a JPEG whose EXIF says `orientation` (an APP1 segment after SOI)."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(stored_rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
    data = jpeg.tobytes()
    path.write_bytes(data[:2] + app1 + data[2:])
    return path


def upright_picture():
    """A landscape picture with a distinct top-left corner, so any wrong turn shows."""
    image = np.full((60, 100, 3), 40, np.uint8)
    image[:20, :30] = (250, 250, 250)
    image[45:, 80:] = (0, 0, 250)
    return image


@pytest.mark.parametrize(
    "orientation, store",
    [
        (3, lambda im: im[::-1, ::-1]),
        (6, lambda im: np.rot90(im, 1)),
        (8, lambda im: np.rot90(im, -1)),
        (2, lambda im: im[:, ::-1]),
        (5, lambda im: im.swapaxes(0, 1)),
    ],
)
def test_read_image_applies_the_exif_orientation(tmp_path, orientation, store):
    upright = upright_picture()
    path = exif_jpeg(tmp_path / "phone.jpg", np.ascontiguousarray(store(upright)), orientation)
    assert io.exif_orientation(path.read_bytes()) == orientation
    image = io.read_image(path)
    assert image.shape == upright.shape
    assert np.abs(image.astype(int) - upright).mean() < 4


def test_training_folders_and_benchmarks_read_upright_too(tmp_path):
    from bgseg.data.folders import read_image as folder_read_image

    upright = upright_picture()
    path = exif_jpeg(tmp_path / "phone.jpg", np.ascontiguousarray(np.rot90(upright, 1)), 6)
    assert folder_read_image(path).shape == upright.shape


def test_cli_output_keeps_the_upright_geometry(tmp_path, tiny_tflite):
    from bgseg.cli import main

    upright = upright_picture()
    photo = exif_jpeg(tmp_path / "phone.jpg", np.ascontiguousarray(np.rot90(upright, 1)), 6)
    out = tmp_path / "cut.png"
    assert main(["image", str(photo), "-o", str(out), "--alpha", "--model",
                 str(tiny_tflite(3))]) == 0
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape == (60, 100, 4)


def test_no_or_broken_exif_means_upright():
    assert io.exif_orientation(b"\x89PNG\r\n\x1a\n") == 1
    assert io.exif_orientation(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00XX") == 1
