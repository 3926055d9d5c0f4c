"""The static server of the browser app (`web/`, built by `web/build.sh`) and of the shipped
`.tflite` models, stdlib `http.server` only (`bgseg web`). The page runs the models client-side:
nothing is uploaded. `web_root()` and `make_server()` are what another server (`bgseg serve`)
reuses to mount the same folder."""

import functools
import http.server
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ASSETS = PACKAGE / "assets"
MODELS_PREFIX = "/models/"
# The types a browser insists on: WebAssembly.instantiateStreaming needs application/wasm and
# module scripts a JavaScript type (Python's mimetypes tables vary by platform).
MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
              ".tflite": "application/octet-stream", ".html": "text/html", ".css": "text/css",
              ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml"}


def web_root():
    """The web app folder of a source checkout (`<repo>/web`)."""
    return PACKAGE.parent / "web"


def check_built(root):
    """Raise FileNotFoundError naming the problem when `root` is not a built web app."""
    root = Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"no web app at {root} (index.html missing)")
    if not (root / "vendor" / "tasks-vision" / "vision_bundle.mjs").is_file():
        raise FileNotFoundError(f"the web app at {root} is not built: run "
                                f"(cd {root} && npm ci && npm run build)")


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from `directory`; `/models/NAME.tflite` from `models` (bgseg/assets)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, models=ASSETS, quiet=True, **kwargs):
        self.models = Path(models)
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        name = path.split("?", 1)[0].split("#", 1)[0]
        if name.startswith(MODELS_PREFIX):
            file = name[len(MODELS_PREFIX):]
            if "/" not in file and file.endswith(".tflite"):
                return str(self.models / file)
            return str(self.models / "missing")  # only the .tflite files, never other assets
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def make_server(root=None, host="127.0.0.1", port=8000, models=ASSETS, quiet=True):
    """A ThreadingHTTPServer for the built web app at `root` (default `web_root()`); port 0 picks
    a free port (`server.server_address[1]`)."""
    root = Path(root or web_root())
    check_built(root)
    handler = functools.partial(Handler, directory=str(root), models=models, quiet=quiet)
    return http.server.ThreadingHTTPServer((host, port), handler)
