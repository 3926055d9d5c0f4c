"""`bgseg image IN... -o OUT`: files or folders of images, names kept in folders."""

import time
from pathlib import Path

from bgseg.commands import common


def add_arguments(parser):
    parser.add_argument("inputs", nargs="+", metavar="IN", help="image files and/or folders")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file (one input) or folder; the format follows OUT's "
                             "extension, in folders the input's (PNG for --alpha)")
    parser.add_argument("--max-pixels", type=float, default=100e6, metavar="N",
                        help="refuse images larger than N pixels (default: 100e6)")
    common.add_model_arguments(parser, default_model="default_image")
    common.add_effect_arguments(parser, default="--alpha")


def _collect(inputs, output):
    """(source, name relative to the output folder) pairs, and errors for missing inputs. Files
    under the output folder are never inputs (an output folder inside an input folder)."""
    from bgseg.io import IMAGE_EXTENSIONS

    out = Path(output).resolve()
    jobs, missing = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            files = sorted(p for p in item.rglob("*")
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                           and not p.name.startswith(".")
                           and not p.resolve().is_relative_to(out))
            jobs += [(p, p.relative_to(item)) for p in files]
        elif item.exists():
            jobs.append((item, Path(item.name)))
        else:
            missing.append(f"{item}: no such file or folder")
    return jobs, missing


def _plan(args, jobs, alpha):
    """Map each input to its output path."""
    from bgseg.io import IMAGE_EXTENSIONS, output_suffix

    out = Path(args.output)
    single = (len(args.inputs) == 1 and Path(args.inputs[0]).is_file()
              and out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir())
    if single:
        return [(jobs[0][0], out)]
    if out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir():
        raise ValueError(f"{out}: several inputs or a folder need an output folder, not a file")
    return [(source, out / name.with_suffix(output_suffix(name.suffix, alpha)))
            for source, name in jobs]


def run(args):
    from tqdm import tqdm

    from bgseg import io

    bad = common.setup_errors()
    jobs, failures = _collect(args.inputs, args.output)
    for message in failures:
        common.error(message)
    if not jobs:
        common.error("no images to process")
        return 1
    try:
        common.check_max_pixels(args)
        effect = common.make_effect(args)
        plan = _plan(args, jobs, effect.alpha)
        segmenter = common.open_segmenter(args, "image")
    except bad as exc:
        common.error(exc)
        return 2
    inputs = [source for source, _ in plan]
    written, taken = 0, set()
    start = time.perf_counter()
    with segmenter, effect, tqdm(plan, unit="img", disable=len(plan) < 2, leave=False) as bar:
        for source, target in bar:
            try:
                if target.resolve() in taken:
                    raise io.InputError(target, "already written by another input of this run")
                io.check_output(target, inputs, overwrite=args.overwrite)
                image = io.read_image(source, max_pixels=args.max_pixels)
                mask = segmenter.segment(image)
                io.write_image(target, effect(image, mask), overwrite=args.overwrite)
                taken.add(target.resolve())
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
    common.note(f"{written} image(s) written to {args.output}, {len(failures)} failed "
                f"({written / elapsed if elapsed else 0:.1f} img/s)")
    return 1 if failures else 0
