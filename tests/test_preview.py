"""bgseg.preview and bgseg.capture: the browser MJPEG stream read by a real HTTP client, the
window probe under a bogus DISPLAY, the virtual camera's messages, newest-frame capture."""

import sys
import threading
import time
import types
import urllib.request

import cv2
import numpy as np
import pytest

from bgseg import preview
from bgseg.capture import LatestFrames
from bgseg.cli import main
from tests.helpers import noise_clip


@pytest.fixture
def browser():
    sink = preview.BrowserPreview(port=0)
    yield sink
    sink.close()


def _read_part(stream):
    """One part of a multipart/x-mixed-replace body: (headers dict, JPEG bytes)."""
    boundary = stream.readline().strip()
    assert boundary == f"--{preview.BOUNDARY}".encode()
    headers = {}
    while (line := stream.readline().strip()):
        key, value = line.decode().split(":", 1)
        headers[key.strip().lower()] = value.strip()
    body = stream.read(int(headers["content-length"]))
    assert stream.read(2) == b"\r\n"
    return headers, body


def test_browser_preview_streams_jpeg_frames(browser):
    assert browser.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(browser.url, timeout=10) as page:
        assert b"/stream" in page.read() and "text/html" in page.headers["Content-Type"]
    red = np.zeros((48, 80, 3), np.uint8)
    red[..., 0] = 255                                               # RGB in, JPEG is BGR
    stream = urllib.request.urlopen(browser.url + "stream", timeout=10)
    assert stream.headers["Content-Type"] == (
        f"multipart/x-mixed-replace; boundary={preview.BOUNDARY}")

    def publish():  # frames keep coming, as from the webcam loop
        for value in (255, 0):
            frame = red.copy()
            frame[..., 2] = value
            for _ in range(20):
                browser(frame)
                time.sleep(0.02)

    feeder = threading.Thread(target=publish)
    feeder.start()
    try:
        headers, body = _read_part(stream)
        assert headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (48, 80, 3)
        assert image[..., 2].mean() > 200                          # the red channel survived
        _read_part(stream)                                          # and the next frame came
    finally:
        feeder.join()
        stream.close()
    with urllib.request.urlopen(browser.url + "frame.jpg", timeout=10) as single:
        assert cv2.imdecode(np.frombuffer(single.read(), np.uint8), 1).shape == (48, 80, 3)


def test_browser_preview_takes_rgba_and_masks(browser):
    assert browser(np.zeros((10, 12, 4), np.uint8)) and browser(np.zeros((10, 12), np.uint8))
    with urllib.request.urlopen(browser.url + "frame.jpg", timeout=10) as single:
        assert cv2.imdecode(np.frombuffer(single.read(), np.uint8), 0).shape == (10, 12)


def test_busy_port_is_one_clear_error(browser):
    port = int(browser.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(preview.PreviewError, match=f"127.0.0.1:{port}.*another --port"):
        preview.BrowserPreview(port=port)


def test_bogus_display_is_probed_in_a_child(monkeypatch):
    monkeypatch.setattr(preview, "has_gui", lambda: True)
    monkeypatch.setenv("DISPLAY", ":4242")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert "':4242' cannot be opened" in preview.window_problem()
        assert preview.choose_mode("auto") == ("browser", preview.window_problem())
        with pytest.raises(preview.PreviewError, match="no preview window.*--preview browser"):
            preview.choose_mode("window")


def test_headless_window_request_names_the_gui_install(monkeypatch):
    monkeypatch.setattr(preview, "has_gui", lambda: False)
    with pytest.raises(preview.PreviewError, match="uninstall -y opencv-python-headless"):
        preview.choose_mode("window")


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return noise_clip(tmp_path_factory.mktemp("preview") / "clip.avi", 6)


@pytest.mark.parametrize("display", [None, ":4242"])
def test_webcam_exits_cleanly_whatever_display_holds(model, clip, capsys, monkeypatch, display):
    monkeypatch.setattr(preview, "has_gui", lambda: True)            # a GUI build of OpenCV
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if display is None:
        monkeypatch.delenv("DISPLAY", raising=False)
    else:
        monkeypatch.setenv("DISPLAY", display)
    assert main(["webcam", "--camera", str(clip), "--model", model, "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert "preview is in the browser" in err and "6 frames" in err
    assert main(["webcam", "--camera", str(clip), "--model", model, "--preview", "window"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no preview window" in err and len(err.splitlines()) == 1


def test_webcam_preview_none_needs_an_output(model, clip, capsys):
    assert main(["webcam", "--camera", str(clip), "--model", model, "--preview", "none"]) == 2
    assert "nothing to do" in capsys.readouterr().err


def test_virtual_camera_missing_package_and_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)
    with pytest.raises(preview.PreviewError, match=r'pip install "bgseg\[virtualcam\]"'):
        preview.VirtualCamera(80, 48, 30)

    def no_device(*args, **kwargs):
        raise RuntimeError("'v4l2loopback' backend: no v4l2 loopback device found")

    fake = types.SimpleNamespace(Camera=no_device,
                                 PixelFormat=types.SimpleNamespace(RGB="RGB"))
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    with pytest.raises(preview.PreviewError, match="no virtual camera device: .*loopback"):
        preview.VirtualCamera(80, 48, 30)


def test_virtual_camera_gets_rgb_frames(monkeypatch):
    sent = []

    class Camera:
        device = "/dev/video9"

        def __init__(self, width, height, fps, fmt):
            assert (width, height, fps, fmt) == (80, 48, 30, "RGB")

        def send(self, frame):
            sent.append(frame.shape)

        def close(self):
            sent.append("closed")

    fake = types.SimpleNamespace(Camera=Camera, PixelFormat=types.SimpleNamespace(RGB="RGB"))
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    camera = preview.VirtualCamera(80, 48, 30)
    assert camera(np.zeros((48, 80, 4), np.uint8)) and camera(np.zeros((48, 80), np.uint8))
    camera.close()
    assert sent == [(48, 80, 3), (48, 80, 3), "closed"]


def test_latest_frames_hands_out_the_newest_frame():
    def camera():  # 40 frames, faster than the consumer takes them
        for index in range(40):
            time.sleep(0.002)
            yield index

    frames = LatestFrames(camera())
    seen = []
    for index in frames:
        seen.append(index)
        time.sleep(0.02)                                            # a slow segmentation
    frames.close()
    assert seen == sorted(seen) and seen[-1] == 39 and len(seen) < 40
    assert frames.dropped == 40 - len(seen)


def test_latest_frames_passes_on_a_read_error():
    def broken():
        yield 1
        raise OSError("camera unplugged")

    frames = LatestFrames(broken())
    with pytest.raises(OSError, match="unplugged"):
        list(frames)
