"""`bgseg serve` as a real server on 127.0.0.1 (a subprocess on a free port): every option, every
bad-input class answered with its status and the CLI's reason, the server healthy afterwards,
bodies refused before they are read, and concurrent answers byte-identical to `bgseg image`."""

import concurrent.futures
import io
import os
import socket
import subprocess
import sys
import time
import zlib

import cv2
import numpy as np
import pytest

from bgseg.cli import main

httpx = pytest.importorskip("httpx", reason="the serve tests need httpx (the dev extra)")
pytest.importorskip("fastapi", reason="bgseg serve needs the [serve] extra")

KEY = "test-key"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(model, *options, key=KEY):
    port = _free_port()
    env = {**os.environ, "BGSEG_API_KEY": key}
    process = subprocess.Popen([sys.executable, "-m", "bgseg", "serve", "--port", str(port),
                                "--model", model, *options], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                          headers={"X-API-Key": key})
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(process.stdout.read().decode())
        try:
            client.get("/healthz")
            return process, client
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("bgseg serve did not start within 30 s")


def _stop(process, client):
    client.close()
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


@pytest.fixture(scope="module")
def server(model):
    process, client = _start(model, "--max-bytes", "300000", "--max-pixels", "1e6",
                             "--concurrency", "4")
    yield client
    _stop(process, client)


def _jpeg(shape=(48, 64, 3), seed=0):
    image = np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def _decode(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def _healthy(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_health_docs_and_page(server):
    assert server.get("/healthz").json()["status"] == "ok"
    assert "/v1/remove" in server.get("/openapi.json").json()["paths"]
    assert server.get("/docs").status_code == 200
    assert "v1/remove" in server.get("/").text


# query -> (content type, channels of the decoded answer)
OPTIONS = {
    "": ("image/png", 4), "alpha=true": ("image/png", 4), "background=red": ("image/png", 3),
    "blur=5": ("image/png", 3), "mask_only=true": ("image/png", 1),
    "format=jpg": ("image/jpeg", 3), "format=webp&alpha=1": ("image/webp", 4),
    "format=bmp&blur=3": ("image/bmp", 3), "sharpen=1": ("image/png", 4),
    "zoom=false": ("image/png", 4), "refine=false": ("image/png", 4),
    "foreground=true": ("image/png", 4), "flip=false": ("image/png", 4),
}


@pytest.mark.parametrize("query", OPTIONS)
def test_each_option(server, query):
    answer = server.post(f"/v1/remove?{query}", content=_jpeg())
    assert answer.status_code == 200, answer.text
    content_type, channels = OPTIONS[query]
    assert answer.headers["content-type"] == content_type
    image = _decode(answer.content)
    assert image.shape[:2] == (48, 64) and (image.shape[2] if image.ndim == 3 else 1) == channels


def test_the_mirrored_look_per_request_and_each_models_own_default(server):
    from bgseg.serve.app import ServeConfig

    mirrored = server.post("/v1/mask", content=_jpeg()).content
    plain = server.post("/v1/mask?flip=false", content=_jpeg()).content
    assert plain != mirrored and server.post("/v1/mask", content=_jpeg()).content == mirrored
    assert (ServeConfig().sharpen, ServeConfig().flip) == (2.0, True)
    assert (ServeConfig(model="quality").sharpen, ServeConfig(model="quality").flip) == (1.0, True)
    assert ServeConfig(model="quality", sharpen=3.0, flip=False).flip is False


def _composited(client, answer, background_bgr):
    """Mean error of `answer` against source * mask + background * (1 - mask)."""
    mask = _decode(client.post("/v1/mask", content=_jpeg()).content)[..., None] / 255.0
    source = _decode(_jpeg()).astype(float)
    expected = source * mask + np.array(background_bgr, float) * (1 - mask)
    return np.abs(_decode(answer.content).astype(float) - expected).mean()


def test_background_colour_is_applied(server):
    answer = server.post("/v1/remove?background=red", content=_jpeg())
    assert _composited(server, answer, (0, 0, 255)) < 3
    assert _composited(server, answer, (255, 255, 255)) > 20  # not a no-op


def test_multipart_with_background_upload(server):
    blue = cv2.imencode(".png", np.full((10, 10, 3), (255, 0, 0), np.uint8))[1].tobytes()
    answer = server.post("/v1/remove", data={"format": "png"},
                         files={"file": ("p.jpg", _jpeg(), "image/jpeg"),
                                "background": ("bg.png", blue, "image/png")})
    assert answer.status_code == 200, answer.text
    assert _composited(server, answer, (255, 0, 0)) < 3


def _png_header(width, height):
    """A PNG whose header says width x height (IHDR and IEND only: no pixels to decode)."""
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _big_tiff():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (2000, 2000)).save(buffer, "TIFF", compression="tiff_deflate")
    return buffer.getvalue()


BAD = {  # body, query -> status, reason
    "empty": (b"", "", 400, "empty file"),
    "truncated": (_jpeg()[:-300], "", 400, "truncated image file"),
    "corrupt": (b"\x00not an image" * 40, "", 400, "not an image, or an unreadable/corrupt one"),
    "zero size": (_png_header(0, 0), "", 400, "zero-size image (0x0)"),
    "too many pixels (PNG header)": (_png_header(2000, 2000), "", 413, "image too large"),
    "bad format": (_jpeg(), "format=gif", 400, "format=gif: unknown image format"),
    "alpha to jpeg": (_jpeg(), "alpha=1&format=jpg", 400, ".jpg cannot store transparency"),
    "bad colour": (_jpeg(), "background=nocolour", 400, "is not a colour"),
    "bad number": (_jpeg(), "blur=abc", 400, "blur=abc: not a number"),
    "out of range": (_jpeg(), "sharpen=50", 400, "sharpen=50: must be in [1, 10]"),
    "two effects": (_jpeg(), "blur=3&mask_only=1", 400, "choose one of"),
    "bad flag": (_jpeg(), "zoom=maybe", 400, "zoom=maybe: not a boolean"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gets_its_status_and_reason(server, case):
    body, query, status, reason = BAD[case]
    answer = server.post(f"/v1/remove?{query}", content=body)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]
    _healthy(server)


def test_pixel_limit_from_a_tiff_header_before_decoding(server):
    answer = server.post("/v1/remove", content=_big_tiff())
    assert answer.status_code == 413
    assert "image too large: 2000x2000 = 4 MP (limit 1 MP)" in answer.json()["error"]


def test_multipart_without_file(server):
    answer = server.post("/v1/remove", data={"blur": "3"}, files={"other": ("x", b"1")})
    assert answer.status_code == 400 and "field named 'file'" in answer.json()["error"]
    _healthy(server)


def test_malformed_multipart(server):
    answer = server.post("/v1/remove", content=b"--x\r\nnot a part",
                         headers={"content-type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 400 and "error" in answer.json()
    _healthy(server)


def test_api_key_required(server):
    answer = httpx.post(f"{server.base_url}/v1/remove", content=_jpeg())
    assert answer.status_code == 401 and "API key" in answer.json()["error"]
    wrong = httpx.post(f"{server.base_url}/v1/remove", content=_jpeg(),
                       headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    _healthy(server)


def test_oversize_body_refused_from_content_length(server):
    answer = server.post("/v1/remove", content=b"\xff" * 400_000)
    assert answer.status_code == 413 and "request body too large" in answer.json()["error"]
    _healthy(server)


def test_oversize_chunked_body_refused_while_streaming(server):
    """No Content-Length: the server answers 413 once the body passes the limit, while the client
    has not finished sending (it never waits for, or reads, the whole body)."""
    head = (f"POST /v1/remove HTTP/1.1\r\nHost: {server.base_url.host}\r\n"
            f"X-API-Key: {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"10000\r\n" + b"\x00" * 0x10000 + b"\r\n"
    with socket.create_connection((server.base_url.host, server.base_url.port), 10) as sock:
        sock.sendall(head + chunk * 6)  # 384 KB > the 300 KB limit; the body never ends
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status
    _healthy(server)


def test_concurrent_answers_match_bgseg_image(server, model, tmp_path):
    files = []
    for i in range(8):
        path = tmp_path / f"in{i}.jpg"
        path.write_bytes(_jpeg((40 + 8 * i, 56, 3), seed=i))
        files.append(path)
    out = tmp_path / "out"
    assert main(["image", *map(str, files), "-o", str(out), "--background", "#123456",
                 "--format", "png", "--model", model]) == 0
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: server.post("/v1/remove?background=%23123456",
                                                      content=p.read_bytes()), files * 2))
    for path, answer in zip(files * 2, answers, strict=True):
        assert answer.status_code == 200
        assert answer.content == (out / path.with_suffix(".png").name).read_bytes()


def test_busy_is_503_and_timeout_504(model):
    """One slot, a short timeout: a slow request times out (504) and keeps its slot until its
    work ends, so the next one finds the server busy (503); the server keeps serving."""
    process, client = _start(model, "--concurrency", "1", "--queue-wait", "0.01",
                             "--timeout", "0.05")
    try:
        slow = cv2.imencode(".png", np.random.default_rng(0).integers(
            0, 255, (2000, 2000, 3), dtype=np.uint8))[1].tobytes()
        first = client.post("/v1/remove?foreground=1", content=slow)
        assert first.status_code == 504 and "not done within 0.05 s" in first.json()["error"]
        second = client.post("/v1/remove", content=_jpeg())
        assert second.status_code == 503 and "busy" in second.json()["error"]
        _healthy(client)
    finally:
        _stop(process, client)


def test_missing_extra_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert main(["serve"]) == 2
    assert 'pip install "bgseg[serve]"' in capsys.readouterr().err


def test_static_folder_mounted(tmp_path):
    from starlette.testclient import TestClient

    from bgseg.serve.app import create_app

    (tmp_path / "index.html").write_text("<p>browser app</p>")
    app = create_app(model="default_image", static=str(tmp_path))
    assert "browser app" in TestClient(app).get("/app/").text


def _built_web_app(folder):
    (folder / "vendor" / "tasks-vision").mkdir(parents=True)
    (folder / "index.html").write_text("<p>browser app</p>")
    (folder / "app.mjs").write_text("export {};")
    (folder / "vendor" / "tasks-vision" / "vision_bundle.mjs").write_text("export {};")
    return folder


def test_web_app_mounted_with_its_models(tmp_path):
    from starlette.testclient import TestClient

    from bgseg import webapp
    from bgseg.serve.app import create_app

    client = TestClient(create_app(model="default_image", web=str(_built_web_app(tmp_path))))
    assert "browser app" in client.get("/app/").text
    assert client.get("/app/app.mjs").headers["content-type"] == "text/javascript"
    shipped = client.get("/app/models/default_video.tflite")  # the app's models/NAME.tflite
    assert shipped.status_code == 200
    assert shipped.content == (webapp.ASSETS / "default_video.tflite").read_bytes()
    for name in ("pretrained.json", "default_image.keras", "nothing.tflite"):
        answer = client.get(f"/app/models/{name}")
        assert answer.status_code == 404 and "shipped .tflite" in answer.json()["error"]


def test_web_option_refuses_an_unbuilt_app(tmp_path, capsys):
    (tmp_path / "index.html").write_text("<p>not built</p>")
    assert main(["serve", "--web", str(tmp_path)]) == 2
    assert "is not built" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--web", str(tmp_path), "--static", str(tmp_path)])
    assert exit_.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
