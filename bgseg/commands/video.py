"""`bgseg video IN -o OUT`: a video file frame by frame, each frame's mask fed into the next."""

import time

from bgseg.commands import common

def add_arguments(parser):
    parser.add_argument("input", metavar="IN", help="a video file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output video (.mp4/.m4v/.mov: mp4v, .avi/.mkv: MJPG); same fps and "
                             "size as IN")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="stop after N frames")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 1, no output) when the decoder stops before the frame "
                             "count IN declares (a damaged file); default: warn and keep the "
                             "frames that were read")
    common.add_model_arguments(parser, smoothing=True)
    common.add_effect_arguments(parser, default=f"--background {common.DEFAULT_VIDEO_BACKGROUND}")


def _finish_with_audio(source, writer):
    """Close `writer`, copying `source`'s audio in with ffmpeg when it is on PATH."""
    from bgseg import io

    if not io.ffmpeg_available():
        writer.close()
        common.note("note: no audio in the output: OpenCV cannot mux audio and ffmpeg is not on "
                    "PATH (install ffmpeg to keep the soundtrack)")
        return
    writer.release()
    muxed = io.temp_file(writer.path)  # ffmpeg -y writes into it
    if io.mux_audio(source, writer.tmp, muxed):
        writer.close(replace_with=muxed)
    else:
        muxed.unlink(missing_ok=True)
        writer.close()
        common.note("note: ffmpeg could not copy the audio track; the output has video only")


def run(args):
    from tqdm import tqdm

    from bgseg import io
    from bgseg.runtime import stream

    bad = common.setup_errors()
    if args.alpha:
        common.error("video files cannot carry transparency here; use --mask-only (a matte video) "
                     "or --background/--blur")
        return 2
    if common.max_frames_invalid(args):
        return 2
    try:
        io.check_output(args.output, [args.input], overwrite=args.overwrite)
        effect = common.make_effect(args, common.DEFAULT_VIDEO_BACKGROUND)
        reader = io.VideoReader(args.input)
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    with reader, effect:
        first = reader.read()
        if first is None:
            common.error(f"{args.input}: no readable frame")
            return 1
        height, width = first.shape[:2]
        fps = reader.fps if 0 < reader.fps < 1000 else 30.0
        if fps != reader.fps:
            common.note(f"note: {args.input} reports no frame rate; writing {fps:g} fps")
        try:
            segmenter = common.open_segmenter(args, "video")
            writer = io.VideoWriter(args.output, fps, (width, height), overwrite=args.overwrite)
        except bad as exc:
            common.error(exc)
            return 2
        total = reader.frame_count or None
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        start = time.perf_counter()
        try:
            with segmenter, tqdm(total=total, unit="frame", leave=False) as bar:
                frames = stream.process_stream(stream.prepend(first, reader), writer, segmenter,
                                               effect, args.max_frames, bar)
        except io.InputError as exc:  # the output could not be written (disk full, ...)
            writer.abort()
            common.error(exc)
            return 1
        except BaseException:
            writer.abort()
            raise
        elapsed = time.perf_counter() - start
        short = _stopped_early(reader, frames, args.max_frames)
        if short and args.strict:
            writer.abort()
            common.error(f"{args.input}: {short}; nothing was written (--strict)")
            return 1
        try:
            _finish_with_audio(args.input, writer)
        except io.InputError as exc:
            common.error(exc)
            return 1
    common.note(f"{frames} frames written to {args.output} ({width}x{height} at {fps:g} fps; "
                f"processed at {frames / elapsed if elapsed else 0:.1f} frames/s)")
    if short:
        common.note(f"warning: {args.input}: {short}; the output has the frames that were read "
                    f"(--strict refuses such files)")
    return 0


def _stopped_early(reader, frames, max_frames):
    """A sentence when fewer frames were read than the container declares, else None."""
    declared = reader.frame_count
    if max_frames is not None and frames >= max_frames:
        return None
    if declared and frames < declared - 1:  # containers may count one frame more than they hold
        return f"the decoder stopped after {frames} of {declared} frames (a damaged file?)"
    return None
