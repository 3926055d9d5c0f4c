"""The one video driver shared by `bgseg video`, `bgseg webcam` and the Beam video step.

Decoding, segmentation and composite+encoding run as three stages joined by small bounded queues,
so FFmpeg's decode and encode and the effect overlap the model (the interpreter itself stays on
one thread). When frames are shown (`show`, the webcam preview) the effect runs in the caller's
thread instead, which shows them. OpenCV, the interpreter and FFmpeg release the GIL while they
work, so the stages run on separate cores. An exception in any stage stops the others and is
raised here; nothing deadlocks on error or abort.
"""

import inspect
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from bgseg import planes
from bgseg.contract import resize_frame
from bgseg.runtime import memory
from bgseg.runtime.segmenter import Segmenter, picture_size

QUEUE_SIZE = 4
_END = object()


@dataclass
class StageTimes:
    """Seconds spent in each stage (decode and encode run beside the model): `process` is the
    segmentation, `effect` the compositing (on the encode thread unless frames are shown), `encode`
    the writer alone."""

    decode: float = 0.0
    process: float = 0.0
    effect: float = 0.0
    encode: float = 0.0


def _put(channel, item, stop):
    while not stop.is_set():
        try:
            channel.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(channel, stop):
    while not stop.is_set():
        try:
            return channel.get(timeout=0.1)
        except queue.Empty:
            continue
    return _END


def _drain(channel, stop):
    """The items put into `channel` until its end (or `stop`)."""
    while (item := _get(channel, stop)) is not _END:
        yield item


def _direct(frames, max_frames, times):
    """The items of `frames` (a live source that reads on its own thread), at most `max_frames`."""
    iterator = iter(frames)
    count = 0
    while max_frames is None or count < max_frames:
        start = time.perf_counter()
        item = next(iterator, _END)
        times.decode += time.perf_counter() - start
        if item is _END:
            return
        count += 1
        yield item


def segment_planes(segmenter, frame, matrix, dtype=np.uint8):
    """`segmenter.segment` of an I420 frame in `matrix`'s YUV: the picture converted to RGB at
    the segmenter's working size (`picture_size`), the luma plane as the full-size guide (and,
    resized to the picture's size, the picture's own grayscale)."""
    luma = planes.split(frame)[0]
    size = picture_size(luma)
    small_luma = resize_frame(luma, *size)
    small = planes.to_rgb(frame, *size, matrix, luma=small_luma)
    if not _takes_picture_gray(segmenter):  # e.g. a segmenter of the caller's own
        return segmenter.segment(small, dtype=dtype, gray=luma)
    return segmenter.segment(small, dtype=dtype, gray=luma, picture_gray=small_luma)


_TAKES_PICTURE_GRAY = {}


def _takes_picture_gray(segmenter):
    """Whether `segmenter.segment` has a `picture_gray` parameter (`Segmenter`'s), per class."""
    kind = type(segmenter)
    if kind not in _TAKES_PICTURE_GRAY:
        try:
            parameters = inspect.signature(segmenter.segment).parameters
        except (TypeError, ValueError):
            parameters = {}
        _TAKES_PICTURE_GRAY[kind] = "picture_gray" in parameters
    return _TAKES_PICTURE_GRAY[kind]


def process_stream(frames, writer, segmenter, effect, max_frames=None, progress=None, show=None,
                   times=None, live=False, matrix=None):
    """Segment and composite `frames` (an iterable of RGB frames or `(seconds, frame)` pairs)
    into `writer` (and/or `show`, which returns False to stop); returns the frame count. Masks
    reach `effect` as its `mask_dtype` (uint8 for `bgseg.effects.Effect`), else float32. A `live`
    source (`bgseg.capture.LatestFrames`) is read directly, with no queue in between: each frame
    processed is the newest one captured. With `matrix` ("bt709"/"bt601") frames are I420 buffers
    in that YUV (`bgseg.planes`): the segmenter gets the picture at its working size
    (`picture_size`) and the luma plane as the full-size guide, `effect.on_planes` composites the
    planes and `writer` takes I420 (`VideoWriter(matrix=...)`): no full-size RGB image at all."""
    memory.reuse_freed_memory()
    stop = threading.Event()
    errors = []
    decoded, encoded = queue.Queue(QUEUE_SIZE), queue.Queue(QUEUE_SIZE)
    times = times if times is not None else StageTimes()

    def decode():
        try:
            count = 0
            iterator = iter(frames)
            while max_frames is None or count < max_frames:
                start = time.perf_counter()
                item = next(iterator, _END)
                times.decode += time.perf_counter() - start
                if item is _END or not _put(decoded, item, stop):
                    break
                count += 1
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            errors.append(error)
            stop.set()
        finally:
            _put(decoded, _END, stop)

    def composite(frame, mask):
        start = time.perf_counter()
        out = effect(frame, mask) if matrix is None else effect.on_planes(frame, mask, matrix)
        times.effect += time.perf_counter() - start
        return out

    def encode():
        try:
            while (item := _get(encoded, stop)) is not _END:
                out, seconds = item if show is not None else (composite(*item[:2]), item[2])
                start = time.perf_counter()
                writer.write(out, seconds)
                times.encode += time.perf_counter() - start
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
            stop.set()

    mask_dtype = getattr(effect, "mask_dtype", np.float32)  # Effect takes uint8 masks: faster

    def segment(frame):
        if matrix is None:
            return segmenter.segment(frame, dtype=mask_dtype)
        return segment_planes(segmenter, frame, matrix, mask_dtype)

    workers = [] if live else [threading.Thread(target=decode, daemon=True, name="bgseg-decode")]
    encoder = None
    if writer is not None:
        encoder = threading.Thread(target=encode, daemon=True, name="bgseg-encode")
        workers.append(encoder)
    for worker in workers:
        worker.start()
    source = _direct(frames, max_frames, times) if live else _drain(decoded, stop)
    count = 0
    try:
        for item in source:
            seconds, frame = item if isinstance(item, tuple) else (None, item)
            start = time.perf_counter()
            mask = segment(frame)
            times.process += time.perf_counter() - start
            if show is None:  # composited on the encode thread
                item = (frame, mask, seconds)
            else:
                out = composite(frame, mask)
                item = (out, seconds)
            if writer is not None and not _put(encoded, item, stop):
                break
            count += 1
            if progress is not None:
                progress.update(1)
            if show is not None and not show(out):
                break
    except BaseException:
        stop.set()
        raise
    finally:
        if encoder is not None:
            if not stop.is_set():
                _put(encoded, _END, stop)
            encoder.join()
        stop.set()  # releases the decoder (max frames reached, `show` said stop, or an error)
        for worker in workers:
            worker.join()
    if errors:
        raise errors[0]
    return count


@dataclass
class VideoRun:
    """What `segment_video` did: frames written, the output's size and frame rate, frames/s, and
    a sentence when the decoder stopped before the declared frame count."""

    frames: int
    width: int
    height: int
    fps: float
    seconds: float
    short: str = None
    times: StageTimes = None


def segment_video(source, output, segmenter, effect, *, overwrite=False, max_frames=None,
                  strict=False, audio=True, alpha=False, crf=None, fps=None, progress=None,
                  show=None, opened=None, live=False):
    """Open `source`, write the segmented video to `output` (None: `show` only) with its
    timestamps and (`audio`) every audio stream, and return a VideoRun. Raises InputError (no
    output left) on bad input, an unwritable output, or (`strict`) a damaged input; `opened`
    (reader, fps, (width, height)) is called once the first frame is read (e.g. to size a
    progress bar or open a preview). `live` sources (cameras, streams) are read on their own
    thread that keeps only the newest frame (`bgseg.capture.LatestFrames`)."""
    from bgseg.effects import Effect
    from bgseg.io import InputError
    from bgseg.video_io import DEFAULT_CRF, VideoReader, VideoWriter, planar_output

    # the one switch to the YUV path: an encoded yuv420p output, an effect and a segmenter that
    # take planes, and nothing shown (previews are RGB)
    planar = (output is not None and show is None and planar_output(output, alpha)
              and isinstance(effect, Effect) and effect.takes_planes
              and isinstance(segmenter, Segmenter))
    with VideoReader(source, planar=planar) as reader:
        timed = reader.timed()
        first = next(timed, None)
        if first is None:
            raise InputError(source, "no readable frame")
        height, width = first[1].shape[:2]
        if reader.matrix is not None:
            height = height * 2 // 3
        rate = fps or (reader.fps if 0 < reader.fps < 1000 else 30.0)
        if opened is not None:
            opened(reader, rate, (width, height))
        writer = None
        if output is not None:
            writer = VideoWriter(output, rate, (width, height), overwrite=overwrite, alpha=alpha,
                                 crf=DEFAULT_CRF if crf is None else crf,
                                 time_base=None if fps else reader.time_base,
                                 audio_from=source if audio and reader.audio_streams else None,
                                 matrix=reader.matrix)
        times = StageTimes()
        start = time.perf_counter()
        frames_in = _prepend(first, timed)
        newest = None
        if live:
            from bgseg.capture import LatestFrames

            newest = frames_in = LatestFrames(frames_in)
        try:
            frames = process_stream(frames_in, writer, segmenter, effect, max_frames,
                                    progress, show, times, live=live, matrix=reader.matrix)
            short = _stopped_early(reader, frames, max_frames)
            if short and strict:
                raise InputError(source, f"{short}; nothing was written (--strict)")
            if writer is not None:
                writer.audio_until = writer.end_time() if max_frames else None
                writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            if newest is not None:
                newest.close()
    return VideoRun(frames, width, height, rate, time.perf_counter() - start, short, times)


def _stopped_early(reader, frames, max_frames):
    """A sentence when fewer frames were read than the container declares, else None."""
    declared = reader.frame_count
    if max_frames is not None and frames >= max_frames:
        return None
    if declared and frames < declared - 1:  # containers may count one frame more than they hold
        return f"the decoder stopped after {frames} of {declared} frames (a damaged file?)"
    return None


def _prepend(first, rest):
    yield first
    yield from rest


def prepend(first, frames):
    """`first`, then the rest of `frames`."""
    return _prepend(first, frames)
