"""The YUV 4:2:0 path of `bgseg video` (bgseg.planes, Effect.on_planes): colours, the composite
against the RGB one, and the driver's switch, on small generated frames and clips."""

from fractions import Fraction

import av
import numpy as np
import pytest

from bgseg import planes
from bgseg.effects import Effect
from bgseg.runtime import VideoSegmenter
from bgseg.runtime.stream import segment_video

SWSCALE = {"bt709": "ITU709", "bt601": "ITU601"}
TIMES = [0.0, 0.04, 0.08, 0.2, 0.24, 0.4]


def picture(width=96, height=64, shift=0):
    """A smooth RGB test picture (gradients and a bright square) that moves with `shift`."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x * 255 / width, y * 255 / height, 128 + 100 * np.sin((x + shift) / 9)], -1)
    rgb[20:40, 30 + shift:50 + shift] = (250, 240, 20)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def to_i420(rgb, matrix):
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_colorspace=SWSCALE[matrix], dst_color_range="MPEG").to_ndarray()


def to_rgb(i420, matrix):
    return av.VideoFrame.from_numpy_buffer(i420, format="yuv420p").reformat(
        format="rgb24", src_colorspace=SWSCALE[matrix], src_color_range="MPEG").to_ndarray()


def disk(width=96, height=64):
    """A soft disk mask (uint8) in the middle of the frame."""
    y, x = np.mgrid[0:height, 0:width]
    distance = np.hypot(x - width / 2, y - height / 2)
    return np.clip((20 - distance) * 64 + 128, 0, 255).astype(np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def test_split_and_join_are_inverse_and_shapes_are_checked():
    frame = to_i420(picture(), "bt709")
    y, u, v = planes.split(frame)
    assert y.shape == (64, 96) and u.shape == v.shape == (32, 48)
    assert np.array_equal(planes.join(y, u, v), frame)
    with pytest.raises(ValueError, match="I420"):
        planes.split(np.zeros((64, 96), np.uint8))


@pytest.mark.parametrize("matrix", ["bt709", "bt601"])
def test_to_rgb_matches_ffmpeg_and_colours_decode_right(matrix):
    rgb = picture()
    frame = to_i420(rgb, matrix)
    ours = planes.to_rgb(frame, 96, 64, matrix)
    # bilinear chroma upsampling here, FFmpeg's own filter there: near, not equal
    assert np.abs(ours.astype(int) - to_rgb(frame, matrix)).mean() < 3.5
    assert planes.to_rgb(frame, 48, 32, matrix).shape == (32, 48, 3)
    for color in [(0, 255, 0), (255, 255, 255), (0, 0, 0), (200, 30, 90)]:
        yuv = np.empty((64, 96, 3), np.uint8)
        yuv[:] = planes.color_to_yuv(color, matrix)
        decoded = to_rgb(planes.join(*planes.from_yuv(yuv)), matrix)
        assert np.abs(decoded.astype(int) - color).max() <= 2, color
    with pytest.raises(ValueError, match="matrix"):
        planes.color_to_yuv((0, 0, 0), "bt2020")


def test_rgb_to_yuv_agrees_with_ffmpeg():
    rgb = picture()
    ours = planes.join(*planes.from_yuv(planes.rgb_to_yuv(rgb, "bt709")))
    assert psnr(to_rgb(ours, "bt709"), to_rgb(to_i420(rgb, "bt709"), "bt709")) > 40


@pytest.mark.parametrize("effect", [Effect(blur=6), Effect(background=(0, 255, 0)),
                                    Effect(background=picture()[::-1].copy())])
def test_yuv_composite_matches_the_rgb_composite(effect):
    rgb, mask = picture(), disk()
    frame = to_i420(rgb, "bt709")
    reference = effect(to_rgb(frame, "bt709"), mask)  # the RGB path sees the decoded frame
    ours = to_rgb(effect.on_planes(frame, mask, "bt709"), "bt709")
    # what the RGB path itself loses on the way to a yuv420p encoder
    own = to_rgb(to_i420(reference, "bt709"), "bt709")
    assert psnr(ours, reference) >= psnr(own, reference) - 3.0
    assert psnr(ours, reference) > 30


def test_effects_without_a_yuv_composite_say_so():
    assert not Effect(alpha=True).takes_planes and not Effect(mask_only=True).takes_planes
    with pytest.raises(ValueError, match="RGB frames"):
        Effect(alpha=True).on_planes(to_i420(picture(), "bt709"), disk(), "bt709")
    assert Effect(blur=3).takes_planes and Effect(background="red").takes_planes


def make_clip(path, colorspace=None):
    """A lossless-ish H.264 clip of the moving test picture at `TIMES`, tagged with
    `colorspace` (an FFmpeg value: 1 BT.709; None: untagged)."""
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.time_base = stream.codec_context.time_base = tb
        stream.options = {"crf": "0"}
        if colorspace is not None:
            stream.codec_context.colorspace = colorspace
            stream.codec_context.color_range = 1
        for index, t in enumerate(TIMES):
            matrix = "bt709" if colorspace == 1 else "bt601"
            frame = av.VideoFrame.from_numpy_buffer(to_i420(picture(shift=index), matrix),
                                                    format="yuv420p")
            frame.pts, frame.time_base = round(t * 1000), tb
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


class DiskSegmenter(VideoSegmenter):
    """The tiny model's segmenter with a fixed mask (the disk; 0 with `empty`) at the output
    size, so that only the composite differs between the paths."""

    empty = False

    def segment(self, frame, dtype=np.float32, gray=None):
        height, width = (frame if gray is None else gray).shape[:2]
        mask = np.zeros((height, width), np.uint8) if self.empty else disk(width, height)
        return mask if dtype == np.uint8 else mask / np.float32(255.0)


def decoded(path):
    """(times, RGB frames, the stream's colorspace) of a written clip."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return ([round(float(f.pts * stream.time_base), 3) for f in frames],
                [f.to_ndarray(format="rgb24") for f in frames], stream.codec_context.colorspace)


@pytest.mark.parametrize("colorspace,matrix", [(1, 1), (None, 6)])
def test_video_green_background_stays_green_with_the_input_matrix(tmp_path, tiny_tflite,
                                                                  colorspace, matrix):
    clip = make_clip(tmp_path / "in.mp4", colorspace)
    segmenter = DiskSegmenter(str(tiny_tflite(4, "float32")))
    segmenter.empty = True
    with Effect(background="#00ff00") as effect:
        run = segment_video(clip, tmp_path / "out.mp4", segmenter, effect, crf=0)
    times, frames, tagged = decoded(tmp_path / "out.mp4")
    assert run.frames == len(TIMES) and times == TIMES
    assert tagged == matrix  # the input's matrix (untagged inputs decode as BT.601)
    assert all(np.abs(f.astype(int) - (0, 255, 0)).max() <= 3 for f in frames)


def test_video_blur_yuv_path_matches_the_rgb_path(tmp_path, tiny_tflite, monkeypatch):
    from bgseg import effects

    clip = make_clip(tmp_path / "in.mp4", 1)
    calls = []
    original = effects.blur_planes
    monkeypatch.setattr(effects, "blur_planes", lambda *a: calls.append(1) or original(*a))
    segmenter = DiskSegmenter(str(tiny_tflite(4, "float32")))
    effect = Effect(blur=6)
    segment_video(clip, tmp_path / "yuv.mp4", segmenter, effect, crf=0)
    assert len(calls) == len(TIMES)  # the YUV path was taken

    def rgb_only(frame, mask):  # not an Effect: the driver keeps RGB frames
        return effect(frame, mask)

    rgb_only.mask_dtype = np.uint8
    segment_video(clip, tmp_path / "rgb.mp4", segmenter, rgb_only, crf=0)
    assert len(calls) == len(TIMES)
    yuv_times, yuv_frames, _ = decoded(tmp_path / "yuv.mp4")
    rgb_times, rgb_frames, _ = decoded(tmp_path / "rgb.mp4")
    assert yuv_times == rgb_times == TIMES
    assert min(psnr(a, b) for a, b in zip(yuv_frames, rgb_frames)) > 35


def test_rotated_planes_are_the_rotated_picture():
    rgb = picture()
    turned = planes.rotate(to_i420(rgb, "bt709"), 1)
    assert turned.shape == (96 * 3 // 2, 64)
    expected = np.ascontiguousarray(np.rot90(rgb, 1))
    assert psnr(to_rgb(turned, "bt709"), to_rgb(to_i420(expected, "bt709"), "bt709")) > 35
