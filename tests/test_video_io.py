"""Video I/O on PyAV (issue 19): timestamps, alpha planes, audio carried or refused, and the
killed / concurrent run cases of issue 22, on tiny clips generated here."""

import signal
import struct
import subprocess
import sys
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from bgseg import planes, video_io
from bgseg.cli import main

VFR_TIMES = [0.0, 0.04, 0.08, 0.2, 0.24, 0.4, 0.44, 0.6, 0.64, 0.8, 0.84, 0.88]


@pytest.fixture(scope="module")
def model(tiny_tflite):
    return str(tiny_tflite(4, "float32"))


def make_clip(path, times=VFR_TIMES, size=(96, 64), audio=None, seconds=None):
    """An H.264 clip with frames at `times` and optionally a tone in codec `audio`."""
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        video.time_base = video.codec_context.time_base = tb
        sound = None
        if audio:
            sound = container.add_stream(audio, rate=48000)
            sound.layout = "stereo"
        rng = np.random.default_rng(0)
        for t in times:
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 256, (size[1], size[0], 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), tb
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            total = int(48000 * (seconds or times[-1] + 0.04))
            fmt = sound.codec_context.codec.audio_formats[0].name
            for start in range(0, total, 960):
                samples = np.sin(np.arange(start, start + 960) / 20.0).astype(np.float32) * 0.3
                frame = av.AudioFrame.from_ndarray(np.stack([samples, samples]), format="fltp",
                                                   layout="stereo")
                frame.sample_rate, frame.pts = 48000, start
                for part in av.AudioResampler(format=fmt, layout="stereo",
                                              rate=48000).resample(frame):
                    container.mux(sound.encode(part))
            container.mux(sound.encode(None))
    return path


def probe(path):
    """(video frame times, [(audio codec, seconds of decoded audio)])."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [round(float(f.pts * stream.time_base), 3) for f in container.decode(stream)]
    audio = []
    with av.open(str(path)) as container:
        for stream in container.streams.audio:
            samples = sum(f.samples for f in container.decode(stream))
            audio.append((stream.codec_context.name, samples / stream.codec_context.sample_rate))
    return times, audio


def test_h264_output_keeps_vfr_timestamps_and_colour(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--blur", "3"]) == 0
    times, audio = probe(out)
    assert times == VFR_TIMES and audio == []
    with av.open(str(out)) as container:
        context = container.streams.video[0].codec_context
        assert (context.name, context.pix_fmt) == ("h264", "yuv420p")
        frame = next(container.decode(video=0))
        # composited in the untagged input's YUV (FFmpeg reads it as BT.601) and tagged so
        assert frame.colorspace == 6 and frame.color_range == 1  # BT.601, limited range
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--mask-only",
                 "--overwrite"]) == 0
    with av.open(str(out)) as container:  # written from RGB: BT.709
        frame = next(container.decode(video=0))
        assert frame.colorspace == 1 and frame.color_range == 1  # BT.709, limited range


def rotate_clip(path, matrix=(0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)):
    """Give an MP4's video track a display matrix, as phones do for portrait video (the default is
    the one they write: shown turned 90 degrees clockwise). PyAV has no API to write one, so the
    `tkhd` box's matrix is rewritten in place."""
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd") - 4  # a version-0 tkhd: the matrix is at byte 48 of the box
    assert box > 0 and data[box + 8] == 0
    data[box + 48:box + 84] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("planar", [False, True])
def test_rotation_metadata_is_applied(tmp_path, planar):
    clip = make_clip(tmp_path / "in.mp4", times=VFR_TIMES[:3], size=(96, 64))
    with av.open(str(clip)) as container:
        fmt = "yuv420p" if planar else "rgb24"
        coded = [f.to_ndarray(format=fmt) for f in container.decode(video=0)]
    rotate_clip(clip)
    reader = video_io.VideoReader(clip, planar=planar)
    frames = [image for _, image in reader.timed()]
    reader.close()
    assert len(frames) == 3
    for image, raw in zip(frames, coded):
        if planar:  # an I420 buffer of the upright 64x96 picture: compare the luma
            assert reader.matrix is not None and image.shape == (96 * 3 // 2, 64)
            image, raw = planes.split(image)[0], planes.split(raw)[0]
            np.testing.assert_array_equal(image, np.rot90(raw, -1))
        assert image.shape[:2] == (96, 64)
        # noise frames: chroma subsampling moves single pixels, not the turned picture
        assert np.abs(image.astype(int) - np.rot90(raw, -1)).mean() < 4
        assert np.abs(image.astype(int) - np.rot90(raw, 1)).mean() > 40


def test_a_portrait_phone_clip_comes_out_portrait(tmp_path, model):
    clip = rotate_clip(make_clip(tmp_path / "in.mp4", times=VFR_TIMES[:4], size=(96, 64)))
    out = tmp_path / "out.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--blur", "3"]) == 0
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        # turned upright once: the output is coded portrait and carries no rotation of its own
        assert (frame.width, frame.height) == (64, 96) and not frame.rotation


@pytest.mark.parametrize("suffix", [".webm", ".mov"])
def test_alpha_plane_matches_the_mask(tmp_path, model, suffix):
    clip = make_clip(tmp_path / "in.mp4", times=VFR_TIMES[:6])
    out, mask = tmp_path / f"out{suffix}", tmp_path / "mask.mkv"
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--alpha"]) == 0
    assert main(["video", str(clip), "-o", str(mask), "--model", model, "--mask-only",
                 "--crf", "0"]) == 0
    with av.open(str(mask)) as container:
        masks = [f.to_ndarray(format="gray").astype(int) for f in container.decode(video=0)]
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        if suffix == ".webm":  # FFmpeg's native vp9 decoder drops the alpha plane
            decoder = av.CodecContext.create("libvpx-vp9", "r")
            decoded = [f for p in container.demux(stream) if p.size for f in decoder.decode(p)]
            decoded += decoder.decode(None)
        else:
            decoded = list(container.decode(stream))
        alphas = [f.to_ndarray(format="rgba")[:, :, 3].astype(int) for f in decoded]
    assert len(alphas) == len(masks) == 6
    for alpha, expected in zip(alphas, masks):
        assert alpha.std() > 1 and np.abs(alpha - expected).mean() < 8


def test_alpha_in_mp4_is_refused(tmp_path, model, capsys):
    clip = make_clip(tmp_path / "in.mp4", times=VFR_TIMES[:3])
    assert main(["video", str(clip), "-o", str(tmp_path / "o.mp4"), "--model", model,
                 "--alpha"]) == 2
    err = capsys.readouterr().err
    assert "cannot carry transparency" in err and ".webm" in err and ".mov" in err
    assert list(tmp_path.glob("o*")) == [] and list(tmp_path.glob(".*")) == []


@pytest.mark.parametrize("audio, source, target, codec", [
    ("aac", ".mp4", ".mp4", "aac"),          # copied
    ("pcm_s16le", ".mov", ".mp4", "aac"),    # PCM cannot go into MP4: AAC
    ("pcm_s16le", ".mkv", ".mov", "pcm_s16le"),  # MOV takes PCM as it is
    ("libopus", ".webm", ".mp4", "opus"),    # copied (MP4 takes Opus)
    ("aac", ".mp4", ".webm", "opus"),        # WebM takes only Opus/Vorbis: Opus
])
def test_audio_is_carried(tmp_path, model, audio, source, target, codec):
    if source == ".webm":
        times = VFR_TIMES  # webm needs VP9: write the clip as MKV-in-webm via libvpx
        clip = _webm_clip(tmp_path / "in.webm", times)
    else:
        clip = make_clip(tmp_path / f"in{source}", audio=audio, seconds=1.0)
    out = tmp_path / f"out{target}"
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--mask-only"]) == 0
    times, tracks = probe(out)
    assert len(times) == len(VFR_TIMES)
    assert len(tracks) == 1 and tracks[0][0] == codec and abs(tracks[0][1] - 1.0) < 0.1


def _webm_clip(path, times):
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libvpx-vp9", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        video.time_base = video.codec_context.time_base = tb
        sound = container.add_stream("libopus", rate=48000)
        sound.layout = "stereo"
        for t in times:
            frame = av.VideoFrame.from_ndarray(np.full((64, 96, 3), 90, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), tb
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for start in range(0, 48000, 960):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1920), np.int16), format="s16",
                                               layout="stereo")
            frame.sample_rate, frame.pts = 48000, start
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
    return path


def test_max_frames_trims_audio_and_no_audio_drops_it(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", audio="aac", seconds=1.0)
    out = tmp_path / "short.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--max-frames", "4"]) == 0
    times, tracks = probe(out)
    assert times == VFR_TIMES[:4] and abs(tracks[0][1] - 0.24) < 0.05
    silent = tmp_path / "silent.mp4"
    assert main(["video", str(clip), "-o", str(silent), "--model", model, "--no-audio"]) == 0
    assert probe(silent)[1] == []


def test_audio_that_cannot_be_written_leaves_nothing(tmp_path, model, capsys, monkeypatch):
    clip = make_clip(tmp_path / "in.mov", audio="pcm_s16le", seconds=1.0)
    real = video_io.has_encoder
    monkeypatch.setattr(video_io, "has_encoder", lambda name: name != "aac" and real(name))
    out = tmp_path / "out" / "o.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("no aac encoder" in line and "--no-audio" in line for line in err)
    assert not out.exists() and list((tmp_path / "out").glob(".*")) == []
    assert main(["video", str(clip), "-o", str(out), "--model", model, "--no-audio"]) == 0


def _start(clip, out, model):
    return subprocess.Popen([sys.executable, "-m", "bgseg", "video", str(clip), "-o", str(out),
                             "--model", model, "--mask-only"], stderr=subprocess.PIPE, text=True)


def _hidden(folder):
    return [p for p in folder.glob(".*") if p.is_file()]


def test_a_sigkilled_runs_temp_file_is_cleaned_by_the_next_run(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", times=[i / 25 for i in range(250)], size=(160, 120))
    folder = tmp_path / "out"
    process = _start(clip, folder / "x.mp4", model)
    deadline = time.time() + 120
    while not (folder.exists() and _hidden(folder)):
        assert time.time() < deadline and process.poll() is None, "no temp file appeared"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert _hidden(folder) and not (folder / "x.mp4").exists()  # what SIGKILL leaves
    short = make_clip(tmp_path / "short.mp4", times=VFR_TIMES[:3])
    assert main(["video", str(short), "-o", str(folder / "x.mp4"), "--model", model]) == 0
    assert _hidden(folder) == []


def test_two_runs_to_one_output_cannot_both_succeed(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", times=[i / 25 for i in range(60)])
    out = tmp_path / "same.mp4"
    runs = [_start(clip, out, model) for _ in range(2)]
    codes = sorted(run.wait(timeout=300) for run in runs)
    assert codes == [0, 1] and out.is_file() and _hidden(tmp_path) == []
    errors = " ".join(run.stderr.read() for run in runs)
    assert "output exists" in errors or "appeared while it was being written" in errors


def test_webcam_from_a_file_carries_its_audio(tmp_path, model):
    clip = make_clip(tmp_path / "in.mp4", audio="aac", seconds=1.0)
    out = tmp_path / "cam.mp4"
    assert main(["webcam", "--camera", str(clip), "-o", str(out), "--max-frames", "4",
                 "--no-preview", "--model", model, "--mask-only"]) == 0
    times, tracks = probe(out)
    assert times == VFR_TIMES[:4] and tracks[0][0] == "aac" and abs(tracks[0][1] - 0.24) < 0.05


def test_a_missing_video_encoder_is_named(tmp_path, model, capsys, monkeypatch):
    clip = make_clip(tmp_path / "in.mp4", times=VFR_TIMES[:3])
    monkeypatch.setattr(video_io, "has_encoder", lambda name: name != "libx264")
    out = tmp_path / "o.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", model]) == 1
    assert "this PyAV build has no libx264 encoder" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob(".*")) == []
