"""A newcomer's failure paths (issue 9): each numbered finding has a regression test here, on
generated data only."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgseg import io, preview, video_io
from bgseg.cli import main
from tests.helpers import noise_clip

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


@pytest.fixture(scope="module")
def image_model(tiny_tflite):
    return str(tiny_tflite(3, "float32"))


def _no_leftovers(folder):
    return [p.name for p in Path(folder).rglob(".*") if p.is_file()]


# 1. the quickstart needs nothing but the clone
def test_quickstart_photo_ships_with_the_repository(tmp_path):
    photo = ROOT / "examples" / "astronaut.jpg"
    assert photo.is_file() and io.read_image(photo).shape == (512, 512, 3)
    out = tmp_path / "astronaut_cutout.png"
    assert main(["image", str(photo), "-o", str(out), "--alpha"]) == 0
    cutout = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert cutout.shape == (512, 512, 4)
    # the shipped image model finds her: her face is opaque, the wall above is transparent
    assert cutout[120:300, 180:260, 3].mean() > 200 and cutout[:60, 300:380, 3].mean() < 50


# 3. a video reported as a success is complete, or there is no video
def test_disk_full_midway_leaves_no_output_and_fails(tmp_path, model, capsys, monkeypatch):
    clip = noise_clip(tmp_path / "in.avi")
    monkeypatch.setattr(video_io, "_free_bytes", lambda folder: 0)
    out = tmp_path / "out" / "x.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model]) == 1
    err = capsys.readouterr().err
    assert "the disk is full after 10 frames" in err and "frames written" not in err
    assert not out.exists() and _no_leftovers(tmp_path / "out") == []


def test_an_unplayable_result_is_refused(tmp_path, model, capsys, monkeypatch):
    clip = noise_clip(tmp_path / "in.avi")
    monkeypatch.setattr(video_io.VideoWriter, "write", lambda self, frame, seconds=None: setattr(
        self, "frames", self.frames + 1))  # frames "written" that never reach the file
    out = tmp_path / "x.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model]) == 1
    assert "the written video is incomplete (0 of 20 frames" in capsys.readouterr().err
    assert not out.exists() and _no_leftovers(tmp_path) == []


def test_a_file_damaged_midway_is_reported(tmp_path, model, capsys, monkeypatch):
    clip = noise_clip(tmp_path / "in.avi")
    real_timed = video_io.VideoReader.timed
    monkeypatch.setattr(video_io.VideoReader, "timed", lambda self: (  # the decoder gives up at 8
        f for _, f in zip(range(8), real_timed(self))))
    out = tmp_path / "x.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "stopped after 8 of 20 frames" in err and out.is_file()
    strict = tmp_path / "strict.mp4"
    assert main(["video", str(clip), "-o", str(strict), "--model", model, "--strict"]) == 1
    assert "stopped after 8 of 20 frames" in capsys.readouterr().err and not strict.exists()


# 4. output-path problems are one line, never a traceback; SIGTERM cleans up; no display, no abort
@pytest.mark.parametrize("command, name", [("video", "x.mp4"), ("image", "x.png")])
def test_output_under_a_file_is_one_line(tmp_path, model, capsys, command, name):
    source = (noise_clip(tmp_path / "in.avi") if command == "video"
              else ROOT / "examples/astronaut.jpg")
    blocker = tmp_path / "same.jpg"
    blocker.write_text("a file, not a folder")
    out = blocker / name
    args = [command, str(source), "-o", str(out), "--model",
            model if command == "video" else "default_image"]
    assert main(args) == 1  # the same exit code for the same output problem (issue 22)
    err = capsys.readouterr().err.strip().splitlines()
    assert any(f"{out}: cannot create the output: a parent of it is a file" in line for line in err)
    assert not any(str(source) + ":" in line for line in err)  # the input is not blamed


def test_sigterm_during_video_cleans_up(tmp_path, model):
    clip = noise_clip(tmp_path / "in.avi", frames=400, size=(320, 240))
    out = tmp_path / "out" / "x.mp4"
    process = subprocess.Popen([sys.executable, "-m", "bgseg", "video", str(clip), "-o", str(out),
                                "--model", model], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not _no_leftovers(tmp_path / "out") if (tmp_path / "out").exists() else True:
        if process.poll() is not None:
            raise AssertionError(f"exited ({process.returncode}) before its temp file was seen: "
                                 f"{process.stderr.read()[-2000:]}")
        assert time.time() < deadline, "no temp file appeared"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err, (process.returncode, err[-2000:])
    assert not out.exists() and _no_leftovers(tmp_path / "out") == [], err[-2000:]


def test_webcam_without_a_display(tmp_path, model, capsys, monkeypatch):
    clip = noise_clip(tmp_path / "in.avi", frames=5)
    monkeypatch.setattr(preview, "has_gui", lambda: True)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["webcam", "--camera", str(clip), "--model", model, "--port", "0"]) == 0
    assert "no display" in capsys.readouterr().err           # previewed in the browser instead
    out = tmp_path / "cam.avi"
    assert main(["webcam", "--camera", str(clip), "--model", model, "-o", str(out)]) == 0
    assert "no preview window, writing" in capsys.readouterr().err and out.is_file()


# 5. an output folder inside the input folder
def test_output_folder_inside_the_input_folder(tmp_path, image_model, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        cv2.imwrite(str(photos / f"p{i}.png"), np.full((32, 48, 3), 60 * i, np.uint8))
    for _ in range(2):
        assert main(["image", str(photos), "-o", str(photos / "out"), "--model", image_model,
                     "--overwrite"]) == 0
    assert sorted(p.relative_to(photos).as_posix() for p in photos.rglob("*.png")) == [
        "out/p0.png", "out/p1.png", "p0.png", "p1.png"]
    assert "2 image(s) written" in capsys.readouterr().err


# 6. the core install explains the missing extra
BLOCK_KERAS = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras", "tensorflow", "tf_keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
"""


def test_core_install_names_the_train_extra(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text('{"model": "selfie_256", "sources": [{"type": "folder", "path": "x"}]}')
    code = BLOCK_KERAS + (
        "from bgseg.cli import main\n"
        f"print('exit', main(['export', '{tmp_path}/m.keras', '-o', '{tmp_path}/m.tflite']))\n"
        f"print('exit', main(['train', '--config', '{recipe}']))\n"
        "import bgseg\n"
        "try:\n    bgseg.build_model('selfie_256')\n"
        "except ImportError as e:\n    print('api:', e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.count("exit 2") == 2, result.stderr
    assert 'needs the [train] extra' in result.stderr and 'pip install -e ".[train]"' in \
        result.stderr and "Traceback" not in result.stderr  # a clone: no bgseg on the index
    assert 'api: building models needs Keras and TensorFlow: pip install -e ".[train]"' in \
        result.stdout


# 7. quiet by default
def test_litert_info_line_only_with_verbose(tmp_path, image_model):
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.full((32, 48, 3), 90, np.uint8))
    runs = {}
    for flags in ([], ["--verbose"]):
        out = tmp_path / f"out{len(flags)}.png"
        runs[bool(flags)] = subprocess.run(
            [sys.executable, "-m", "bgseg", *flags, "image", str(photo), "-o", str(out), "--model",
             image_model], capture_output=True, text=True, timeout=120)
        assert runs[bool(flags)].returncode == 0, runs[bool(flags)].stderr
    assert "XNNPACK" not in runs[False].stderr
    assert "XNNPACK" in runs[True].stderr


def test_image_example_never_overwrites(tmp_path):
    example = ROOT / "examples" / "image.py"
    first = subprocess.run([sys.executable, str(example), str(ROOT / "examples/astronaut.jpg"),
                            str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "astronaut_cutout.png").is_file()
    again = subprocess.run([sys.executable, str(example), str(ROOT / "examples/astronaut.jpg"),
                            str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "output exists" in again.stderr
    assert "--overwrite" not in again.stderr  # the example has no such option
    assert "Traceback" not in again.stderr
    missing = subprocess.run([sys.executable, str(example), str(tmp_path / "none.jpg")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "none.jpg: no such file" in missing.stderr


# 8. a still image is not a video; logits are not probabilities
def test_video_on_a_still_image_is_refused(tmp_path, model, capsys):
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), np.full((32, 48, 3), 90, np.uint8))
    assert main(["video", str(photo), "-o", str(tmp_path / "x.mp4"), "--model", model]) == 1
    assert "is a still image, not a video" in capsys.readouterr().err


def test_a_model_that_outputs_logits_is_refused(tiny_tflite):
    """A 1x1 convolution without a sigmoid (tests/make_tiny_models.py)."""
    from bgseg.runtime import ModelContractError, load

    with pytest.raises(ModelContractError, match=r"not a probability in \[0, 1\] \(logits"):
        load(str(tiny_tflite.contract_breaker("logits")))
