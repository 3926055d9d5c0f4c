"""Options shared by the inference subcommands (image, video, webcam) and their helpers.

Only argparse at import time: numpy, OpenCV and the runtime load inside the helpers.
"""

import argparse
import sys

DEFAULT_VIDEO_BACKGROUND = "green"  # video and webcam, when no effect is chosen
MAX_BLUR = 1000  # --blur sigma in pixels: beyond this the background is one flat colour anyway


def check_max_pixels(args):
    """Raise ValueError unless `--max-pixels` is at least one pixel (image and batch)."""
    if not args.max_pixels >= 1:
        raise ValueError(f"--max-pixels must be >= 1, got {args.max_pixels:g}")


def add_model_arguments(parser, smoothing=False, default_model="default"):
    group = parser.add_argument_group("model")
    group.add_argument("--model", default=default_model, metavar="PATH|NAME",
                       help="a .tflite file or a shipped model name: default (the video model), "
                            "default_image, quality (a 384x384 video model for offline video: "
                            "steadier, about half the default's frames/s), mediapipe_selfie "
                            "(Apache-2.0) (default: %(default)s)")
    group.add_argument("--threads", type=int, default=None, metavar="N",
                       help="interpreter threads (default: min(4, CPU count))")
    group.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                       help="guided-filter refinement of the mask on the full-resolution frame "
                            "(default: on)")
    group.add_argument("--zoom", action=argparse.BooleanOptionalAction, default=True,
                       help="a second, closer look at the people: the model runs again on a crop "
                            "around them when they fill less of the frame (on video the crop "
                            "follows them, one run per frame) (default: on)")
    group.add_argument("--sharpen", type=float, default=None, metavar="K",
                       help="push mask probabilities away from 0.5 so people are opaque and the "
                            "background clear (sigmoid(K * logit p); 1: off; default: the "
                            "model's own: 1 for quality, else 2)")
    group.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                       help="average the model's mask with its mask of the mirror image (one "
                            "model run more per look): photos mirror their first look, video "
                            "every look (default: on for photos and for the quality model's "
                            "video, off for the default model's video)")
    if smoothing:
        group.add_argument("--smooth", type=float, nargs="?", const=1.0, default=1.0,
                           metavar="RATIO",
                           help="temporal smoothing of uncertain pixels with the previous mask "
                                "(RATIO in [0, 1]; 0: off; default: %(default)s)")
        group.add_argument("--motion", action=argparse.BooleanOptionalAction, default=True,
                           help="move the previous frame's mask along the optical flow before it "
                                "is fed back and smoothed (default: on)")


def add_effect_arguments(parser, default):
    group = parser.add_argument_group(f"effect (one of; default: {default})")
    effect = group.add_mutually_exclusive_group()
    effect.add_argument("--background", metavar="IMG|COLOR|VIDEO",
                        help="replace the background with an image, a colour (name, #rrggbb, "
                             "r,g,b) or a video (looped)")
    effect.add_argument("--blur", type=float, metavar="N",
                        help="blur the background (Gaussian sigma in pixels, e.g. 15)")
    effect.add_argument("--alpha", action="store_true",
                        help="transparent cut-out (alpha = mask; PNG/WebP/TIFF)")
    effect.add_argument("--mask-only", action="store_true", help="write the grayscale mask only")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing output files (default: refuse)")


def error(message):
    """Print a one-line error to stderr."""
    print(f"bgseg: error: {message}", file=sys.stderr)


def max_frames_invalid(args):
    """Report and return True when `--max-frames` is given but below 1 (video and webcam)."""
    if args.max_frames is not None and args.max_frames < 1:
        error(f"--max-frames must be >= 1, got {args.max_frames}")
        return True
    return False


def note(message):
    print(f"bgseg: {message}", file=sys.stderr)


def effect_options(args, default_background=None):
    """The `Effect` keyword arguments the options ask for (`default_background` when none is
    given, else the alpha cut-out)."""
    if args.blur is not None and not 0 < args.blur <= MAX_BLUR:
        raise ValueError(f"--blur must be in (0, {MAX_BLUR:g}] pixels, got {args.blur:g}")
    if not (args.background or args.blur or args.alpha or args.mask_only):
        return {"alpha": True} if default_background is None else {
            "background": default_background}
    return {"background": args.background, "blur": args.blur, "alpha": args.alpha,
            "mask_only": args.mask_only}


def make_effect(args, default_background=None):
    """The Effect the options ask for (`default_background` when none is given)."""
    from bgseg.effects import Effect

    return Effect(**effect_options(args, default_background))


def segmenter_options(args):
    """The Segmenter keyword arguments of the post-processing options (`add_model_arguments`)."""
    return {"refine": args.refine, "zoom": args.zoom, "sharpen": args.sharpen, "flip": args.flip}


def open_segmenter(args, kind):
    """Load `--model` as a Segmenter (kind "image") or VideoSegmenter (kind "video")."""
    from bgseg.runtime import load

    options = segmenter_options(args)
    if kind == "video":
        options["smoothing"] = args.smooth
        options["motion"] = args.motion
    return load(args.model, kind=kind, threads=args.threads, **options)


def setup_errors():
    """The exceptions that mean "bad input or option" (one-line message, no traceback)."""
    from bgseg.io import InputError
    from bgseg.runtime import ModelContractError

    return (InputError, ModelContractError, FileNotFoundError, ValueError)
