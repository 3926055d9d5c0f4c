"""`bgseg check-gpu MODEL.tflite...`: the static TFLite GPU-delegate check of released files."""


def add_arguments(parser):
    parser.add_argument("models", nargs="+", metavar="MODEL.tflite", help=".tflite files")


def run(args):
    from bgseg.commands import common
    from bgseg.export.gpu_check import check_file

    failed = 0
    for path in args.models:
        try:
            report = check_file(path)
        except (OSError, ValueError) as error:
            common.error(f"{path}: cannot read it as a .tflite model ({error})")
            failed += 1
            continue
        failed += bool(report.problems)
        print(f"{path}: {report.summary()}")
    return 1 if failed else 0
