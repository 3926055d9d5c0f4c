"""The `bgseg` console script: one entry point, one subcommand per job.

Each subcommand lives in `bgseg/commands/<name>.py` with `add_arguments(parser)` (cheap: no heavy
imports) and `run(args) -> int` (imports what the job needs). `bgseg --version` and `bgseg --help`
therefore never import TensorFlow.
"""

import argparse
import os
import signal
import sys
import threading

from bgseg.commands import (
    batch,
    check_gpu,
    coco_filter,
    common,
    export,
    image,
    serve,
    train,
    video,
    web,
    webcam,
)
from bgseg.version import __version__

# name -> (module with add_arguments/run, one-line help)
COMMANDS = {
    "image": (image, "remove or replace the background of images (files or folders)"),
    "video": (video, "remove or replace the background of a video file, frame by frame with mask "
                     "feedback"),
    "webcam": (webcam, "live background removal from a camera"),
    "serve": (serve, "background removal over HTTP: POST an image, get the cut-out (needs the "
                     "[serve] extra)"),
    "web": (web, "serve the browser app (live background replacement client-side) and the "
                 "models on 127.0.0.1"),
    "batch": (batch, "images and videos at scale on Apache Beam: local, Dataflow, Flink, Spark "
                     "(needs the [beam] extra)"),
    "train": (train, "train or fine-tune a model (needs the [train] extra)"),
    "export": (export, "convert a Keras model to TFLite (float32/float16/dynamic/int8/qat), "
                       "GPU-checked; --report measures every mode"),
    "check-gpu": (check_gpu, "check .tflite files against the TFLite GPU delegate's rules"),
    "coco-filter": (coco_filter, "filter a COCO folder for people and print the report "
                                 "(needs the [train] extra)"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bgseg", description="Real-time person segmentation and background removal.")
    parser.add_argument("--version", action="version", version=f"bgseg {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="let LiteRT, OpenCV and FFmpeg print their own log lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "_accepts_pipeline_options", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pipeline_options = extra
    if not args.command:
        parser.print_help()
        return 2
    _set_logging(args.verbose)
    missing = _missing_train_extra() if args.command in NEEDS_TRAIN_EXTRA else None
    if missing:
        return _needs_train_extra(args.command, missing)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None  # like Ctrl-C
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        common.note("interrupted")
        return 130
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in TRAIN_EXTRA:
            return _needs_train_extra(args.command, error.name)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


# Packages of the [train] extra: a missing one is an install hint, not a traceback.
TRAIN_EXTRA = ("keras", "tensorflow", "tf_keras", "tensorflow_model_optimization", "pycocotools",
               "matplotlib")


NEEDS_TRAIN_EXTRA = ("train", "export", "coco-filter")


def _needs_train_extra(command, module):
    from bgseg.install import install_command

    common.error(f'{command} needs the [train] extra ({module} is not installed): '
                 f'{install_command("train")}')
    return 2


def _missing_train_extra():
    """The first of Keras / TensorFlow that is not installed, or None."""
    import importlib.util

    for name in ("keras", "tensorflow"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return name
    return None


def _terminate(signum, frame):
    raise KeyboardInterrupt


def _set_logging(verbose):
    """Quiet by default: native log lines (LiteRT, OpenCV, FFmpeg) only with --verbose."""
    if verbose:
        os.environ["BGSEG_VERBOSE"] = "1"
        return
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "cv2" in sys.modules:  # imported already: the environment variable is read only at import
        logging = sys.modules["cv2"].utils.logging
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)


if __name__ == "__main__":
    sys.exit(main())
