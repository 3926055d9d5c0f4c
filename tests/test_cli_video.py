"""`bgseg video` and `bgseg webcam` end to end on tiny generated videos."""

import cv2
import numpy as np
import pytest

from bgseg import preview
from bgseg.cli import main
from tests.helpers import PHOTO, noise_clip


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return noise_clip(tmp_path_factory.mktemp("video") / "clip.avi", 8)


def _props(path):
    capture = cv2.VideoCapture(str(path))
    props = (capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
             int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return (*props, frames)


@pytest.mark.parametrize("suffix,option", [(".mp4", ["--blur", "4"]), (".avi", ["--mask-only"]),
                                           (".mp4", ["--smooth", "--no-refine"])])
def test_video_keeps_fps_size_and_frames(tmp_path, model, clip, capsys, suffix, option):
    out = tmp_path / f"out{suffix}"
    assert main(["video", str(clip), "-o", str(out), "--model", model, *option]) == 0
    assert _props(out) == (12.0, 80, 48, 8)
    assert "8 frames written" in capsys.readouterr().err


def test_video_background_and_max_frames(tmp_path, model, clip):
    out = tmp_path / "out.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--background", str(clip),
                 "--max-frames", "3"]) == 0
    assert _props(out)[1:] == (80, 48, 3)


def test_video_bad_inputs(tmp_path, model, clip, capsys):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    out = tmp_path / "out.mp4"
    assert main(["video", str(fake), "-o", str(out), "--model", model]) == 1
    assert f"{fake}: the video will not open" in capsys.readouterr().err
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert main(["video", str(tmp_path / "empty.mp4"), "-o", str(out), "--model", model]) == 1
    assert "empty file" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", str(clip), "--model", model, "--overwrite"]) == 1
    assert "same file as the input" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--alpha"]) == 2
    assert "transparency" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", str(tmp_path / "out.gif"), "--model", model]) == 2
    assert "unknown video format" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob(".*")) == []


def test_failure_midway_leaves_no_output(tmp_path, model, clip, monkeypatch):
    from bgseg.runtime import VideoSegmenter

    calls = []
    original = VideoSegmenter.segment

    def failing(self, frame, **options):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return original(self, frame, **options)

    monkeypatch.setattr(VideoSegmenter, "segment", failing)
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="simulated"):
        main(["video", str(clip), "-o", str(out), "--model", model])
    assert list(tmp_path.iterdir()) == []


def test_webcam_writes_a_file_from_a_stream(tmp_path, model, clip, capsys):
    out = tmp_path / "cam.avi"
    assert main(["webcam", "--camera", str(clip), "-o", str(out), "--max-frames", "5",
                 "--model", model, "--no-preview", "--background", "white"]) == 0
    assert _props(out)[1:] == (80, 48, 5)
    assert "5 frames to" in capsys.readouterr().err


def test_webcam_without_gui_previews_in_the_browser(model, clip, capsys, monkeypatch):
    monkeypatch.setattr(preview, "has_gui", lambda: False)
    assert main(["webcam", "--camera", str(clip), "--model", model, "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert "no GUI" in err and "preview is in the browser" in err and "http://127.0.0.1:" in err


def test_webcam_camera_that_will_not_open(tmp_path, model, capsys):
    assert main(["webcam", "--camera", str(tmp_path / "none.mp4"), "-o", str(tmp_path / "o.avi"),
                 "--model", model]) == 1
    assert "none.mp4: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["video", "webcam"])
def test_max_frames_below_one_is_refused(command, tmp_path, capsys):
    from bgseg.cli import main

    source = ["in.mp4"] if command == "video" else []
    assert main([command, *source, "-o", str(tmp_path / "out.mp4"), "--max-frames", "0"]) == 2
    assert "--max-frames must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()


def test_video_writes_the_composite_not_the_input(tmp_path):
    """The shipped video model on a clip of the sample photo: her pixels pass through, the wall
    becomes the requested colour (writing the input frames back would fail)."""

    photo = cv2.imread(str(PHOTO))
    clip = tmp_path / "astronaut.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (512, 512))
    for _ in range(6):
        writer.write(photo)
    writer.release()
    out = tmp_path / "out.avi"
    assert main(["video", str(clip), "-o", str(out), "--background", "white"]) == 0
    capture = cv2.VideoCapture(str(out))
    frames = [capture.read()[1] for _ in range(6)]
    capture.release()
    last = frames[-1].astype(int)
    person, wall = (slice(120, 300), slice(180, 260)), (slice(0, 60), slice(300, 380))
    assert np.abs(last[person] - photo[person]).mean() < 12
    assert last[wall].mean() > 235 and photo[wall].mean() < 200
