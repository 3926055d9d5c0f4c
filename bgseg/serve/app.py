"""The ASGI app of `bgseg serve`: `POST /v1/remove`, `POST /v1/mask`, `GET /healthz`, `/docs`
(OpenAPI) and a drop-a-photo page at `/`.

Each request runs on a pool of `concurrency` threads, each with its own Segmenter (interpreters
are never shared between threads); a request that finds them all busy waits up to `queue_wait`
seconds, then gets 503. Bodies are refused from `Content-Length`, or while streaming, once over
`max_bytes`, and images from their header over `max_pixels`, before any decoding. Errors are JSON
`{"error": "<the CLI's one-line reason>"}` with a 4xx/5xx status.
"""

import asyncio
import concurrent.futures
import contextlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from bgseg.io import MAX_PIXELS


@dataclass
class ServeConfig:
    """What `create_app` serves and its limits."""

    model: str = "default_image"
    threads: int | None = None
    max_bytes: int = 25_000_000
    max_pixels: float = MAX_PIXELS
    timeout: float = 60.0
    concurrency: int = 2
    queue_wait: float = 5.0
    api_key: str | None = None
    static: str | None = None
    web: str | None = None  # a built browser app (`web/`), mounted at /app with its models
    refine: bool = True  # the defaults of requests that do not say
    zoom: bool = True
    sharpen: float | None = None  # None: the model's own (`registry.runtime_options`), else 2
    flip: bool | None = None  # the mirrored first look; None: the model's own, else on

    def __post_init__(self):
        if self.sharpen is None or self.flip is None:  # as the photos' Segmenter resolves them
            from bgseg.runtime import Segmenter, resolve_model

            self.sharpen, self.flip = Segmenter.own_options(resolve_model(self.model),
                                                            self.sharpen, self.flip)


class RequestError(Exception):
    """A request refused with `status` and a one-line `message`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
FORMATS = {"png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp"}


def _flag(options, name, default):
    value = options.get(name)
    if value is None or value == "":
        return default
    if value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise RequestError(400, f"{name}={value}: not a boolean (true/false)")


def _number(options, name, default, low, high):
    value = options.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise RequestError(400, f"{name}={value}: not a number") from None
    if not low <= number <= high:
        raise RequestError(400, f"{name}={value}: must be in [{low:g}, {high:g}]")
    return number


def parse_options(options, mask_only=False, defaults=None):
    """The `bgseg.api` keyword arguments of a request's query/form fields (strings); `defaults`
    (a ServeConfig) gives refine, zoom, sharpen and flip where the request does not."""
    defaults = defaults or ServeConfig()
    fmt = (options.get("format") or "png").lower().lstrip(".")
    if fmt not in FORMATS:
        raise RequestError(400, f"format={fmt}: unknown image format; use one of "
                                f"{', '.join(sorted(FORMATS))}")
    blur = options.get("blur")
    chosen = {
        "background": options.get("background") or None,
        "blur": _number(options, "blur", None, 0.01, 500) if blur else None,
        "alpha": _flag(options, "alpha", False),
        "mask_only": mask_only or _flag(options, "mask_only", False),
    }
    if sum(bool(v) for v in chosen.values()) > 1:
        raise RequestError(400, "choose one of background, blur, alpha, mask_only")
    return {
        "format": fmt, **chosen,
        "refine": _flag(options, "refine", defaults.refine),
        "zoom": _flag(options, "zoom", defaults.zoom),
        "sharpen": _number(options, "sharpen", defaults.sharpen, 1.0, 10.0),
        "flip": _flag(options, "flip", defaults.flip),
        "foreground": _flag(options, "foreground", False),
    }


MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
               "webp": "image/webp", "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp"}


def process(config, image_bytes, name, options, background_bytes=None):
    """The encoded result of one request (runs on a worker thread)."""
    from bgseg import api, io

    segmenter = api.segmenter(config.model, config.threads)  # this thread's, loaded once
    segmenter.refine, segmenter.zoom = options["refine"], options["zoom"]
    segmenter.sharpen, segmenter.flip = options["sharpen"], options["flip"]
    background = options["background"]
    if background_bytes is not None:
        background = io.decode_image(background_bytes, "background", config.max_pixels)
    elif background is not None:
        from bgseg.effects import parse_color

        background = parse_color(background)  # a server never opens paths it is sent
    suffix = "." + options["format"]
    effect = api.effect_for(suffix, background, options["blur"], options["alpha"],
                            options["mask_only"])
    image = io.decode_image(image_bytes, name, config.max_pixels, keep_alpha=True)
    with effect:
        result = api.apply(image, segmenter, effect, options["foreground"])
    return io.encode_image(result, suffix, name).tobytes()


async def read_body(request, max_bytes):
    """The request body, refused with 413 from Content-Length or as soon as it grows past
    `max_bytes` (never read whole first)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise RequestError(413, f"request body too large: {int(length)} bytes "
                                f"(limit {max_bytes} bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(413, f"request body too large: over {max_bytes} bytes "
                                    f"(limit {max_bytes} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


async def _upload(request, body):
    """(image bytes, name, fields, background bytes) of a raw or multipart body."""
    from starlette.requests import Request

    fields = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return body, "upload", fields, None

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except Exception as exc:  # python-multipart's and Starlette's parse errors
        raise RequestError(400, f"malformed multipart body ({exc})") from None
    image = form.get("file") or form.get("image")
    if image is None or isinstance(image, str):
        raise RequestError(400, "multipart upload without a file field named 'file'")
    background = form.get("background")
    for key, value in form.items():
        if isinstance(value, str):
            fields[key] = value
    background_bytes = None
    if background is not None and not isinstance(background, str):
        background_bytes = await background.read()
        fields.pop("background", None)
    return await image.read(), image.filename or "upload", fields, background_bytes


def create_app(config=None, **overrides):
    """The FastAPI app serving `config` (a ServeConfig; keyword overrides its fields).
    `static`: a folder to mount at `/app`; `web`: the built browser app (`bgseg.webapp`) mounted
    at `/app`, with the shipped `.tflite` models at `/app/models/NAME.tflite` (where it loads
    them)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    from bgseg import api
    from bgseg.commands.common import setup_errors
    from bgseg.serve.page import PAGE
    from bgseg.version import __version__

    config = ServeConfig(**{**(config.__dict__ if config else {}), **overrides})
    pool = concurrent.futures.ThreadPoolExecutor(config.concurrency, "bgseg-serve")
    slots = asyncio.Semaphore(config.concurrency)
    bad_input = setup_errors()
    api.segmenter(config.model, config.threads)  # fail at start on a bad model, not per request

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="bgseg", version=__version__, lifespan=lifespan,
                  description="Person segmentation and background removal.")
    if config.static and config.web:
        raise ValueError("serve either a static folder or the web app at /app, not both")
    if config.web:
        _mount_web(app, config.web)
    elif config.static:
        from fastapi.staticfiles import StaticFiles

        app.mount("/app", StaticFiles(directory=Path(config.static), html=True), name="app")

    @app.exception_handler(RequestError)
    async def refused(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    def check_key(request):
        if config.api_key is None:
            return
        given = request.headers.get("x-api-key") or ""
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            given = given or bearer[7:]
        if not hmac.compare_digest(given.encode(), config.api_key.encode()):
            raise RequestError(401, "missing or wrong API key (send it as X-API-Key)")

    async def handle(request, mask_only):
        check_key(request)
        body = await read_body(request, config.max_bytes)
        image, name, fields, background = await _upload(request, body)
        if not image:
            raise RequestError(400, f"{name}: empty file")
        options = parse_options(fields, mask_only, config)
        try:
            await asyncio.wait_for(slots.acquire(), config.queue_wait)
        except asyncio.TimeoutError:
            raise RequestError(503, f"busy: all {config.concurrency} workers in use; "
                                    f"retry later") from None
        loop = asyncio.get_running_loop()
        future = pool.submit(process, config, image, name, options, background)
        # the slot is freed when the work really ends (also after a timeout), on the loop's thread
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(slots.release))
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), config.timeout)
        except asyncio.TimeoutError:
            raise RequestError(504, f"{name}: not done within {config.timeout:g} s") from None
        except bad_input as exc:
            text = str(exc)
            raise RequestError(413 if "image too large" in text else 400, text) from None
        return Response(result, media_type=MEDIA_TYPES[options["format"]])

    @app.post("/v1/remove", summary="Remove, replace or blur the background of one image")
    async def remove(request: Request):
        """Body: the image (raw, or multipart field `file`; a multipart `background` file
        replaces the background). Query/form fields: background (colour), blur, alpha,
        mask_only, format, sharpen, flip, zoom, refine, foreground. Answers the encoded image."""
        return await handle(request, mask_only=False)

    @app.post("/v1/mask", summary="The grayscale person mask of one image")
    async def mask(request: Request):
        """As /v1/remove, answering the mask (255 = person)."""
        return await handle(request, mask_only=True)

    @app.get("/healthz", summary="Liveness and the model served")
    async def healthz():
        return {"status": "ok", "model": config.model, "version": __version__}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return PAGE

    return app


def _mount_web(app, root):
    """The browser app at /app (its files with the MIME types browsers insist on) and the shipped
    models, only `.tflite` files, at /app/models/ (the app's relative `models/NAME.tflite`)."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    from bgseg import webapp

    webapp.check_built(root)

    class WebFiles(StaticFiles):
        def file_response(self, full_path, *args, **kwargs):
            response = super().file_response(full_path, *args, **kwargs)
            kind = webapp.MIME_TYPES.get(Path(full_path).suffix.lower())
            if kind:
                response.headers["content-type"] = kind
            return response

    @app.get(f"/app{webapp.MODELS_PREFIX}{{name}}", include_in_schema=False)
    async def web_model(name: str):
        file = webapp.ASSETS / name
        if not name.endswith(".tflite") or "/" in name or not file.is_file():
            raise RequestError(404, f"no model {name!r} (the shipped .tflite files only)")
        return FileResponse(file, media_type=webapp.MIME_TYPES[".tflite"])

    app.mount("/app", WebFiles(directory=Path(root), html=True), name="app")
