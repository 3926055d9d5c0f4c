"""`bgseg image` end to end on files and folders, and every bad input."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from bgseg.cli import main


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


def _image(path, shape=(40, 60, 3), dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    high = 65535 if dtype == np.uint16 else 255
    data = rng.integers(0, high, shape).astype(dtype)
    assert cv2.imwrite(str(path), data)
    return path


def _leftovers(folder):
    return [p.name for p in folder.rglob(".*") if p.is_file()]


def test_single_file_alpha_png(tmp_path, model, capsys):
    source = _image(tmp_path / "photo.jpg")
    out = tmp_path / "person.png"
    assert main(["image", str(source), "-o", str(out), "--alpha", "--model", model]) == 0
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert result.shape == (40, 60, 4)
    assert "1 image(s) written" in capsys.readouterr().err


from tests.helpers import PHOTO  # noqa: E402

PERSON, WALL = (slice(120, 300), slice(180, 260)), (slice(0, 60), slice(300, 380))  # of the photo


@pytest.mark.parametrize("option,channels", [(["--background", "#00ff00"], 3), (["--blur", "9"], 3),
                                             (["--mask-only"], 1), (["--no-refine"], 4)])
def test_effect_options_change_the_background_only(tmp_path, option, channels):
    """On a real photo with the shipped image model: the person's pixels are the input's, the
    wall's are what the effect says (a no-op effect, or one applied everywhere, fails)."""
    out = tmp_path / "out.png"
    assert main(["image", str(PHOTO), "-o", str(out), *option]) == 0
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    source = cv2.imread(str(PHOTO)).astype(int)
    assert result.shape[:2] == (512, 512)
    assert (result.shape[2] if result.ndim == 3 else 1) == channels
    if "--mask-only" in option:
        assert result[PERSON].mean() > 230 and result[WALL].mean() < 25
        return
    rgb = result[..., :3].astype(int)
    assert np.abs(rgb[PERSON] - source[PERSON]).mean() < 6          # the person is untouched
    if "--background" in option:
        assert np.abs(rgb[WALL] - (0, 255, 0)).mean() < 20          # BGR green
    elif "--blur" in option:
        assert np.abs(rgb[WALL] - source[WALL]).mean() > 2          # the wall changed...
        assert rgb[WALL].std() < source[WALL].std()                 # ...and lost texture
    else:
        assert result[..., 3][PERSON].mean() > 230 and result[..., 3][WALL].mean() < 25


def test_folder_batch_keeps_names(tmp_path, model, capsys):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    _image(folder / "a.jpg")
    _image(folder / "sub" / "b.png", shape=(30, 30, 3))
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert main(["image", str(folder), "-o", str(out), "--model", model, "--threads", "2"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == ["a.png", "sub/b.png"]
    assert "2 image(s) written" in capsys.readouterr().err
    # an effect without alpha keeps each input's format
    out2 = tmp_path / "out2"
    assert main(["image", str(folder), "-o", str(out2), "--model", model,
                 "--background", "red"]) == 0
    assert (out2 / "a.jpg").is_file() and (out2 / "sub" / "b.png").is_file()


def test_bad_inputs_in_a_batch(tmp_path, model, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    _image(folder / "good.png")
    _image(folder / "gray.png", shape=(40, 60))
    _image(folder / "rgba.png", shape=(40, 60, 4))
    _image(folder / "deep.png", dtype=np.uint16)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("hello, I am not a JPEG")
    whole = (folder / "whole.jpg")
    _image(whole, shape=(64, 64, 3))
    (folder / "truncated.jpg").write_bytes(whole.read_bytes()[:-300])
    whole.unlink()
    _image(folder / "huge.png", shape=(80, 80, 3))
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)          # a 0x0 PNG
    (folder / "zero.png").write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr
                                      + struct.pack(">I", zlib.crc32(ihdr)) + b"\0" * 12 + b"IEND")
    out = tmp_path / "out"
    code = main(["image", str(folder), "-o", str(out), "--model", model, "--max-pixels", "5000"])
    err = capsys.readouterr().err
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["deep.png", "good.png", "gray.png", "rgba.png"]
    for name, reason in [("empty.jpg", "empty file"), ("text.jpg", "not an image"),
                         ("truncated.jpg", "truncated"), ("huge.png", "image too large"),
                         ("zero.png", "zero-size image")]:
        assert f"{folder / name}: {reason}" in err
    assert "4 image(s) written" in err and "5 failed" in err
    assert _leftovers(out) == []


def test_missing_input_and_missing_model(tmp_path, model, capsys):
    assert main(["image", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o.png"),
                 "--model", model]) == 1
    assert "nope.jpg: no such file" in capsys.readouterr().err
    source = _image(tmp_path / "a.png")
    assert main(["image", str(source), "-o", str(tmp_path / "o.png"),
                 "--model", str(tmp_path / "missing.tflite")]) == 2
    assert "missing.tflite" in capsys.readouterr().err


def test_never_overwrites(tmp_path, model, capsys):
    source = _image(tmp_path / "a.png")
    before = source.read_bytes()
    assert main(["image", str(source), "-o", str(source), "--model", model, "--overwrite"]) == 1
    assert "same file as the input" in capsys.readouterr().err
    assert source.read_bytes() == before
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    assert main(["image", str(source), "-o", str(out), "--model", model]) == 1
    assert "output exists" in capsys.readouterr().err and out.read_bytes() == b"precious"
    assert main(["image", str(source), "-o", str(out), "--model", model, "--overwrite"]) == 0
    assert cv2.imread(str(out)) is not None
    assert _leftovers(tmp_path) == []


def test_alpha_into_jpeg_is_refused(tmp_path, model, capsys):
    source = _image(tmp_path / "a.png")
    out = tmp_path / "o.jpg"
    assert main(["image", str(source), "-o", str(out), "--model", model, "--alpha"]) == 1
    assert "cannot store transparency" in capsys.readouterr().err and not out.exists()


def test_several_inputs_need_a_folder(tmp_path, model, capsys):
    a, b = _image(tmp_path / "a.png"), _image(tmp_path / "b.png")
    assert main(["image", str(a), str(b), "-o", str(tmp_path / "o.png"), "--model", model]) == 2
    assert "output folder" in capsys.readouterr().err
