"""`bgseg webcam`: live background removal from a camera (or a stream URL / file), previewed in a
window where the OpenCV build has a GUI, and/or written to a file with `-o`."""

from bgseg.commands import common

WINDOW = "bgseg (q or Esc to quit)"


def add_arguments(parser):
    parser.add_argument("--camera", default="0", metavar="INDEX|URL",
                        help="camera index (default: 0), or a stream URL / video file")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="also write the result to a video file (the only output on a "
                             "headless OpenCV build)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N",
                        help="stop after N frames (default: until q/Esc or the stream ends)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate written to FILE (default: the camera's, else 30)")
    parser.add_argument("--no-preview", action="store_true", help="no preview window")
    common.add_model_arguments(parser, smoothing=True)
    common.add_effect_arguments(parser, default=f"--background {common.DEFAULT_VIDEO_BACKGROUND}")


def has_gui():
    """Whether this OpenCV build can open windows (opencv-python-headless cannot)."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() != "NONE"
    return False


def has_display():
    """Whether a window can be shown: on Linux an X11 or Wayland display must be set (Qt aborts
    the process without one)."""
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _is_file(camera):
    """Whether `--camera` names a video file (whose audio is carried into `-o`)."""
    return not str(camera).isdigit() and "://" not in str(camera)


def _preview():
    import cv2

    def show(frame):
        if frame.ndim == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGBA2BGRA if frame.shape[2] == 4
                                 else cv2.COLOR_RGB2BGR)
        cv2.imshow(WINDOW, frame)
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    return show


def run(args):
    from bgseg import io
    from bgseg.runtime import stream

    bad = common.setup_errors()
    preview = False
    if not args.no_preview:
        gui = has_gui()
        preview = gui and has_display()
        reason = ("this OpenCV build has no GUI (opencv-python-headless)" if not gui
                  else "no display (DISPLAY / WAYLAND_DISPLAY is not set)")
        if not preview and not args.output:
            common.error(f"{reason}, so there is no preview window; write the stream to a file "
                         f"with -o FILE (and --max-frames N)")
            return 2
        if not preview:
            common.note(f"note: {reason}: no preview window, writing {args.output} only")
    if not preview and not args.output:
        common.error("nothing to do: --no-preview without -o FILE")
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
    try:
        with segmenter, effect:
            result = stream.segment_video(args.camera, args.output, segmenter, effect,
                                          overwrite=args.overwrite, max_frames=args.max_frames,
                                          audio=_is_file(args.camera), alpha=bool(args.alpha),
                                          fps=args.fps,
                                          show=_preview() if preview else None)
    except bad as exc:
        common.error(exc)
        return 1 if isinstance(exc, io.InputError) else 2
    finally:
        if preview:
            import cv2

            cv2.destroyAllWindows()
    target = f" to {args.output}" if args.output else ""
    speed = result.frames / result.seconds if result.seconds else 0
    common.note(f"{result.frames} frames{target} ({speed:.1f} frames/s)")
    return 0
