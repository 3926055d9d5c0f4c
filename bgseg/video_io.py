"""Video reading and writing on PyAV (FFmpeg's libraries in the `av` wheel; no ffmpeg program).

`VideoReader` decodes with FFmpeg threading and yields upright RGB frames with their timestamps.
`VideoWriter` encodes into a hidden temporary file beside the output (H.264/yuv420p/BT.709 in
MP4/MOV/MKV, VP9 or ProRes 4444 with alpha, MJPEG in AVI), carries every audio stream of a source
(stream copy where the container takes the codec, else AAC/Opus/PCM), checks that the result plays
back every frame, and moves it into place: the output is complete or absent.
"""

import os
import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from bgseg import planes
from bgseg.io import IMAGE_EXTENSIONS, InputError, OutputExists, check_output, output_temp_file

ALPHA_CODECS = {".webm": ("libvpx-vp9", "yuva420p"), ".mov": ("prores_ks", "yuva444p10le")}
VIDEO_CODECS = {".mp4": ("libx264", "yuv420p"), ".m4v": ("libx264", "yuv420p"),
                ".mov": ("libx264", "yuv420p"), ".mkv": ("libx264", "yuv420p"),
                ".webm": ("libvpx-vp9", "yuv420p"), ".avi": ("mjpeg", "yuvj420p")}
# audio codecs each container takes as they are (None: any); the others are transcoded
AUDIO_COPY = {".mp4": {"aac", "mp3", "ac3", "eac3", "opus", "alac", "flac"},
              ".mov": {"aac", "mp3", "ac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le",
                       "pcm_s24be", "pcm_f32le"},
              ".mkv": None, ".webm": {"opus", "vorbis"}, ".avi": {"mp3", "ac3", "pcm_s16le"}}
AUDIO_COPY[".m4v"] = AUDIO_COPY[".mp4"]
AUDIO_ENCODERS = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac",
                  ".webm": "libopus", ".avi": "pcm_s16le"}
DEFAULT_CRF = 23
# FFmpeg colorspace values whose YUV frames the planar path takes (2: unspecified, read as BT.601)
PLANAR_COLORSPACES = {1: "bt709", 2: "bt601", 5: "bt601", 6: "bt601"}
MATRIX_NAMES = {"bt709": "ITU709", "bt601": "ITU601"}  # PyAV's names for reformat
X264_MATRIX = {"bt709": "bt709", "bt601": "smpte170m"}
TEMP_MARK = ".bgseg-"  # hidden temporary outputs: .NAME.bgseg-PID-RANDOM.EXT


def has_encoder(name):
    """Whether this PyAV wheel's FFmpeg can encode with codec `name`."""
    import av

    try:
        av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - UnknownCodecError and friends
        return False
    return True


def _require_encoder(path, name, what):
    if not has_encoder(name):
        raise InputError(path, f"this PyAV build has no {name} encoder for {what}; install a PyAV "
                               f"wheel with {name} (pip install av)")


def planar_matrix(codec_context):
    """"bt709" or "bt601" when a stream decodes to limited-range yuv420p of even size under one of
    those matrices (unspecified: BT.601, what FFmpeg's RGB conversion assumes), else None."""
    if codec_context.pix_fmt != "yuv420p" or codec_context.width % 2 or codec_context.height % 2 \
            or codec_context.color_range == 2:  # JPEG (full) range
        return None
    return PLANAR_COLORSPACES.get(codec_context.colorspace)


def _i420(frame, matrix):
    """The I420 buffer of a decoded frame in the stream's limited-range YUV under `matrix` (a
    frame in another format, e.g. after a mid-stream change, is converted to it)."""
    if frame.format.name != "yuv420p" or PLANAR_COLORSPACES.get(frame.colorspace) != matrix \
            or frame.color_range == 2:
        frame = frame.reformat(format="yuv420p", dst_colorspace=MATRIX_NAMES[matrix],
                               dst_color_range="MPEG")
    return frame.to_ndarray()


class VideoReader:
    """Upright RGB frames of a video file, a stream URL or a camera index (iterate; use `with`).

    `fps`, `width`, `height` (upright), `frame_count` (0 when unknown), `time_base`; `timed()`
    yields `(seconds, frame)` pairs with each frame's presentation time. With `planar`, where the
    stream allows it (`planar_matrix`; `matrix` then names it) frames are I420 buffers
    (`bgseg.planes`) instead of RGB.
    """

    def __init__(self, source, planar=False):
        import av

        self.source = source
        text = str(source)
        fmt = None
        if text.isdigit():  # a camera index: Video4Linux on Linux
            text, fmt = f"/dev/video{text}", "v4l2"
        elif "://" not in text:
            path = Path(source)
            if not path.is_file():
                raise InputError(source, "no such file")
            if path.stat().st_size == 0:
                raise InputError(source, "empty file")
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                raise InputError(source, "is a still image, not a video (use `bgseg image`)")
        kind = "camera" if fmt else "video"
        try:
            self.container = av.open(text, format=fmt)
        except (av.FFmpegError, OSError, ValueError):
            raise InputError(source, f"the {kind} will not open (not a video, or no decoder)") \
                from None
        if not self.container.streams.video:
            self.container.close()
            raise InputError(source, f"the {kind} will not open (no video stream)")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.time_base = self.stream.time_base or Fraction(1, 90000)
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        self.frame_count = self.stream.frames or 0
        if not self.frame_count and self.stream.duration and rate:
            self.frame_count = int(round(float(self.stream.duration * self.time_base * rate)))
        self.width, self.height = self.stream.codec_context.width, self.stream.codec_context.height
        self.audio_streams = len(self.container.streams.audio)
        self.matrix = planar_matrix(self.stream.codec_context) if planar else None
        self._frames = None

    def _decoded(self):
        import av

        try:
            for frame in self.container.decode(self.stream):
                rotation = int(getattr(frame, "rotation", 0) or 0)  # display matrix, CCW degrees
                if self.matrix is None:
                    image = frame.to_ndarray(format="rgb24")
                    if rotation % 360:
                        image = np.ascontiguousarray(np.rot90(image, rotation // 90))
                else:
                    image = _i420(frame, self.matrix)
                    if rotation % 360:
                        image = planes.rotate(image, rotation // 90)
                yield (None if frame.pts is None else float(frame.pts * self.time_base)), image
        except av.FFmpegError:  # a damaged file: stop here; the caller compares frame counts
            return

    def timed(self):
        """`(seconds or None, RGB frame)` for each remaining frame."""
        while (item := self._next()) is not None:
            yield item

    def _next(self):
        if self._frames is None:
            self._frames = self._decoded()
        return next(self._frames, None)

    def read(self):
        """The next RGB frame, or None at the end."""
        item = self._next()
        return None if item is None else item[1]

    def rewind(self):
        """Go back to the first frame (files only)."""
        self.container.seek(0, stream=self.stream)
        self._frames = None

    def __iter__(self):
        for _, frame in self.timed():
            yield frame

    def close(self):
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(path):
    """Remove hidden temporary files that killed runs (SIGKILL, power loss) left beside `path`:
    those whose process id is no longer running."""
    for stale in Path(path).parent.glob(f".{Path(path).stem}{TEMP_MARK}*"):
        try:
            pid = int(stale.name[len(f".{Path(path).stem}{TEMP_MARK}"):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            stale.unlink(missing_ok=True)


def video_temp_file(path):
    """A new hidden file beside `path` named after this process (so a later run can tell a
    killed run's leftover from a live one); InputError naming the output when impossible."""
    clean_stale_temps(path)
    return output_temp_file(path, prefix=f".{path.stem}{TEMP_MARK}{os.getpid()}-")


def _free_bytes(folder):
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62  # unknown: do not stop the run


def _place(tmp, path, overwrite):
    """Move `tmp` to `path`; without `overwrite` by an exclusive hard link, so that of two runs
    writing the same output only the first to finish succeeds."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(path, "appeared while it was being written (another run?); not "
                               "replacing it") from None
    except OSError:  # a filesystem without hard links
        if path.exists():
            raise OutputExists(path) from None
        os.replace(tmp, path)


def planar_output(path, alpha=False):
    """Whether `VideoWriter` writes `path` as limited-range yuv420p (and so takes I420 frames)."""
    ext = Path(path).suffix.lower()
    return not alpha and VIDEO_CODECS.get(ext, (None, None))[1] == "yuv420p"


class VideoWriter:
    """Write RGB, RGBA (`alpha`) or grayscale frames to a hidden temporary file; `close()` adds the
    audio of `audio_from`, checks the file and moves it into place; `abort()` removes it.

    `time_base` (a Fraction) with `write(frame, seconds)` keeps the input's timestamps (VFR stays
    VFR); without times, frames are spaced 1/`fps` apart. `audio_until` (seconds) trims audio.
    With `matrix` ("bt709" or "bt601") frames are I420 buffers (`bgseg.planes`) in limited-range
    YUV under that matrix, encoded as they are (no conversion) and tagged with it; only for the
    yuv420p outputs (`planar_output`).
    """

    CHECK_EVERY = 10
    MIN_FREE = 1 << 20

    def __init__(self, path, fps, size, overwrite=False, alpha=False, crf=DEFAULT_CRF,
                 time_base=None, audio_from=None, matrix=None):
        import av

        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in VIDEO_CODECS:
            raise ValueError(f"{path}: unknown video format {ext or '(no extension)'}; use one "
                             f"of {', '.join(sorted(VIDEO_CODECS))}")
        if alpha and ext not in ALPHA_CODECS:
            raise ValueError(f"{path}: {ext} video cannot carry transparency; write .webm (VP9) "
                             f"or .mov (ProRes 4444) with --alpha")
        codec, self.pix_fmt = (ALPHA_CODECS if alpha else VIDEO_CODECS)[ext]
        if matrix is not None and not planar_output(path, alpha):
            raise ValueError(f"{path}: YUV frames are written to yuv420p outputs only (not "
                             f"{self.pix_fmt})")
        if matrix is not None and matrix not in X264_MATRIX:
            raise ValueError(f"unknown YUV matrix {matrix!r}; use one of {', '.join(X264_MATRIX)}")
        self.matrix = matrix
        _require_encoder(self.path, codec, f"{ext} video")
        check_output(self.path, overwrite=overwrite)
        self.overwrite, self.alpha, self.ext = overwrite, alpha, ext
        self.audio_plan = _audio_plan(audio_from, ext, self.path)
        self.audio_from, self.audio_until = audio_from, None
        self.fps = Fraction(fps).limit_denominator(1001) if fps else Fraction(30)
        self.time_base = time_base or 1 / self.fps
        self.tmp = video_temp_file(self.path)
        self.size = tuple(size)
        self.frames, self._last_pts = 0, None
        try:
            self._container = av.open(str(self.tmp), "w", options=(
                {"movflags": "+faststart"} if ext in (".mp4", ".m4v", ".mov") else {}))
            self._stream = self._container.add_stream(codec, rate=self.fps)
            self._configure(self._stream, crf)
            self._audio_source = None
            self._audio_outputs = _add_audio_streams(self) if self.audio_plan else {}
        except (av.FFmpegError, ValueError) as error:
            self.abort()
            raise InputError(path, f"cannot write {ext} video here ({error})") from None

    def _configure(self, stream, crf):
        stream.width, stream.height = self.size
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        stream.thread_type = "AUTO"
        if stream.codec_context.name == "libx264":
            # veryfast with the cheapest motion search (me=dia:subme=1): a quarter less encoding
            # time at 720p for the same PSNR and about 4 % more bytes (docs/benchmarks.md)
            colormatrix = X264_MATRIX[self.matrix or "bt709"]
            stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params":
                              f"colorprim=bt709:transfer=bt709:colormatrix={colormatrix}:"
                              f"me=dia:subme=1"}
        elif stream.codec_context.name == "libvpx-vp9":
            stream.options = {"crf": str(crf + 8), "b": "0", "deadline": "realtime",
                              "cpu-used": "8", "row-mt": "1"}
        elif stream.codec_context.name == "prores_ks":
            stream.options = {"profile": "4444"}
        if self.pix_fmt.startswith("yuv4") or self.pix_fmt.startswith("yuva"):
            stream.codec_context.color_range = 1  # limited (MPEG) range
            stream.codec_context.colorspace = 6 if self.matrix == "bt601" else 1  # BT.709
            stream.codec_context.color_primaries = 1
            stream.codec_context.color_trc = 1

    def _video_frame(self, frame):
        import av

        if self.matrix is not None:  # I420 already in the output's YUV
            width, height = self.size
            if frame.shape != (height * 3 // 2, width):
                raise InputError(self.path, f"an I420 frame of shape {frame.shape} given to a "
                                            f"{width}x{height} YUV writer")
            return av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(frame), format="yuv420p")
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        if frame.shape[2] == 4 and not self.alpha:
            raise InputError(self.path, "RGBA frames given to a writer opened without alpha")
        # wraps the array without a copy: from_ndarray's copy holds the GIL (3 ms at 720p), which
        # stalled the segmentation thread; the conversion below (swscale) releases it
        video = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(frame),
                                                format="rgba" if frame.shape[2] == 4 else "rgb24")
        if self.pix_fmt == "yuvj420p":
            return video.reformat(format=self.pix_fmt)
        return video.reformat(format=self.pix_fmt, dst_colorspace="ITU709",
                              dst_color_range="MPEG")

    def write(self, frame, seconds=None):
        """Encode one frame shown at `seconds` (its input timestamp; None: the next 1/fps); a full
        disk (checked every `CHECK_EVERY` frames) stops the run at once."""
        video = self._video_frame(frame)
        if seconds is None:
            pts = 0 if self._last_pts is None else self._last_pts + max(
                1, round(1 / (self.fps * self.time_base)))
        else:
            pts = round(Fraction(seconds).limit_denominator(10**9) / self.time_base)
            if self._last_pts is not None and pts <= self._last_pts:
                pts = self._last_pts + 1  # timestamps must increase
        video.pts, video.time_base = pts, self.time_base
        self._last_pts = pts
        self._mux(self._stream.encode(video))
        self.frames += 1
        if self.frames % self.CHECK_EVERY == 0 and _free_bytes(self.tmp.parent) < self.MIN_FREE:
            raise InputError(self.path, f"the disk is full after {self.frames} frames; nothing "
                                        f"was written")

    def _mux(self, packets):
        import av

        try:
            self._container.mux(packets)
        except (av.FFmpegError, OSError) as error:
            raise InputError(self.path, f"cannot write the output ({error}); nothing was "
                                        f"written") from None

    def end_time(self):
        """The time (seconds) just after the last written frame: where audio should stop."""
        if self._last_pts is None:
            return 0.0
        return float((self._last_pts + 1 / (self.fps * self.time_base)) * self.time_base)

    def release(self):
        """Flush the encoder, add the audio and close the temporary file (idempotent)."""
        if self._container is None:
            return
        try:
            self._mux(self._stream.encode(None))
            if self.audio_plan:
                _carry_audio(self, self.audio_until)
        finally:
            self._close_containers()

    def _close_containers(self):
        container, self._container = getattr(self, "_container", None), None
        source, self._audio_source = getattr(self, "_audio_source", None), None
        for opened in (source, container):
            if opened is not None:
                try:
                    opened.close()
                except Exception:  # noqa: BLE001 - closing after a failure: the file is removed
                    pass

    def verify(self):
        """Raise InputError unless the finished temporary file plays back all written frames."""
        import av

        readable = 0
        try:
            with av.open(str(self.tmp)) as container:
                if container.streams.video:
                    for packet in container.demux(container.streams.video[0]):
                        readable += packet.size > 0
        except (av.FFmpegError, OSError):
            pass
        if readable < self.frames:
            raise InputError(self.path, f"the written video is incomplete ({readable} of "
                                        f"{self.frames} frames readable: disk full or a write "
                                        f"error); nothing was written")

    def close(self):
        """Finish, check, and move the file into place; on failure remove it and raise
        InputError."""
        try:
            self.release()
            self.verify()
            _place(self.tmp, self.path, self.overwrite)
        except OSError as error:
            raise InputError(self.path, f"cannot write the output ({error.strerror or error})") \
                from None
        finally:
            self.tmp.unlink(missing_ok=True)

    def abort(self):
        """Close and delete the temporary file: nothing is written."""
        self._close_containers()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def _audio_plan(source, ext, path):
    """[(input stream index, "copy" or encoder name)] for each audio stream of `source`; raise
    InputError (before any frame is processed) when one cannot be written."""
    import av

    if source is None:
        return []
    with av.open(str(source)) as container:
        codecs = [(s.index, s.codec_context.name) for s in container.streams.audio]
    plan = []
    for index, codec in codecs:
        copyable = AUDIO_COPY[ext]
        if copyable is None or codec in copyable:
            plan.append((index, "copy"))
            continue
        encoder = AUDIO_ENCODERS[ext]
        if not has_encoder(encoder):
            raise InputError(path, f"cannot write the {codec} audio of {source} into {ext}: this "
                                   f"PyAV build has no {encoder} encoder (pass --no-audio to drop "
                                   f"the sound)")
        plan.append((index, encoder))
    return plan


def _add_audio_streams(writer):
    """Open `writer.audio_from` and add an output stream for each planned audio stream (before
    the first packet is written, as muxers require); {input index: (stream, resampler)}."""
    import av

    source = writer._audio_source = av.open(str(writer.audio_from))
    outputs = {}
    for index, how in writer.audio_plan:
        stream = source.streams[index]
        if how == "copy":
            outputs[index] = (writer._container.add_stream_from_template(stream), None)
            continue
        rate = stream.codec_context.sample_rate or 48000
        if how == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        out = writer._container.add_stream(how, rate=rate)
        out.layout = "stereo" if stream.codec_context.layout.nb_channels > 1 else "mono"
        outputs[index] = (out, av.AudioResampler(
            format=out.codec_context.codec.audio_formats[0].name, layout=out.layout, rate=rate))
    return outputs


def _carry_audio(writer, until):
    """Copy or transcode the planned audio streams of `writer.audio_from` into its container,
    up to `until` seconds (None: all of it)."""
    import av

    source, outputs = writer._audio_source, writer._audio_outputs
    try:
        for packet in source.demux([source.streams[i] for i in outputs]):
            out, resampler = outputs[packet.stream.index]
            if packet.dts is None:
                continue
            start = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
            if until is not None and start >= until:
                continue
            if resampler is None:
                packet.stream = out
                writer._mux(packet)
                continue
            for frame in packet.decode():
                frame = _trim(frame, until)
                if frame is None:
                    continue
                frame.pts = None
                for part in resampler.resample(frame):
                    writer._mux(out.encode(part))
        for out, resampler in outputs.values():
            if resampler is not None:
                for part in resampler.resample(None):
                    writer._mux(out.encode(part))
                writer._mux(out.encode(None))
    except av.FFmpegError as error:
        raise InputError(writer.path, f"cannot write the audio of {writer.audio_from} ({error}); "
                                      f"nothing was written (pass --no-audio to drop it)") \
            from None


def _trim(frame, until):
    """`frame`, cut to end at `until` seconds (None if it starts after)."""
    import av

    if until is None or frame.pts is None:
        return frame
    start = float(frame.pts * frame.time_base)
    keep = int(round((until - start) * frame.sample_rate))
    if keep <= 0:
        return None
    if keep >= frame.samples:
        return frame
    data = frame.to_ndarray()
    channels = frame.layout.nb_channels
    data = data[:, :keep] if frame.format.is_planar else data[:, :keep * channels]
    cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=frame.format.name,
                                     layout=frame.layout.name)
    cut.sample_rate, cut.pts, cut.time_base = frame.sample_rate, frame.pts, frame.time_base
    return cut
