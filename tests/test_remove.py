"""`bgseg.remove()` on every input kind, `bgseg image` pipes, HEIC input, --skip-existing and the
image command's output rules (unknown extension, JPEG default, skipped files, name clashes)."""

import io
import subprocess
import sys

import cv2
import numpy as np
import pytest

import bgseg
from bgseg.cli import main


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


def _rgb(shape=(40, 60, 3), seed=0, dtype=np.uint8):
    high = 65535 if dtype == np.uint16 else 255
    return np.random.default_rng(seed).integers(0, high, shape, dtype=dtype)


def _encoded(image, ext=".png"):
    return cv2.imencode(ext, image)[1].tobytes()


def test_bytes_in_encoded_bytes_out(model):
    out = bgseg.remove(_encoded(_rgb()), model=model)
    assert out[:8] == b"\x89PNG\r\n\x1a\n"
    assert cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_UNCHANGED).shape == (40, 60, 4)
    jpeg = bgseg.remove(_encoded(_rgb()), model=model, format="jpg")
    assert jpeg[:2] == b"\xff\xd8"  # no effect and no alpha in JPEG: on white


def test_bytes_match_the_cli(model, tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(_encoded(_rgb()))
    assert main(["image", str(source), "-o", str(tmp_path / "out.png"), "--blur", "4",
                 "--model", model]) == 0
    assert bgseg.remove(source.read_bytes(), blur=4, model=model) == \
        (tmp_path / "out.png").read_bytes()


@pytest.mark.parametrize("shape,dtype", [((40, 60), np.uint8), ((40, 60, 1), np.uint8),
                                         ((40, 60, 3), np.uint8), ((40, 60, 4), np.uint8),
                                         ((40, 60, 3), np.uint16), ((40, 60, 4), np.uint16)])
def test_numpy_kinds(model, shape, dtype):
    out = bgseg.remove(_rgb(shape, dtype=dtype), model=model)
    assert out.dtype == np.uint8 and out.shape == (40, 60, 4)
    assert bgseg.remove(_rgb(shape, dtype=dtype), model=model, mask_only=True).shape == (40, 60)
    assert bgseg.remove(_rgb(shape, dtype=dtype), model=model, background="red").shape == \
        (40, 60, 3)


def test_numpy_refuses_float_and_odd_shapes(model):
    with pytest.raises(ValueError, match="unsupported pixel type float32"):
        bgseg.remove(np.zeros((8, 8, 3), np.float32), model=model)
    with pytest.raises(ValueError, match="unsupported image shape"):
        bgseg.remove(np.zeros((8, 8, 5), np.uint8), model=model)
    with pytest.raises(TypeError, match="bytes, a PIL image or a numpy array"):
        bgseg.remove("photo.jpg", model=model)


def test_input_alpha_multiplies_the_mask(model):
    image = _rgb((40, 60, 4))
    image[..., 3] = 255
    image[:, :30, 3] = 0  # the left half is transparent in the input
    out = bgseg.remove(image, model=model)
    assert (out[:, :30, 3] == 0).all()
    opaque = bgseg.remove(image[..., :3], model=model)
    assert np.array_equal(out[:, 30:, 3], opaque[:, 30:, 3])


def test_pil_in_pil_out(model):
    from PIL import Image

    out = bgseg.remove(Image.fromarray(_rgb()), model=model)
    assert isinstance(out, Image.Image) and out.mode == "RGBA" and out.size == (60, 40)
    assert bgseg.remove(Image.fromarray(_rgb()), model=model, mask_only=True).mode == "L"
    background = Image.new("RGB", (10, 10), (0, 0, 255))
    assert bgseg.remove(Image.fromarray(_rgb()), model=model, background=background).mode == "RGB"


def test_remove_imports_no_tensorflow(model):
    code = ("import sys, numpy as np, bgseg; "
            f"bgseg.remove(np.zeros((16, 16, 3), np.uint8), model={model!r}); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pipe_stdin_to_stdout(model):
    data = _encoded(_rgb(), ".jpg")
    run = subprocess.run([sys.executable, "-m", "bgseg", "image", "-", "-o", "-", "--model", model],
                         input=data, capture_output=True, check=True)
    assert run.stdout == bgseg.remove(data, model=model)
    jpeg = subprocess.run([sys.executable, "-m", "bgseg", "image", "-", "-o", "-", "--format",
                           "jpg", "--blur", "3", "--model", model], input=data,
                          capture_output=True, check=True)
    assert jpeg.stdout[:2] == b"\xff\xd8"


def test_pipe_bad_input_is_one_line(model):
    run = subprocess.run([sys.executable, "-m", "bgseg", "image", "-", "-o", "-", "--model", model],
                         input=b"garbage", capture_output=True)
    assert run.returncode == 2 and run.stdout == b""
    assert run.stderr.decode().strip() == \
        "bgseg: error: stdin: not an image, or an unreadable/corrupt one"


def _heic(path, image):
    pillow_heif = pytest.importorskip("pillow_heif", reason="HEIC needs the [heif] extra")
    pillow_heif.from_bytes(mode="RGB", size=(image.shape[1], image.shape[0]),
                           data=image.tobytes()).save(str(path), quality=95)
    return path


def test_heic_input(model, tmp_path):
    from bgseg.io import read_image

    source = _heic(tmp_path / "phone.heic", _rgb((64, 80, 3)))
    assert read_image(source).shape == (64, 80, 3)
    out = tmp_path / "out"
    assert main(["image", str(tmp_path), "-o", str(out), "--model", model]) == 0
    assert cv2.imread(str(out / "phone.png"), cv2.IMREAD_UNCHANGED).shape == (64, 80, 4)
    assert bgseg.remove(source.read_bytes(), model=model)[:4] == b"\x89PNG"


def test_heic_without_pillow_heif_names_the_extra(model, tmp_path, monkeypatch):
    from bgseg.io import InputError, read_image

    source = _heic(tmp_path / "phone.heic", _rgb((16, 16, 3)))
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    with pytest.raises(InputError, match=r'needs pillow-heif: pip install "bgseg\[heif\]"'):
        read_image(source)


def test_pixel_limit_from_tiff_and_webp_headers(monkeypatch):
    from PIL import Image

    from bgseg.io import InputError, decode_image

    for fmt in ("TIFF", "WEBP"):
        buffer = io.BytesIO()
        Image.new("L", (3000, 2000)).save(buffer, fmt)
        monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded before the check"))
        with pytest.raises(InputError, match=r"image too large: 3000x2000 = 6 MP \(limit 1 MP\)"):
            decode_image(buffer.getvalue(), "big", max_pixels=1e6)


def test_tiff_over_pillows_own_limit_is_refused_before_decoding(monkeypatch):
    """The issue's case: 20000x20000 (400 MP, over Pillow's decompression-bomb limit): refused
    from the header, with the size, not decoded."""
    import struct

    from bgseg.io import InputError, decode_image

    entries = [(256, 4, 20000), (257, 4, 20000), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8), (277, 3, 1), (278, 4, 20000), (279, 4, 400_000_000)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in entries) + b"\0" * 4
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd + b"\0" * 64
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded before the check"))
    with pytest.raises(InputError, match=r"image too large: 400 MP \(limit 100 MP\)"):
        decode_image(tiff, "huge.tif")


def test_skip_existing_resumes(model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), _rgb(seed=i))
    out = tmp_path / "out"
    assert main(["image", str(folder), "-o", str(out), "--model", model]) == 0
    assert main(["image", str(folder), "-o", str(out), "--model", model]) == 1  # refuses
    (out / "1.png").unlink()
    kept = (out / "0.png").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["image", str(folder), "-o", str(out), "--skip-existing", "--model", model]) == 0
    err = capsys.readouterr().err
    assert "1 image(s) written" in err and "2 existing kept" in err
    assert (out / "1.png").exists() and (out / "0.png").stat().st_mtime_ns == kept


def test_jpeg_output_without_effect_is_on_white(model, tmp_path, capsys):
    source = tmp_path / "in.png"
    image = _rgb()
    cv2.imwrite(str(source), image)
    assert main(["image", str(source), "-o", str(tmp_path / "out.jpg"), "--model", model]) == 0
    assert "compositing on white" in capsys.readouterr().err
    white = bgseg.remove(_encoded(image), model=model, background="white", format="jpg")
    assert (tmp_path / "out.jpg").read_bytes() == white


@pytest.mark.parametrize("output,reason", [
    ("x.gif", "unknown output extension .gif"), ("noext", "no image extension"),
])
def test_unknown_output_extension_is_an_error(model, tmp_path, capsys, output, reason):
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), _rgb())
    assert main(["image", str(source), "-o", str(tmp_path / output), "--model", model]) == 2
    assert reason in capsys.readouterr().err
    assert not (tmp_path / output).exists()


def test_output_folder_with_slash(model, tmp_path):
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), _rgb())
    assert main(["image", str(source), "-o", f"{tmp_path / 'out'}/", "--model", model]) == 0
    assert (tmp_path / "out" / "in.png").exists()


def test_folder_lists_skipped_files(model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), _rgb())
    (folder / "notes.txt").write_text("x")
    (folder / ".hidden.png").write_bytes(b"x")
    assert main(["image", str(folder), "-o", str(tmp_path / "out"), "--model", model]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "notes.txt: not an image extension" in err
    assert ".hidden.png: hidden file" in err


def test_output_equal_to_input_folder(model, tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), _rgb())
    assert main(["image", str(tmp_path), "-o", str(tmp_path), "--model", model]) == 2
    assert "the output folder is the input folder" in capsys.readouterr().err


def test_two_inputs_one_output_name_both_named(model, tmp_path, capsys):
    for name in ("a/photo.png", "b/photo.png"):
        (tmp_path / name).parent.mkdir()
        cv2.imwrite(str(tmp_path / name), _rgb())
    a, b = tmp_path / "a" / "photo.png", tmp_path / "b" / "photo.png"
    assert main(["image", str(a), str(b), "-o", str(tmp_path / "out"), "--model", model]) == 2
    err = capsys.readouterr().err
    assert f"both {a} and {b} would be written here" in err
    assert not (tmp_path / "out").exists()


def test_folder_format_without_alpha_is_on_white(model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), _rgb())
    out = tmp_path / "out"
    assert main(["image", str(folder), "-o", str(out), "--format", "jpg", "--model", model]) == 0
    assert "compositing on white" in capsys.readouterr().err
    assert (out / "a.jpg").read_bytes() == bgseg.remove(
        (folder / "a.png").read_bytes(), model=model, background="white", format="jpg")
