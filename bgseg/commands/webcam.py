"""`bgseg webcam`: live background removal from a camera (or a stream URL / file), previewed in a
window or a browser page (`bgseg.preview`), sent to a virtual camera and/or written to `-o FILE`."""

import time

from bgseg.commands import common


def add_arguments(parser):
    parser.add_argument("--camera", default="0", metavar="INDEX|URL",
                        help="camera index (default: 0), or a stream URL / video file")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="also write the result to a video file")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="stop after N frames (default: until q/Esc in the window, Ctrl+C "
                             "or the end of the stream)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate written to FILE (default: the camera's, else 30)")
    parser.add_argument("--preview", choices=("auto", "window", "browser", "none"),
                        default="auto",
                        help="where to show the result: an OpenCV window, a browser page "
                             "(MJPEG on 127.0.0.1), or none; auto: a window when one can open, "
                             "else the browser (default: auto)")
    parser.add_argument("--port", type=int, default=8765,
                        help="port of the browser preview (default: 8765; 0: any free port)")
    parser.add_argument("--no-preview", action="store_true", help="the same as --preview none")
    parser.add_argument("--virtual-camera", action="store_true",
                        help="also send the result to a virtual camera (pyvirtualcam; "
                             "pip install \"bgseg[virtualcam]\")")
    common.add_model_arguments(parser, smoothing=True)
    common.add_effect_arguments(parser, default=f"--background {common.DEFAULT_VIDEO_BACKGROUND}")


def _open_preview(args, first, fps):
    """The preview sinks chosen by --preview/--virtual-camera (a `preview.Preview`, or None)."""
    from bgseg import preview

    elsewhere = args.output or args.virtual_camera  # auto adds no browser page to these
    mode, problem = preview.choose_mode("none" if args.no_preview else args.preview,
                                        fallback="none" if elsewhere else "browser")
    if problem and mode == "browser":
        common.note(f"note: {problem}, so the preview is in the browser")
    elif problem:
        target = args.output or "the virtual camera"
        common.note(f"note: {problem}: no preview window, writing {target} only "
                    f"(--preview browser shows it in a browser)")
    sinks = []
    try:
        if mode == "window":
            sinks.append(preview.WindowPreview())
        elif mode == "browser":
            sinks.append(preview.BrowserPreview(args.port))
            common.note(f"preview: open {sinks[-1].url} in a browser (Ctrl+C to stop)")
        if args.virtual_camera:
            sinks.append(preview.VirtualCamera(first.shape[1], first.shape[0], fps))
            common.note(f"virtual camera: {sinks[-1].device}")
    except preview.PreviewError:
        preview.Preview(sinks).close()
        raise
    return preview.Preview(sinks) if sinks else None


def run(args):
    from bgseg import io, preview
    from bgseg.capture import LatestFrames
    from bgseg.runtime import stream

    bad = common.setup_errors() + (preview.PreviewError,)
    if (args.no_preview or args.preview == "none") and not args.output \
            and not args.virtual_camera:
        common.error("nothing to do: --preview none without -o FILE or --virtual-camera")
        return 2
    if not 0 <= args.port <= 65535:
        common.error(f"--port must be in 0..65535, got {args.port}")
        return 2
    if args.alpha and args.output:
        common.error("video files cannot carry transparency here; use --mask-only or "
                     "--background/--blur")
        return 2
    if common.max_frames_invalid(args):
        return 2
    try:
        if args.output:
            io.check_output(args.output, overwrite=args.overwrite)
        effect = common.make_effect(args, common.DEFAULT_VIDEO_BACKGROUND)
        segmenter = common.open_segmenter(args, "video")
        reader = io.VideoReader(args.camera)
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    writer = shown = None
    with reader, segmenter, effect:
        first = reader.read()
        if first is None:
            common.error(f"{args.camera}: no frame could be read")
            return 1
        fps = args.fps or (reader.fps if 0 < reader.fps < 1000 else 30.0)
        try:
            shown = _open_preview(args, first, fps)
            if args.output:
                writer = io.VideoWriter(args.output, fps, (first.shape[1], first.shape[0]),
                                        overwrite=args.overwrite)
        except bad as exc:
            if shown is not None:
                shown.close()
            common.error(exc)
            return 2
        frames_in = stream.prepend(first, reader)
        is_live = str(args.camera).isdigit() or "://" in str(args.camera)
        live = LatestFrames(frames_in) if is_live else None  # newest frame, capture thread
        start = time.perf_counter()
        try:
            frames = stream.process_stream(live or frames_in, writer, segmenter, effect,
                                           args.max_frames, show=shown)
        except io.InputError as exc:  # the output could not be written (disk full, ...)
            writer.abort()
            common.error(exc)
            return 1
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            if live is not None:
                live.close()
            if shown is not None:
                shown.close()
        elapsed = time.perf_counter() - start
        if writer is not None:
            try:
                writer.close()
            except io.InputError as exc:
                common.error(exc)
                return 1
    target = f" to {args.output}" if args.output else ""
    common.note(f"{frames} frames{target} ({frames / elapsed if elapsed else 0:.1f} frames/s)")
    return 0
