"""`bgseg webcam`: live background removal from a camera (or a stream URL / file), previewed in a
window or a browser page (`bgseg.preview`), sent to a virtual camera and/or written to `-o FILE`."""

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


def _open_preview(args, size, fps):
    """The preview sinks chosen by --preview/--virtual-camera for frames of `size` (width,
    height): a `preview.Preview`, or None."""
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
            sinks.append(preview.VirtualCamera(size[0], size[1], fps))
            common.note(f"virtual camera: {sinks[-1].device}")
    except preview.PreviewError:
        preview.Preview(sinks).close()
        raise
    return preview.Preview(sinks) if sinks else None


def _is_live(camera):
    """A camera index or a stream URL (newest frame first), not a video file (every frame, and
    its audio carried into `-o`)."""
    return str(camera).isdigit() or "://" in str(camera)


def run(args):
    from bgseg import io, preview
    from bgseg.runtime import stream

    bad = common.setup_errors() + (preview.PreviewError,)
    if (args.no_preview or args.preview == "none") and not args.output \
            and not args.virtual_camera:
        common.error("nothing to do: --preview none without -o FILE or --virtual-camera")
        return 2
    if not 0 <= args.port <= 65535:
        common.error(f"--port must be in 0..65535, got {args.port}")
        return 2
    if common.max_frames_invalid(args):
        return 2
    try:
        if args.output:
            io.check_output(args.output, overwrite=args.overwrite)
        effect = common.make_effect(args, common.DEFAULT_VIDEO_BACKGROUND)
        segmenter = common.open_segmenter(args, "video")
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    shown = None

    def opened(reader, fps, size):
        nonlocal shown
        shown = _open_preview(args, size, fps)

    def show(frame):
        return shown is None or shown(frame)

    live = _is_live(args.camera)
    try:
        with segmenter, effect:
            result = stream.segment_video(args.camera, args.output, segmenter, effect,
                                          overwrite=args.overwrite, max_frames=args.max_frames,
                                          audio=not live, alpha=bool(args.alpha), fps=args.fps,
                                          show=show, opened=opened, live=live)
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    finally:
        if shown is not None:
            shown.close()
    target = f" to {args.output}" if args.output else ""
    speed = result.frames / result.seconds if result.seconds else 0
    common.note(f"{result.frames} frames{target} ({speed:.1f} frames/s)")
    return 0
