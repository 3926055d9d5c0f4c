"""`bgseg web`: serve the browser app (`web/`) and the shipped `.tflite` models on 127.0.0.1
(`bgseg.webapp`, imported only when the command runs)."""

from bgseg.commands import common


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
    from bgseg.webapp import make_server

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
