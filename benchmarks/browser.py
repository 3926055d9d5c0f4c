"""Drive the web app (`web/`, served by `bgseg web`) in the system's headless Chromium through
Playwright: used by the browser tests (`pytest -m browser`) and `benchmarks/web_fps.py`.

Chromium comes from the system (`apt-get install chromium`), never downloaded: Playwright only
drives it (`executable_path`). WebGL is SwiftShader's (software), so GPU-delegate timings here are
a lower bound. A fake camera plays a `.y4m` clip written by `write_y4m`.
"""

import contextlib
import shutil
import tempfile
import threading

import numpy as np

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
READY_TIMEOUT_MS = 120_000


def chromium_path():
    """The system Chromium's path, or None."""
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


def missing():
    """Why the browser checks cannot run here (a one-line reason), or None."""
    if chromium_path() is None:
        return "no system Chromium (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    from bgseg import webapp as web

    try:
        web.check_built(web.web_root())
    except FileNotFoundError as error:
        return str(error)
    return None


def write_y4m(path, frames, fps=30):
    """Write RGB uint8 frames (even width and height) as a YUV 4:2:0 .y4m clip (BT.601)."""
    import cv2

    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())


@contextlib.contextmanager
def served():
    """The built web app served on a free 127.0.0.1 port: yields its base URL."""
    from bgseg import webapp as web

    server = web.make_server(port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium(camera=None, fake_ui=True, fake_device=True):
    """A headless system Chromium (Playwright Browser): `camera` a .y4m clip for the fake camera;
    `fake_ui` grants camera permission without asking; `fake_device=False` leaves no camera."""
    from playwright.sync_api import sync_playwright

    flags = list(FLAGS)
    if fake_ui:
        flags.append("--use-fake-ui-for-media-stream")
    if fake_device:
        flags.append("--use-fake-device-for-media-stream")
    if camera:
        flags.append(f"--use-file-for-fake-video-capture={camera}")
    with tempfile.TemporaryDirectory(prefix="bgseg-chromium-") as profile, \
            sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), headless=True, args=flags,
            viewport={"width": 1000, "height": 760})
        try:
            yield context
        finally:
            context.close()


def open_page(context, url):
    """Load the page and wait until it has loaded its model (or shown why not)."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=READY_TIMEOUT_MS)
    return page


def page_error(page):
    """The page's visible error message, or ''."""
    return page.inner_text("#error") if page.is_visible("#error") else ""


SEGMENT_FRAMES_JS = """
async (urls) => {
  const app = window.bgsegApp, segmenter = app.segmenter;
  segmenter.reset();
  const masks = [], times = [];
  for (const url of urls) {
    const image = new Image();
    image.src = url;
    await image.decode();
    const mask = segmenter.segment(image, image.naturalWidth, image.naturalHeight);
    times.push(segmenter.timings.model);
    const bytes = new Uint8Array(mask.data.buffer.slice(0));
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    masks.push({width: mask.width, height: mask.height, data: btoa(text)});
  }
  return {masks, times, delegate: segmenter.delegate};
}
"""


def png_data_url(rgb):
    import base64

    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode()


SEGMENT_PHOTO_JS = """
async (url) => {
  const segmenter = window.bgsegApp.segmenter, image = new Image();
  image.src = url;
  await image.decode();
  const mask = segmenter.segmentStill(image, image.naturalWidth, image.naturalHeight);
  const bytes = new Uint8Array(mask.data.buffer.slice(0));
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return {width: mask.width, height: mask.height, data: btoa(text),
          runs: segmenter.timings.runs, delegate: segmenter.delegate};
}
"""


def segment_photo_in_page(page, photo):
    """The page's raw still-photo mask (float32, frame-shaped) of an RGB photo, the model runs it
    took and the delegate used."""
    import base64

    m = page.evaluate(SEGMENT_PHOTO_JS, png_data_url(photo))
    mask = np.frombuffer(base64.b64decode(m["data"]), np.float32).reshape(m["height"], m["width"])
    return mask, m["runs"], m["delegate"]


def segment_in_page(page, frames):
    """The page's raw masks (float32 arrays, frame-shaped) for RGB frames fed as one video stream,
    the per-frame model milliseconds and the delegate used."""
    import base64

    result = page.evaluate(SEGMENT_FRAMES_JS, [png_data_url(f) for f in frames])
    masks = [np.frombuffer(base64.b64decode(m["data"]), np.float32).reshape(m["height"],
                                                                             m["width"])
             for m in result["masks"]]
    return masks, result["times"], result["delegate"]


def person_frames(count=8, width=320, height=240, step=6):
    """Frames of a person moving on a gradient: examples/astronaut.jpg, small enough to be zoomed
    on (a person fills less than 80 % of the frame), shifted `step` pixels a frame."""
    side = int(0.7 * height)
    person, background = _astronaut(side), _gradient(width, height)
    frames = []
    for t in range(count):
        frame = background.copy()
        x0 = 40 + step * t
        frame[height - side:, x0:x0 + side] = person
        frames.append(frame)
    return frames


def group_photo(width=720, height=400):
    """A still photo of two small people far apart on a gradient (examples/astronaut.jpg twice):
    the runtime gives it the mirrored first look and a closer look for each person. Its shorter
    side is above 360 px, so the runtime's canvas is smaller than the photo."""
    side = int(0.45 * height)
    person, frame = _astronaut(side), _gradient(width, height)
    for x0 in (16, width - 16 - side):
        frame[height - side:, x0:x0 + side] = person
    return frame


def _astronaut(side):
    from pathlib import Path

    import cv2

    photo = cv2.imread(str(Path(__file__).resolve().parent.parent / "examples" / "astronaut.jpg"))
    return cv2.resize(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB), (side, side),
                      interpolation=cv2.INTER_AREA)


def _gradient(width, height):
    yy, xx = np.mgrid[:height, :width]
    return np.stack([60 + 90 * xx / width, 120 + 40 * yy / height,
                     170 - 60 * xx / width], -1).astype(np.uint8)
