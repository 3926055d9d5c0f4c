"""The `bgseg` console script: one entry point, one subcommand per job.

Each subcommand lives in `bgseg/commands/<name>.py` with `add_arguments(parser)` (cheap: no heavy
imports) and `run(args) -> int` (imports what the job needs). `bgseg --version` and `bgseg --help`
therefore never import TensorFlow.
"""

import argparse
import importlib
import sys

from bgseg.version import __version__

# name -> one-line help. The module bgseg.commands.<name> implements it.
COMMANDS = {
    "image": "remove or replace the background of images (files or folders)",
    "video": "remove or replace the background of a video file, frame by frame with mask feedback",
    "webcam": "live background removal from a camera",
    "train": "train or fine-tune a model (needs the [train] extra)",
    "export": "convert a Keras model to TFLite (float32/float16/dynamic/int8/qat), GPU-checked",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bgseg", description="Real-time person segmentation and background removal.")
    parser.add_argument("--version", action="version", version=f"bgseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"bgseg.commands.{name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("bgseg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
