"""Augmentation (previous-mask synthesis, geometry, compositing) and the tf.data pipeline."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from bgseg.data import augment as aug
from bgseg.data.augment import AugmentConfig
from bgseg.data.pipeline import Sampler, train_dataset
from bgseg.data.sources import Sample


def _blob_mask(hw=(128, 128)):
    mask = np.zeros(hw, np.float32)
    mask[32:96, 40:80] = 1.0
    return mask


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max((a | b).sum(), 1)


def test_prev_mask_empty():
    mask = _blob_mask()
    image = np.random.default_rng(0).random((128, 128, 3), np.float32)
    out_image, out_mask, prev = aug.synth_prev_mask(np.random.default_rng(0), "empty", image, mask)
    assert not prev.any() and out_mask is mask and out_image is image


def test_prev_mask_small_follows_large_discards():
    mask = _blob_mask()
    image = np.zeros((128, 128, 3), np.float32)
    small = [_iou(aug.synth_prev_mask(np.random.default_rng(s), "small", image, mask)[2], mask)
             for s in range(20)]
    large = [_iou(aug.synth_prev_mask(np.random.default_rng(s), "large", image, mask)[2], mask)
             for s in range(20)]
    assert min(small) > 0.5 and np.mean(small) > 0.7
    assert np.mean(large) < np.mean(small) - 0.2


def test_prev_mask_tps_warps_image_and_mask_together():
    mask = _blob_mask()
    image = np.repeat(mask[..., None], 3, axis=-1)  # the image is the mask: alignment is visible
    moved = []
    for s in range(5):
        out_image, out_mask, prev = aug.synth_prev_mask(
            np.random.default_rng(s), "tps", image, mask
        )
        np.testing.assert_allclose(out_image[..., 0], out_mask, atol=1e-5)
        assert _iou(prev, mask) > 0.8          # the prior is the (softened) unwarped mask
        moved.append(_iou(out_mask, mask))
    assert min(moved) < 0.97                   # the frame itself moved


def test_prev_mask_distractor_adds_false_regions_but_keeps_the_person():
    mask = _blob_mask()
    image = np.zeros((128, 128, 3), np.float32)
    for s in range(10):
        _, out_mask, prev = aug.synth_prev_mask(np.random.default_rng(s), "distractor", image, mask)
        assert out_mask is mask
        person = mask > 0.5
        assert (prev[person] > 0.5).mean() > 0.6             # the person is (mostly) still there
        assert (prev[~person] > 0.5).sum() > 0.005 * (~person).sum()  # plus wrong regions


def test_unknown_mode_and_bad_config():
    with pytest.raises(ValueError, match="unknown previous-mask mode"):
        aug.synth_prev_mask(np.random.default_rng(0), "spin", np.zeros((8, 8, 3)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="prev_mask"):
        AugmentConfig(prev_mask={"spin": 1.0})
    with pytest.raises(ValueError, match="backgrounds"):
        AugmentConfig(background_prob=0.5)


def test_composite_uses_background_outside_the_person():
    mask = _blob_mask()
    out = aug.composite(
        np.ones((128, 128, 3), np.float32), mask, np.zeros((128, 128, 3), np.float32)
    )
    assert out[60, 60].min() == 1.0 and out[2, 2].max() == 0.0


class _Source:
    def __init__(self, samples, name="toy"):
        self.samples = samples
        self.spec = SimpleNamespace(name=name)

    def __len__(self):
        return len(self.samples)


class _Backgrounds:
    def __len__(self):
        return 2

    def get(self, index):
        return np.full((40, 40, 3), 60 * index, np.uint8)


def _self_image_sample(key, h=90, w=70, prev=False):
    """A sample whose image equals its mask, so any misalignment shows in the output."""
    mask = np.zeros((h, w), np.uint8)
    mask[20:70, 15:50] = 255
    prev_mask = np.roll(mask, 5, axis=1) if prev else None
    return Sample(key, np.repeat(mask[..., None], 3, axis=-1), mask, prev_mask, (32.0, 45.0))


def _sampler(channels=4, **config):
    sources = [_Source([_self_image_sample("a"), _self_image_sample("b", 60, 120)]),
               _Source([_self_image_sample("clip", prev=True)])]
    cfg = AugmentConfig(photometric=False, **config)
    return Sampler(sources, [1, 1], (32, 32), channels, cfg, _Backgrounds(), seed=3)


def test_sampler_geometry_keeps_image_mask_aligned():
    sampler = _sampler(prev_mask={"empty": 1.0}, video_prev_prob=0.0)
    for i in range(30):
        x, y = sampler.train_sample(i)
        assert x.shape == (32, 32, 4) and y.shape == (32, 32, 1)
        assert not x[..., 3].any()
        np.testing.assert_allclose(x[..., 0], y[..., 0], atol=1 / 255 + 1e-6)


def test_sampler_video_prev_mask_follows_geometry():
    sampler = _sampler(video_prev_prob=1.0, video_perturb=0.0)
    clip = sampler.sources[1]
    for i in range(10):
        x, y = sampler._make(np.random.default_rng(i), clip.samples[0], train=True)
        assert 0.3 < _iou(x[..., 3], y[..., 0]) < 1.0  # the prev mask is the shifted one, warped


def test_sampler_is_deterministic_and_channels():
    sampler = _sampler(background_prob=0.5, backgrounds=("unused",))
    for i in (0, 7):
        a, b = sampler.train_sample(i), sampler.train_sample(i)
        np.testing.assert_array_equal(a[0], b[0])
        assert 0 <= a[0].min() and a[0].max() <= 1
    x, _ = _sampler(channels=3).train_sample(0)
    assert x.shape == (32, 32, 3)


def test_validation_arrays_are_fixed():
    sampler = _sampler()
    x1, y1 = sampler.validation_arrays(3)
    x2, _ = sampler.validation_arrays(3)
    assert x1.shape == (3, 32, 32, 4) and y1.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(x1, x2)


def test_train_dataset_batches_and_resume_offset():
    sampler = _sampler()
    ds = train_dataset(sampler, batch_size=4, start=8)
    x, y = next(iter(ds))
    assert x.shape == (4, 32, 32, 4) and y.shape == (4, 32, 32, 1)
    np.testing.assert_allclose(x[0].numpy(), sampler.train_sample(8)[0])
    np.testing.assert_allclose(x[3].numpy(), sampler.train_sample(11)[0])


def test_stretch_crops_keep_the_source_aspect_like_inference():
    crop_matrix = aug.crop_matrix
    corners = np.array([[0, 0, 1.0], [854, 480, 1.0]]).T
    full = AugmentConfig(val_full_frame=True)
    m = crop_matrix(np.random.default_rng(0), (480, 854), (256, 256), full, train=False)
    np.testing.assert_allclose((m @ corners).T, [[0, 0], [256, 256]], atol=1e-3)
    square = crop_matrix(np.random.default_rng(0), (480, 854), (256, 256), AugmentConfig(),
                         train=False)
    assert abs(square[0, 0] - square[1, 1]) < 1e-6  # centre crop: proportions kept
    cfg = AugmentConfig(stretch=1.0, scale=(0.8, 0.8), rotate=0, flip=0)
    m = crop_matrix(np.random.default_rng(0), (480, 854), (256, 256), cfg, train=True)
    # 0.8 of the frame along each axis fills the output: x squeezed 854/480 times more than y
    assert m[0, 0] == pytest.approx(256 / (854 * 0.8), rel=1e-5)
    assert m[1, 1] == pytest.approx(256 / (480 * 0.8), rel=1e-5)
    with pytest.raises(ValueError, match="stretch"):
        AugmentConfig(stretch=1.5)


def test_zoom_crops_frame_the_person_as_the_runtime_zoom_does():
    """A small person in a wide frame: the zoom crop puts the person in the middle of the output
    with a margin, as `bgseg.runtime.zoom` crops at inference."""
    mask = np.zeros((480, 854), np.uint8)
    mask[300:380, 600:640] = 255                      # 40 x 80 px: 0.8 % of the frame
    cfg = AugmentConfig(zoom_crop=1.0, rotate=0, flip=0)
    for seed in range(5):
        m = aug.crop_matrix(np.random.default_rng(seed), (480, 854), (256, 256), cfg,
                            person_center=(620, 340), train=True, mask=mask)
        out = aug.warp(mask, m, (256, 256)) > 127
        rows, cols = np.nonzero(out.any(axis=1))[0], np.nonzero(out.any(axis=0))[0]
        height = rows[-1] - rows[0] + 1
        # margin 0.05-0.3 of the longer side each way, side jittered 8 %: 150-240 px tall
        assert 140 < height < 250, height
        assert rows[0] > 0 and rows[-1] < 255                       # the person is not cut
        assert abs((cols[0] + cols[-1]) / 2 - 128) < 40 and abs((rows[0] + rows[-1]) / 2 - 128) < 40
        assert abs(m[0, 0] - m[1, 1]) < 1e-6          # square: proportions kept
    # without a person the crop falls back to the ordinary random crop
    m = aug.crop_matrix(np.random.default_rng(0), (480, 854), (256, 256), cfg, train=True,
                        mask=np.zeros((480, 854), np.uint8))
    assert aug.warp(np.full((480, 854), 255, np.uint8), m, (256, 256)).min() == 255
    with pytest.raises(ValueError, match="zoom_crop"):
        AugmentConfig(zoom_crop=-0.1)


def test_cast_shadow_darkens_the_ground_beside_the_person_only():
    from bgseg.data import augment as aug

    image = np.full((96, 96, 3), 0.8, np.float32)
    mask = np.zeros((96, 96), np.float32)
    cv2.ellipse(mask, (48, 40), (10, 30), 0, 0, 360, 1.0, -1)
    image[mask > 0] = (0.3, 0.5, 0.7)
    for seed in range(5):
        out = aug.cast_shadow(np.random.default_rng(seed), image, mask)
        assert np.array_equal(out[mask > 0], image[mask > 0])       # the person is untouched
        darker = (image - out).max(axis=-1) > 0.05
        assert darker.any() and not (darker & (mask > 0)).any()
        rows = np.nonzero(darker.any(axis=1))[0]
        assert (
            rows.max() >= 68 or rows.min() <= 12
        )  # cast from the feet: along the ground (or wall)
    assert np.array_equal(
        aug.cast_shadow(np.random.default_rng(0), image, np.zeros_like(mask)), image
    )


def test_paste_person_adds_a_second_person_in_front_and_unions_the_target():
    rng = np.random.default_rng(0)
    image = np.zeros((64, 64, 3), np.float32)
    mask = np.zeros((64, 64), np.float32)
    mask[40:60, 5:15] = 1.0
    person = np.full((30, 20, 3), 200, np.uint8)
    person_mask = np.zeros((30, 20), np.uint8)
    person_mask[5:25, 5:15] = 255
    out, target = aug.paste_person(rng, image, mask, person, person_mask, 0.5)
    pasted = target > 0.5
    assert target[45, 10] == 1.0  # the first person stays in the target
    ys, xs = np.nonzero(pasted & (mask == 0))
    assert 0.3 * 64 < ys.max() - ys.min() + 1 <= 0.5 * 64 + 2  # clipped at most, never taller
    solid = cv2.erode(((target > 0.99) & (mask == 0)).astype(np.uint8), np.ones((3, 3)))
    inside = solid.astype(bool)
    assert inside.sum() > 20
    np.testing.assert_allclose(out[inside], 200 / 255, atol=1e-5)  # pasted pixels are the person's
    assert out[~pasted].max() < 200 / 255 * 0.6  # and nothing else of its photo (no border copy)
    assert aug.paste_person(rng, image, mask, person, np.zeros_like(person_mask), 0.5)[0] is image


def test_sampler_pastes_people_and_draws_hard_negatives():
    pasting = _sampler(channels=3, paste_people=1.0, paste_count=(2, 2), paste_height=(0.3, 0.6),
                       rotate=0.0)
    plain = _sampler(channels=3, rotate=0.0)
    more = [pasting.train_sample(i)[1].mean() > plain.train_sample(i)[1].mean()
            for i in range(10)]
    assert sum(more) >= 6  # pasted people add target pixels (some land outside or behind)
    negatives = _sampler(channels=3, negative_prob=1.0, backgrounds=("bg",))
    for i in range(5):
        x, y = negatives.train_sample(i)
        assert not y.any() and x.max() <= 60 / 255 + 1e-6  # a background photo, nothing to find


def test_paste_config_is_checked():
    with pytest.raises(ValueError, match="paste_count"):
        AugmentConfig(paste_count=(2, 1))
    with pytest.raises(ValueError, match="paste_height"):
        AugmentConfig(paste_height=(0.0, 0.5))
    with pytest.raises(ValueError, match="negative_prob"):
        AugmentConfig(negative_prob=0.5)
    with pytest.raises(ValueError, match="paste_sources"):
        _sampler(paste_people=0.5, paste_sources=("nope",))
