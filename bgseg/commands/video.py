"""`bgseg video IN -o OUT`: a video file frame by frame, each frame's mask fed into the next."""

from bgseg.commands import common


def add_arguments(parser):
    parser.add_argument("input", metavar="IN", help="a video file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output video: .mp4/.m4v/.mov/.mkv H.264, .webm VP9, .avi MJPEG; "
                             "--alpha: .webm VP9 or .mov ProRes 4444 with alpha; IN's timestamps "
                             "and audio are kept")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="stop after N frames (the audio is cut to match)")
    parser.add_argument("--crf", type=int, default=None, metavar="Q",
                        help="quality (H.264 CRF, lower = better and larger; default: 23; VP9 "
                             "uses Q+8)")
    parser.add_argument("--no-audio", action="store_true",
                        help="drop IN's audio (default: every audio stream is carried; the run "
                             "fails if one cannot be written)")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 1, no output) when the decoder stops before the frame "
                             "count IN declares (a damaged file); default: warn and keep the "
                             "frames that were read")
    common.add_model_arguments(parser, smoothing=True)
    common.add_effect_arguments(parser, default=f"--background {common.DEFAULT_VIDEO_BACKGROUND}")


def run(args):
    from tqdm import tqdm

    from bgseg import io
    from bgseg.runtime import stream

    bad = common.setup_errors()
    if common.max_frames_invalid(args):
        return 2
    try:
        io.check_output(args.output, [args.input], overwrite=args.overwrite)
        effect = common.make_effect(args, common.DEFAULT_VIDEO_BACKGROUND)
        segmenter = common.open_segmenter(args, "video")
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    bar = tqdm(unit="frame", leave=False)

    def opened(reader, fps, size):
        bar.total = min(reader.frame_count or args.max_frames or 0,
                        args.max_frames or reader.frame_count) or None
        if fps != reader.fps:
            common.note(f"note: {args.input} reports no frame rate; writing {fps:g} fps")

    try:
        with segmenter, effect, bar:
            result = stream.segment_video(
                args.input, args.output, segmenter, effect, overwrite=args.overwrite,
                max_frames=args.max_frames, strict=args.strict, audio=not args.no_audio,
                alpha=bool(args.alpha), crf=args.crf, progress=bar, opened=opened)
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    speed = result.frames / result.seconds if result.seconds else 0
    common.note(f"{result.frames} frames written to {args.output} ({result.width}x"
                f"{result.height} at {result.fps:g} fps; processed at {speed:.1f} frames/s)")
    if result.short:
        common.note(f"warning: {args.input}: {result.short}; the output has the frames that were "
                    f"read (--strict refuses such files)")
    return 0
