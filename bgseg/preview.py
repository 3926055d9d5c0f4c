"""Live preview sinks for `bgseg webcam`: an OpenCV window, a browser page (MJPEG on 127.0.0.1),
a virtual camera (pyvirtualcam).

Each sink is called with every output frame (RGB, RGBA or grayscale uint8) and returns False when
the user asked to stop (q/Esc in the window). `open_preview` picks and opens them; nothing here
aborts the process: whether a window can open is probed in a child process first, since Qt/GTK
builds of OpenCV abort (exit 134) on a missing or stale `DISPLAY`.
"""

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

MODES = ("auto", "window", "browser", "none")
WINDOW = "bgseg (q or Esc to quit)"
BOUNDARY = "bgsegframe"
GUI_HINT = ("pip uninstall -y opencv-python-headless && pip install --force-reinstall --no-deps "
            "'opencv-python>=4.9' (the two wheels share the cv2 folder: the headless one must "
            "go first)")
VIRTUALCAM_HINT = 'pip install "bgseg[virtualcam]"'
_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>bgseg preview</title></head>"
         "<body style='margin:0;background:#222;display:flex;justify-content:center'>"
         "<img src='/stream' alt='bgseg live preview' style='max-width:100vw;max-height:100vh'>"
         "</body></html>").encode()


class PreviewError(Exception):
    """A preview sink cannot be opened (the message names the fix)."""


def _to_bgr(frame):
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_RGBA2BGRA if frame.shape[2] == 4 else cv2.COLOR_RGB2BGR)


def has_gui():
    """Whether this OpenCV build can open windows (opencv-python-headless cannot)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() != "NONE"
    return False


def window_problem(timeout=15.0):
    """None when an OpenCV window can be opened here, else the reason in a few words.

    On Linux a display must be set, and a child process must open and close a window (a GUI
    OpenCV with a bogus or stale `DISPLAY` aborts the process that tries, so it is not this one).
    """
    if not has_gui():
        return "this OpenCV build has no GUI (opencv-python-headless)"
    if sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "no display (DISPLAY / WAYLAND_DISPLAY is not set)"
        probe = ("import cv2; cv2.namedWindow('bgseg-probe'); cv2.waitKey(1); "
                 "cv2.destroyAllWindows()")
        try:
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return "opening a window timed out"
        if done.returncode != 0:
            shown = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            return f"the display {shown!r} cannot be opened"
    return None


class WindowPreview:
    """An OpenCV window; q or Esc stops."""

    def __call__(self, frame):
        cv2.imshow(WINDOW, _to_bgr(frame))
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def close(self):
        cv2.destroyAllWindows()


class _Latest:
    """The newest JPEG and its sequence number; readers wait for a newer one."""

    def __init__(self):
        self.jpeg, self.seq, self.closed = None, 0, False
        self.changed = threading.Condition()

    def publish(self, jpeg):
        with self.changed:
            self.jpeg, self.seq = jpeg, self.seq + 1
            self.changed.notify_all()

    def wait_newer(self, seq, timeout=1.0):
        with self.changed:
            self.changed.wait_for(lambda: self.seq != seq or self.closed, timeout)
            return self.jpeg, self.seq


def _handler(latest):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # no request log on the console
            pass

        def _send(self, body, kind):
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                return self._send(_PAGE, "text/html; charset=utf-8")
            if path == "/frame.jpg":
                jpeg, _ = latest.wait_newer(0, timeout=5.0)
                if jpeg is None:
                    return self.send_error(503, "no frame yet")
                return self._send(jpeg, "image/jpeg")
            if path != "/stream":
                return self.send_error(404)
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seq = 0
            try:
                while not latest.closed:
                    jpeg, new = latest.wait_newer(seq)
                    if jpeg is None or new == seq:
                        continue
                    seq = new
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode())
                    self.wfile.write(jpeg + b"\r\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the browser tab was closed
                pass

    return Handler


class BrowserPreview:
    """An MJPEG stream (`/stream`, multipart/x-mixed-replace) and a page showing it (`/`) on
    `host:port` (port 0: any free port), served by http.server on a daemon thread. Clients always
    get the newest frame; a slow client skips frames instead of slowing the stream."""

    def __init__(self, port=8765, host="127.0.0.1", quality=80):
        self.quality = int(quality)
        self._latest = _Latest()
        try:
            self._server = ThreadingHTTPServer((host, port), _handler(self._latest))
        except OSError as exc:
            raise PreviewError(f"cannot serve the preview on {host}:{port} ({exc.strerror}); "
                               f"choose another --port") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="bgseg-preview")
        self._thread.start()

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def __call__(self, frame):
        ok, jpeg = cv2.imencode(".jpg", _to_bgr(frame[..., :3] if frame.ndim == 3 else frame),
                                [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self._latest.publish(jpeg.tobytes())
        return True

    def close(self):
        with self._latest.changed:
            self._latest.closed = True
            self._latest.changed.notify_all()
        self._server.shutdown()
        self._server.server_close()


class VirtualCamera:
    """Frames sent to a virtual camera device (pyvirtualcam: v4l2loopback on Linux, OBS's camera
    on Windows/macOS) so that a video-call app can pick the result as its camera."""

    def __init__(self, width, height, fps):
        try:
            import pyvirtualcam
        except ImportError:
            raise PreviewError(f"--virtual-camera needs pyvirtualcam: {VIRTUALCAM_HINT}") from None
        try:
            self._camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB)
        except Exception as exc:  # pyvirtualcam raises RuntimeError with a platform message
            fix = (" (on Linux: sudo modprobe v4l2loopback devices=1 exclusive_caps=1)"
                   if sys.platform.startswith("linux")
                   else " (install OBS Studio, which provides the virtual camera)")
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PreviewError(f"no virtual camera device: {first}{fix}") from None
        self.device = self._camera.device

    def __call__(self, frame):
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        self._camera.send(frame[..., :3])
        return True

    def close(self):
        self._camera.close()


class Preview:
    """Several sinks called in turn; stops when any of them asks to."""

    def __init__(self, sinks):
        self.sinks = list(sinks)

    def __call__(self, frame):
        keep = True
        for sink in self.sinks:
            keep = sink(frame) and keep
        return keep

    def close(self):
        for sink in self.sinks:
            sink.close()


def choose_mode(mode, fallback="browser"):
    """The preview mode to use, and why no window opens (None when one does or none was asked
    for). `auto` gives a window when one can open, else `fallback` ("browser" or "none")."""
    if mode not in MODES:
        raise PreviewError(f"--preview must be one of {', '.join(MODES)}, got {mode!r}")
    if mode in ("browser", "none"):
        return mode, None
    problem = window_problem()
    if problem is None:
        return "window", None
    if mode == "window":
        hint = f"; for a window: {GUI_HINT}" if not has_gui() else ""
        raise PreviewError(f"no preview window: {problem}{hint} (or use --preview browser)")
    return fallback, problem
