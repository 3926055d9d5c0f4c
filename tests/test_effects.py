"""bgseg.effects: every background treatment, at full resolution, soft edges, no halo."""

import cv2
import numpy as np
import pytest

from bgseg import effects
from bgseg.effects import Effect


@pytest.fixture
def scene():
    """A red 'person' square on random-noise background, with a soft-edged mask."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (60, 90, 3), np.uint8)
    frame[15:45, 30:60] = (255, 0, 0)
    mask = np.zeros((60, 90), np.float32)
    mask[15:45, 30:60] = 1.0
    mask[15:45, 29] = mask[15:45, 60] = 0.5                  # soft edge
    return frame, mask


def test_parse_color():
    assert effects.parse_color("green") == (0, 255, 0)
    assert effects.parse_color("#FF8000") == (255, 128, 0)
    assert effects.parse_color("#0f0") == (0, 255, 0)
    assert effects.parse_color("10, 20,30") == (10, 20, 30)
    for bad in ("nocolour", "#12345", "#gggggg", "1,2", "300,0,0"):
        with pytest.raises(ValueError, match="not a colour"):
            effects.parse_color(bad)


def test_solid_colour_composite_keeps_soft_edges(scene):
    frame, mask = scene
    out = Effect(background="#0000ff")(frame, mask)
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[20, 40], (255, 0, 0))       # person kept
    np.testing.assert_array_equal(out[2, 2], (0, 0, 255))         # background replaced
    half = (frame[20, 29].astype(float) + (0, 0, 255)) / 2         # half-way at the soft edge
    np.testing.assert_allclose(out[20, 29], half, atol=1)


def test_image_background_covers_the_frame(scene):
    frame, mask = scene
    background = np.zeros((10, 40, 3), np.uint8)                  # another aspect ratio
    background[:, :20] = 200
    out = Effect(background=background)(frame, mask)
    assert out.shape == frame.shape
    assert (out[0, 0] == 200).all() and (out[0, -1] == 0).all()


def test_image_background_from_file(scene, tmp_path):
    frame, mask = scene
    path = tmp_path / "bg.png"
    cv2.imwrite(str(path), np.full((30, 30, 3), (0, 255, 0), np.uint8))    # BGR green
    out = Effect(background=str(path))(frame, mask)
    np.testing.assert_array_equal(out[2, 2], (0, 255, 0))
    with pytest.raises(Exception, match="not found"):
        Effect(background=str(tmp_path / "missing.jpg"))


def test_video_background_loops(scene, tmp_path):
    frame, mask = scene
    path = tmp_path / "bg.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    levels = (30, 130, 230)
    for level in levels:
        writer.write(np.full((32, 32, 3), level, np.uint8))
    writer.release()
    with Effect(background=str(path)) as effect:
        seen = [int(effect(frame, mask)[2, 2, 0]) for _ in range(5)]
    expected = [30, 130, 230, 30, 130]
    assert all(abs(a - b) <= 6 for a, b in zip(seen, expected)), seen   # JPEG-coded frames


def test_blur_blurs_only_the_background_without_halo(scene):
    frame, mask = scene
    out = Effect(blur=6)(frame, mask)
    assert out.shape == frame.shape
    np.testing.assert_array_equal(out[20:40, 35:55], frame[20:40, 35:55])      # person untouched
    assert out[:10].astype(float).std() < 0.5 * frame[:10].astype(float).std()  # noise blurred
    # no red halo: background right next to the person keeps the background's colour balance
    ring = out[15:45, 20:28].astype(float)
    assert abs(ring[..., 0].mean() - ring[..., 1].mean()) < 20


def test_alpha_and_mask(scene):
    frame, mask = scene
    rgba = Effect(alpha=True)(frame, mask)
    assert rgba.shape == (60, 90, 4)
    np.testing.assert_array_equal(rgba[..., :3], frame)
    assert rgba[20, 40, 3] == 255 and rgba[2, 2, 3] == 0 and rgba[20, 29, 3] == 128
    gray = Effect(mask_only=True)(frame, mask)
    assert gray.shape == (60, 90) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray, rgba[..., 3])


def test_effect_arguments_are_checked(scene):
    frame, mask = scene
    with pytest.raises(ValueError, match="exactly one"):
        Effect()
    with pytest.raises(ValueError, match="exactly one"):
        Effect(background="red", alpha=True)
    with pytest.raises(ValueError, match="blur"):
        Effect(blur=-3)
    with pytest.raises(ValueError, match="sizes differ"):
        Effect(alpha=True)(frame, mask[:10])
