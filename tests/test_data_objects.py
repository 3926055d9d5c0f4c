"""Cut-out COCO objects as hard negatives: reading them, pasting them, the recipe knobs."""

import json

import cv2
import numpy as np
import pytest

from bgseg.data import augment as aug
from bgseg.data.augment import AugmentConfig
from bgseg.data.objects import CocoObjects
from bgseg.data.split import split_of

H = W = 100


def _ids(split, count):
    """The first `count` COCO image ids that `split_of` puts in `split`."""
    return [i for i in range(1, 500) if split_of(str(i)) == split][:count]


def _box(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def _ann(ann_id, image_id, category, box, crowd=0):
    return {"id": ann_id, "image_id": image_id, "category_id": category,
            "segmentation": _box(*box), "area": box[2] * box[3], "iscrowd": crowd,
            "bbox": list(box)}


def _write_coco(root):
    """Train images: a cat half behind a person, a tiny cup, a crowd of cats, an image whose
    file is missing; a held-out image with a dog."""
    train, held = _ids("train", 4), _ids("val", 1)
    (root / "annotations").mkdir(parents=True)
    (root / "train2017").mkdir()
    images, anns = [], []
    for image_id in train + held:
        images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "height": H,
                       "width": W})
        if image_id != train[3]:
            picture = np.zeros((H, W, 3), np.uint8)
            picture[:, :, 2] = image_id % 256  # blue in BGR: tells the photos apart
            cv2.imwrite(str(root / "train2017" / f"{image_id:012d}.jpg"), picture)
    anns += [_ann(1, train[0], 17, (10, 10, 60, 40)), _ann(2, train[0], 1, (40, 0, 50, 100)),
             _ann(3, train[1], 47, (5, 5, 5, 5)), _ann(4, train[2], 17, (0, 0, 80, 80), crowd=1),
             _ann(5, train[3], 17, (10, 10, 50, 50)), _ann(6, held[0], 18, (10, 10, 50, 50))]
    categories = [{"id": 1, "name": "person"}, {"id": 17, "name": "cat"},
                  {"id": 18, "name": "dog"}, {"id": 47, "name": "cup"}]
    (root / "annotations" / "instances_train2017.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": categories}))
    return root


def test_objects_keep_train_split_non_person_instances_without_person_pixels(tmp_path):
    objects = CocoObjects([_write_coco(tmp_path)], max_side=32)
    assert len(objects) == 1
    assert objects.counts == {"small": 1, "crowd": 1, "held_out": 1, "missing_image": 1}
    assert "kept 1" in objects.report()
    image, mask = objects.get(0)
    # the cat's box is 60 x 40, its right part (x >= 40) is under the person: 30 x 40 are left,
    # shrunk so that the longer side is 32
    assert mask.shape == image.shape[:2] == (32, 24) and image.dtype == mask.dtype == np.uint8
    assert mask.min() == 255  # the cat's visible part is solid: no hole, no person pixels


def test_objects_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotations"):
        CocoObjects([tmp_path])
    (tmp_path / "annotations").mkdir()
    bad = tmp_path / "annotations" / "instances_val2017.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="instances_val2017.json"):
        CocoObjects([tmp_path])
    bad.write_text(json.dumps({"images": [], "annotations": [],
                               "categories": [{"id": 1, "name": "person"}]}))
    with pytest.raises(ValueError, match="no COCO objects"):
        CocoObjects([tmp_path])


def test_paste_object_hides_the_person_under_it():
    rng = np.random.default_rng(0)
    image = np.zeros((64, 64, 3), np.float32)
    mask = np.ones((64, 64), np.float32)  # a person everywhere: whatever is pasted covers them
    thing = np.full((30, 20, 3), 200, np.uint8)
    thing_mask = np.zeros((30, 20), np.uint8)
    thing_mask[5:25, 5:15] = 255
    out, target = aug.paste_object(rng, image, mask, thing, thing_mask, 0.5)
    covered = target < 0.01
    assert 0.3 * 64 <= np.nonzero(covered.any(axis=1))[0].size <= 0.5 * 64 + 2
    np.testing.assert_allclose(out[covered & (target == 0)].mean(), 200 / 255, atol=0.05)
    assert target[~covered].min() > 0  # the rest of the person stays
    assert aug.paste_object(rng, image, mask, thing, np.zeros_like(thing_mask), 0.5)[1] is mask


def test_sampler_pastes_objects_and_the_knobs_are_checked():
    from bgseg.data.pipeline import Sampler
    from tests.test_data_pipeline import _sampler

    class Objects:
        def __len__(self):
            return 1

        def get(self, index):
            return np.full((20, 20, 3), 90, np.uint8), np.full((20, 20), 255, np.uint8)

    plain = _sampler(channels=3, rotate=0.0)
    config = AugmentConfig(photometric=False, rotate=0.0, paste_objects=1.0, objects=("coco",),
                           object_count=(2, 2), object_height=(0.4, 0.6))
    pasting = Sampler(plain.sources, [1, 1], (32, 32), 3, config, seed=3, objects=Objects())
    with pytest.raises(ValueError, match="cut-out objects"):
        Sampler(plain.sources, [1, 1], (32, 32), 3, config, seed=3)
    fewer = [pasting.train_sample(i)[1].mean() < plain.train_sample(i)[1].mean()
             for i in range(10)]
    assert sum(fewer) >= 6  # pasted objects hide person pixels (some land off the person)
    with pytest.raises(ValueError, match="paste_objects"):
        AugmentConfig(paste_objects=0.5)
    with pytest.raises(ValueError, match="object_count"):
        AugmentConfig(object_count=(0, 1))
    with pytest.raises(ValueError, match="object_height"):
        AugmentConfig(object_height=(0.5, 0.1))
