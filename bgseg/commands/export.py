"""`bgseg export`: Keras model -> GPU-checked `.tflite` files with MediaPipe segmenter metadata."""

import contextlib
import json
import logging
import os
import pathlib
import sys

from bgseg.commands import common
from bgseg.export.quantization import MODES


def add_arguments(parser):
    parser.add_argument("model", help="trained model (.keras)")
    parser.add_argument("-o", "--output", required=True,
                        help="output .tflite file (one mode) or folder (files named "
                             "<model>_<mode>.tflite)")
    parser.add_argument("--mode", nargs="+", choices=MODES, default=["float16"],
                        help="conversion mode(s) (default: float16, the GPU-delegate file)")
    parser.add_argument("--io-type", choices=("float32", "int8", "uint8"), default="float32",
                        help="input/output type of the int8 and qat modes (default float32)")
    parser.add_argument("--representative", metavar="DIR",
                        help="folder of images for int8 calibration and QAT fine-tuning")
    parser.add_argument("--samples", type=int, default=64,
                        help="representative images used for calibration (default 64)")
    parser.add_argument("--epochs", type=int, default=2, help="QAT fine-tuning epochs (default 2)")
    parser.add_argument("--prune", type=float, default=0.0, metavar="SPARSITY",
                        help="qat only: TF-MOT magnitude pruning to this sparsity first")
    parser.add_argument("--clusters", type=int, default=0,
                        help="qat only: TF-MOT weight clustering with this many clusters first")
    parser.add_argument("--preset", help="qat only: preset the model was built from (default: "
                                         "the model's name)")
    parser.add_argument("--training-data", help="training data summary for the bgseg metadata")
    parser.add_argument("--allow-cpu-ops", action="store_true",
                        help="write the file even if the static GPU-delegate check fails (warns)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    report = parser.add_argument_group(
        "report (--report DATA: export every --mode into the -o folder and measure size, Keras "
        "parity, IoU on DATA's test split and the GPU check; int8/QAT use DATA's train split)")
    report.add_argument("--report", metavar="DATA", help="folder dataset (images/ + masks/)")
    report.add_argument("--limit", type=int, default=100, help="test images to evaluate")
    report.add_argument("--json", type=pathlib.Path, help="also write the report rows as JSON")


def _config(mode, args):
    from bgseg.export import QuantizationConfig

    if mode == "int8":
        return QuantizationConfig.int8(io_type=args.io_type, representative_samples=args.samples)
    if mode == "qat":
        return QuantizationConfig.qat(epochs=args.epochs, io_type=args.io_type,
                                      representative_samples=args.samples,
                                      prune_sparsity=args.prune, clusters=args.clusters)
    return getattr(QuantizationConfig, mode)()


def _outputs(args):
    output = pathlib.Path(args.output)
    if output.suffix == ".tflite":
        if len(args.mode) != 1:
            raise ValueError("give a folder as --output to export several modes")
        return {args.mode[0]: output}
    stem = pathlib.Path(args.model).stem
    return {mode: output / f"{stem}_{mode}.tflite" for mode in args.mode}


@contextlib.contextmanager
def quiet_native_logs():
    """Send what native code writes on file descriptor 2 (TensorFlow's C++ and absl log lines:
    oneDNN, CUDA probing, `failed call to cuInit`) to /dev/null, and absl's Python warnings below
    ERROR, unless BGSEG_VERBOSE is set (`bgseg --verbose`). Python's own stderr (errors,
    warnings, progress) still reaches the terminal."""
    if os.environ.get("BGSEG_VERBOSE"):
        yield
        return
    try:
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # stderr captured or replaced: leave it as is
        python_on_fd2 = False
    previous, absl = sys.stderr, logging.getLogger("absl")
    absl_level = absl.level
    previous.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        if python_on_fd2:
            sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=previous.encoding,
                                   errors=previous.errors)
        absl.setLevel(logging.ERROR)
        yield
    finally:
        absl.setLevel(absl_level)
        if sys.stderr is not previous:
            sys.stderr.close()
            sys.stderr = previous
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def run(args):
    with quiet_native_logs():
        return _run(args)


def _run(args):
    if args.report:
        return run_report(args)
    try:
        outputs = _outputs(args)
        configs = {mode: _config(mode, args) for mode in outputs}
    except ValueError as error:
        common.error(error)
        return 2
    for path in outputs.values():
        if path.exists() and not args.overwrite:
            common.error(f"{path} exists (use --overwrite)")
            return 1
    needs_data = any(config.is_integer for config in configs.values())
    if needs_data and not args.representative:
        common.error("int8/qat need --representative DIR (images)")
        return 2

    from bgseg.export import export_tflite
    from bgseg.export.convert import load_keras_model

    extra = {"training_data": args.training_data} if args.training_data else {}
    try:
        model = load_keras_model(args.model)
        for mode, path in outputs.items():
            result = export_tflite(
                model,
                path,
                configs[mode],
                representative_data=args.representative,
                metadata=extra,
                allow_cpu_ops=args.allow_cpu_ops,
                overwrite=args.overwrite,
                preset=args.preset,
            )
            print(result.summary())
    except _export_errors() as error:
        common.error(error)
        return 1
    return 0


def _export_errors():
    """What an export reports as one line: the model cannot be exported, or a file problem."""
    from bgseg.export import ExportError, GpuCompatibilityError

    return (ExportError, GpuCompatibilityError, FileExistsError, FileNotFoundError, ValueError)


def run_report(args):
    """`bgseg export MODEL --report DATA -o FOLDER --mode ...`: the table of docs/export.md."""
    from bgseg.export.report import markdown, report

    try:
        rows, info = report(args.model, args.report, args.output, args.mode, args.limit,
                            args.samples, args.epochs, args.preset, args.overwrite)
    except _export_errors() as error:
        common.error(error)
        return 1
    print(f"{args.model}: input {info['input']}, {info['eval_images']} test images, "
          f"{info['calibration_images']} calibration/QAT images")
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"info": info, "rows": rows}, indent=2))
    return 0
