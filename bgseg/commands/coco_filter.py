"""`bgseg coco-filter ROOT`: filter a COCO folder for people and print the report (cached)."""

import dataclasses


def add_arguments(parser):
    from bgseg.data.coco_filter import CocoFilter

    parser.add_argument("root", help="COCO folder (annotations/ + image folders)")
    defaults = CocoFilter()
    for field in dataclasses.fields(CocoFilter):
        value = getattr(defaults, field.name)
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(value), default=value,
                            help=f"(default: {value})")
    parser.add_argument("--cache-dir", help="mask cache (default $BGSEG_CACHE or ~/.cache/bgseg)")


def run(args):
    from bgseg.commands import common
    from bgseg.data.coco import filter_coco
    from bgseg.data.coco_filter import CocoFilter

    params = CocoFilter(**{f.name: getattr(args, f.name) for f in dataclasses.fields(CocoFilter)})
    try:
        print(filter_coco(args.root, params, args.cache_dir).report())
    except (FileNotFoundError, ValueError) as error:
        common.error(error)
        return 2
    return 0
