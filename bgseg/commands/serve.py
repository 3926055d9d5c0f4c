"""`bgseg serve`: background removal over HTTP (FastAPI + uvicorn; the [serve] extra)."""

import json
import os

from bgseg.commands import common

SERVE_HINT = 'pip install "bgseg[serve]" (or pip install -e ".[serve]" from a source tree)'
CONFIG_ENV = "BGSEG_SERVE_CONFIG"  # how --workers > 1 hands the options to each worker process


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=7000, help="port (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes, each loading the model once (default: 1)")
    parser.add_argument("--concurrency", type=int, default=2, metavar="N",
                        help="requests processed at once per worker, one Segmenter per thread "
                             "(default: 2)")
    parser.add_argument("--queue-wait", type=float, default=5.0, metavar="S",
                        help="seconds a request waits for a free slot before 503 (default: 5)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="per-request time limit in seconds, then 504 (default: 60)")
    parser.add_argument("--max-bytes", type=float, default=25e6, metavar="N",
                        help="refuse request bodies over N bytes with 413 (default: 25e6)")
    parser.add_argument("--max-pixels", type=float, default=100e6, metavar="N",
                        help="refuse images larger than N pixels, from the header (default: "
                             "100e6)")
    parser.add_argument("--api-key", default=os.environ.get("BGSEG_API_KEY"),
                        help="require this key in X-API-Key (default: $BGSEG_API_KEY; none)")
    site = parser.add_mutually_exclusive_group()
    site.add_argument("--static", metavar="DIR", help="also serve this folder at /app")
    site.add_argument("--web", nargs="?", const="", metavar="DIR",
                      help="also serve the built browser app at /app with the shipped models "
                           "(default DIR: the checkout's web/; build it with web/build.sh)")
    common.add_model_arguments(parser, default_model="default_image")


def _check(args):
    for name in ("workers", "concurrency"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    for name in ("queue_wait", "timeout", "max_bytes", "max_pixels"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.static and not os.path.isdir(args.static):
        raise ValueError(f"{args.static}: --static is not a folder")
    if args.web is not None:
        from bgseg import webapp

        args.web = args.web or str(webapp.web_root())
        try:
            webapp.check_built(args.web)
        except FileNotFoundError as exc:
            raise ValueError(f"--web: {exc}") from None


def app_from_env():
    """The app of a uvicorn worker process (the options come in $BGSEG_SERVE_CONFIG)."""
    from bgseg.serve.app import ServeConfig, create_app

    return create_app(ServeConfig(**json.loads(os.environ[CONFIG_ENV])))


def run(args):
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ModuleNotFoundError as exc:
        common.error(f"serve needs the [serve] extra ({exc.name} is not installed): {SERVE_HINT}")
        return 2
    try:
        _check(args)
        from bgseg.runtime.registry import resolve_model

        config = {"model": str(resolve_model(args.model)), "threads": args.threads,
                  "max_bytes": int(args.max_bytes), "max_pixels": args.max_pixels,
                  "timeout": args.timeout, "concurrency": args.concurrency,
                  "queue_wait": args.queue_wait, "api_key": args.api_key,
                  "static": args.static, "web": args.web, **common.segmenter_options(args)}
        os.environ[CONFIG_ENV] = json.dumps(config)
        if args.workers == 1:
            app = app_from_env()  # a bad model fails here, before listening
        else:
            app_from_env()  # check the model once in the parent
            app = "bgseg.commands.serve:app_from_env"
    except common.setup_errors() as exc:
        common.error(exc)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.api_key:
        common.note(f"listening on {args.host} without --api-key: anyone who can reach it can "
                    f"use it")
    uvicorn.run(app, host=args.host, port=args.port, workers=args.workers,
                factory=args.workers > 1, log_level="warning")
    return 0
