"""`bgseg web`: serve the browser app (`web/`, built by `web/build.sh`) and the shipped `.tflite`
models on 127.0.0.1, stdlib `http.server` only. The page runs the models client-side: nothing is
uploaded. `web_root()` and `make_server()` are what another server (`bgseg serve`) reuses."""

import functools
import http.server
from pathlib import Path

from bgseg.commands import common

PACKAGE = Path(__file__).resolve().parent.parent
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


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port (default: %(default)s; 0: any free port)")
    parser.add_argument("--root", metavar="DIR", default=None,
                        help="the built web app folder (default: the checkout's web/)")
    parser.add_argument("--log", action="store_true", help="print one line per request")


def run(args):
    if not 0 <= args.port <= 65535:
        common.error(f"--port must be in 0..65535, got {args.port}")
        return 2
    try:
        server = make_server(args.root, args.host, args.port, quiet=not args.log)
    except FileNotFoundError as error:
        common.error(str(error))
        return 2
    except OSError as error:
        common.error(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
        return 2
    host, port = server.server_address[:2]
    common.note(f"serving the web app on http://{host}:{port}/ (Ctrl-C to stop)")
    with server:
        server.serve_forever()
    return 0
