"""`bgseg image IN... -o OUT`: files or folders of images, names kept in folders; `-` for stdin
and stdout."""

import sys
import time
from pathlib import Path

from bgseg.commands import common

PIPE = "-"


def add_arguments(parser):
    parser.add_argument("inputs", nargs="+", metavar="IN",
                        help="image files and/or folders; - reads one image from stdin")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file (one input) or folder; - writes to stdout; the format "
                             "follows OUT's extension, in folders the input's (PNG for --alpha)")
    parser.add_argument("--format", metavar="EXT",
                        help="output format for stdout and folders: png, jpg, webp, tif, bmp "
                             "(default: png on stdout, the input's in folders)")
    parser.add_argument("--max-pixels", type=float, default=100e6, metavar="N",
                        help="refuse images larger than N pixels (default: 100e6)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave outputs that exist as they are (resume a folder run)")
    parser.add_argument("--foreground", action="store_true",
                        help="estimate the person's own colours in soft edges so the old "
                             "backdrop does not bleed into hair (cut-outs and composites)")
    common.add_model_arguments(parser, default_model="default_image")
    common.add_effect_arguments(parser, default="--alpha; on white for JPEG/BMP")


def _collect(inputs, output):
    """(source, name relative to the output folder) pairs, errors for missing inputs, and notes
    for the files a folder holds that are not read (with why). Files under the output folder are
    never inputs (an output folder inside an input folder)."""
    from bgseg.formats import PIL_EXTENSIONS
    from bgseg.io import IMAGE_EXTENSIONS

    readable = IMAGE_EXTENSIONS | PIL_EXTENSIONS
    out = Path(output).resolve()
    jobs, missing, skipped = [], [], []
    for item in map(Path, inputs):
        if item.is_dir():
            if item.resolve() == out:
                raise ValueError(f"{output}: the output folder is the input folder {item}; "
                                 f"write to another folder")
            for p in sorted(p for p in item.rglob("*") if p.is_file()):
                if p.resolve().is_relative_to(out):
                    continue
                if p.name.startswith("."):
                    skipped.append(f"{p}: hidden file")
                elif p.suffix.lower() not in readable:
                    skipped.append(f"{p}: not an image extension ({', '.join(sorted(readable))})")
                else:
                    jobs.append((p, p.relative_to(item)))
        elif item.exists():
            jobs.append((item, Path(item.name)))
        else:
            missing.append(f"{item}: no such file or folder")
    return jobs, missing, skipped


def _format_suffix(text):
    from bgseg.io import IMAGE_EXTENSIONS

    suffix = "." + text.lower().lstrip(".")
    if suffix not in IMAGE_EXTENSIONS:
        raise ValueError(f"--format {text}: unknown image format; use one of "
                         f"{', '.join(sorted(s[1:] for s in IMAGE_EXTENSIONS))}")
    return suffix


def _plan(args, jobs, alpha):
    """Map each input to its output path; two inputs that would write one output are an error
    naming both."""
    from bgseg.io import IMAGE_EXTENSIONS, output_suffix

    out = Path(args.output)
    single = len(args.inputs) == 1 and Path(args.inputs[0]).is_file() and not out.is_dir()
    if single and out.suffix.lower() in IMAGE_EXTENSIONS:
        return [(jobs[0][0], out)]
    folder = out.is_dir() or args.output.endswith(("/", "\\"))
    if out.suffix and not folder:
        if out.suffix.lower() in IMAGE_EXTENSIONS:
            raise ValueError(f"{out}: several inputs or a folder need an output folder, not a file")
        raise ValueError(f"{out}: unknown output extension {out.suffix}; use one of "
                         f"{', '.join(sorted(IMAGE_EXTENSIONS))}, or an existing folder")
    if single and not folder:
        raise ValueError(f"{out}: no image extension; name a file (e.g. {out}.png) or a folder "
                         f"(end it with /)")
    forced = _format_suffix(args.format) if args.format else None
    plan, owners = [], {}
    for source, name in jobs:
        target = out / name.with_suffix(forced or output_suffix(name.suffix, alpha))
        other = owners.setdefault(target.resolve(), source)
        if other != source:
            raise ValueError(f"{target}: both {other} and {source} would be written here; "
                             f"rename one or use --format")
        plan.append((source, target))
    return plan


def _effect(args, suffix):
    """The effect asked for; with none, the cut-out, or a composite on white (with a note) where
    the output format has no alpha."""
    from bgseg.api import effect_for
    from bgseg.io import ALPHA_EXTENSIONS

    options = common.effect_options(args)
    if not (args.background or args.blur or args.alpha or args.mask_only):
        if suffix.lower() not in ALPHA_EXTENSIONS:
            common.note(f"{suffix} has no transparency: compositing on white (choose another "
                        f"with --background)")
        return effect_for(suffix)
    return effect_for(suffix, **options)


def _run_pipe(args):
    """`bgseg image - -o -`: one image from stdin to stdout."""
    from bgseg import api, io

    if args.inputs != [PIPE] or args.output != PIPE:
        raise ValueError("- reads stdin and writes stdout: use `bgseg image - -o -` (one image)")
    suffix = _format_suffix(args.format or "png")
    effect = _effect(args, suffix)
    segmenter = common.open_segmenter(args, "image")
    image = io.decode_image(sys.stdin.buffer.read(), "stdin", args.max_pixels, keep_alpha=True)
    with segmenter, effect:
        result = api.apply(image, segmenter, effect, args.foreground)
    sys.stdout.buffer.write(io.encode_image(result, suffix, "stdout").tobytes())
    sys.stdout.buffer.flush()
    return 0


def run(args):
    from tqdm import tqdm

    from bgseg import api, io

    bad = common.setup_errors()
    if PIPE in (args.output, *args.inputs):
        try:
            return _run_pipe(args)
        except bad as exc:
            common.error(exc)
            return 2
    try:
        jobs, failures, skipped = _collect(args.inputs, args.output)
    except ValueError as exc:
        common.error(exc)
        return 2
    for message in failures:
        common.error(message)
    for message in skipped:
        common.note(f"skipped {message}")
    if not jobs:
        common.error("no images to process")
        return 1
    try:
        common.check_max_pixels(args)
        single = len(jobs) == 1 and not args.output.endswith(("/", "\\"))
        suffix = (single and Path(args.output).suffix) or ".png"
        effect = _effect(args, "." + args.format.lstrip(".") if args.format else suffix)
        plan = _plan(args, jobs, effect.alpha)
        segmenter = common.open_segmenter(args, "image")
    except bad as exc:
        common.error(exc)
        return 2
    inputs = [source for source, _ in plan]
    written, kept = 0, 0
    start = time.perf_counter()
    with segmenter, effect, tqdm(plan, unit="img", disable=len(plan) < 2, leave=False) as bar:
        for source, target in bar:
            try:
                if args.skip_existing and target.exists():
                    kept += 1
                    continue
                io.check_output(target, inputs, overwrite=args.overwrite)
                image = io.read_image(source, max_pixels=args.max_pixels, keep_alpha=True)
                result = api.apply(image, segmenter, effect, args.foreground)
                io.write_image(target, result, overwrite=args.overwrite)
                written += 1
            except io.InputError as exc:
                failures.append(str(exc))
            except (*bad, OSError) as exc:
                failures.append(f"{source}: {exc}")
            else:
                continue
            bar.clear()
            common.error(failures[-1])
    elapsed = time.perf_counter() - start
    existing = f", {kept} existing kept" if args.skip_existing else ""
    common.note(f"{written} image(s) written to {args.output}, {len(failures)} failed{existing} "
                f"({written / elapsed if elapsed else 0:.1f} img/s)")
    return 1 if failures else 0
