"""`bgseg batch PATTERN... -o OUT`: images and videos at scale on Apache Beam (needs [beam]).

Options that this command does not know are Beam pipeline options, passed through to the runner;
write them as `--name=value` (e.g. `--direct_num_workers=2`, `--project=my-project`).
"""

import argparse
import json
import os

from bgseg.commands import common


def add_arguments(parser):
    parser.add_argument("inputs", nargs="+", metavar="PATTERN",
                        help="file patterns (photos/*.jpg, gs://bucket/in/**) or folders; images "
                             "and videos, names kept relative to the pattern's folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output folder or URL prefix (gs://bucket/out)")
    parser.add_argument("--runner", default="DirectRunner",
                        help="Beam runner: DirectRunner, DataflowRunner, FlinkRunner, SparkRunner "
                             "(default: %(default)s)")
    parser.add_argument("--video-model", default="default", metavar="PATH|NAME",
                        help="model for video files (default: %(default)s)")
    parser.add_argument("--smooth", type=float, default=1.0, metavar="RATIO",
                        help="temporal smoothing for videos, as `bgseg video --smooth` "
                             "(default: %(default)s)")
    parser.add_argument("--motion", action=argparse.BooleanOptionalAction, default=True,
                        help="motion compensation for videos, as `bgseg video --motion`")
    parser.add_argument("--max-pixels", type=float, default=100e6, metavar="N",
                        help="images larger than N pixels go to the dead letter (default: 100e6)")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help="most images per RunInference batch (default: %(default)s)")
    parser.add_argument("--dead-letter", metavar="PATH",
                        help="JSONL file of the inputs that failed, with the reason "
                             "(default: OUT/_bgseg_failed.jsonl; replaced by each run)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    common.add_model_arguments(parser, default_model="default_image")
    common.add_effect_arguments(parser, default="--alpha; videos: --background green")
    parser.set_defaults(_accepts_pipeline_options=True)


def effect_options(args):
    """The Effect keyword arguments (`common.effect_options`), checked here; a background image is
    read here and shipped with the pipeline (workers may not see the launcher's files)."""
    from pathlib import Path

    from bgseg import io
    from bgseg.effects import Effect

    options = common.effect_options(args)
    background = options.get("background")
    if background and Path(background).suffix.lower() in io.VIDEO_EXTENSIONS:
        raise ValueError("bgseg batch takes an image or a colour as --background, not a video")
    if background and Path(background).is_file():
        options["background"] = io.read_image(background)
    else:
        Effect(**options).close()  # the colour, or a missing background file, as bgseg image
    return options


def checked_model(model):
    """A shipped name as is, a local file as an absolute path (workers may run elsewhere), a URL
    unchecked (workers fetch it); FileNotFoundError for anything else, before the pipeline."""
    from bgseg.beam.handler import is_url
    from bgseg.runtime import resolve_model, shipped_models

    if is_url(model) or model in shipped_models():
        return model
    return str(resolve_model(model).resolve())


def unknown_pipeline_options(flags):
    """The flags among `flags` that no loaded Beam PipelineOptions class defines (Beam itself
    only logs and drops them)."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False, add_help=False)
    classes = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in classes.values():
        cls._add_argparse_args(parser)  # as PipelineOptions.get_all_options builds its parser
    return [flag for flag in parser.parse_known_args(flags)[1] if flag.startswith("-")]


def run(args):
    import logging

    if not os.environ.get("BGSEG_VERBOSE"):  # Beam's import-time and runner warnings
        logging.getLogger().setLevel(logging.ERROR)
    try:
        from bgseg import beam as bgseg_beam
    except ModuleNotFoundError as error:
        from bgseg.install import install_command

        common.error(f'bgseg batch needs Apache Beam ({error.name} is not installed): '
                     f'{install_command("beam")}')
        return 2
    bad = common.setup_errors()
    try:
        common.check_max_pixels(args)
        unknown = unknown_pipeline_options(args.pipeline_options)
        if unknown:
            raise ValueError(f"unrecognized arguments (neither bgseg batch nor Beam options): "
                             f"{' '.join(unknown)}")
        effect = effect_options(args)
        video_effect = {"background": common.DEFAULT_VIDEO_BACKGROUND} \
            if effect.get("alpha") else effect
        models = [checked_model(args.model), checked_model(args.video_model)]
        missing = bgseg_beam.pipeline.unmatched(args.inputs)
        if missing:
            raise ValueError(f"no file matches {', '.join(missing)}")
        options = bgseg_beam.BatchOptions(
            inputs=args.inputs, output=args.output, effect=effect, video_effect=video_effect,
            model=models[0], video_model=models[1], overwrite=args.overwrite,
            **common.segmenter_options(args),
            smoothing=args.smooth, motion=args.motion, threads=args.threads,
            max_pixels=args.max_pixels,
            max_batch_size=args.batch_size, dead_letter=args.dead_letter)
    except bad as exc:
        common.error(exc)
        return 2
    pipeline_options = [f"--runner={args.runner}", *args.pipeline_options]
    if not os.environ.get("BGSEG_VERBOSE") and not any(
            o.startswith("--default_sdk_harness_log_level") for o in pipeline_options):
        pipeline_options.append("--default_sdk_harness_log_level=ERROR")  # worker processes
    try:
        summary = bgseg_beam.run(options, pipeline_options)
    except (ValueError, ImportError) as exc:  # runner options or the runner's own extras
        common.error(f"{args.runner} could not start the pipeline: {str(exc).strip()}")
        common.note('Dataflow needs pip install "apache-beam[gcp]" and --project=, --region=, '
                    '--temp_location=; see docs/scale.md')
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        seconds = summary["seconds"]
        common.note(f"{summary['processed']} processed, {summary['skipped']} skipped (output "
                    f"exists), {summary['failed']} failed in {seconds:.1f} s "
                    f"({summary['processed'] / seconds if seconds else 0:.1f} files/s)")
        if summary["failed"]:
            common.note(f"failures and reasons: {summary['dead_letter']}")
    return 1 if summary["failed"] else 0
