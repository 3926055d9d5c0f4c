"""The frame loop shared by `bgseg video`, `bgseg webcam` and the Beam video step."""


def process_stream(reader, writer, segmenter, effect, max_frames=None, progress=None, show=None):
    """Segment and composite frames from `reader` into `writer` (and/or `show`); returns frames."""
    frames = 0
    for frame in reader:
        out = effect(frame, segmenter.segment(frame))
        if writer is not None:
            writer.write(out)
        frames += 1
        if progress is not None:
            progress.update(1)
        if show is not None and not show(out):
            break
        if max_frames is not None and frames >= max_frames:
            break
    return frames


def prepend(first, frames):
    """`first`, then the rest of `frames`."""
    yield first
    yield from frames
