"""The benchmark scripts' own logic (their results are in docs/benchmarks.md, not in tests)."""

import json

import cv2
import numpy as np
import pytest

from benchmarks import heldout
from benchmarks.temporal_options import parse_variant


def test_variants_parse_typed_options_and_name_what_is_wrong():
    assert parse_variant("today:") == ("today", {})
    assert parse_variant("m:motion=1,smoothing=0.7,zoom=0") == (
        "m", {"motion": True, "smoothing": 0.7, "zoom": False})
    with pytest.raises(ValueError, match="unknown option 'speed=2'"):
        parse_variant("x:speed=2")
    with pytest.raises(ValueError, match="expected NAME:"):
        parse_variant("motion=1")


def _coco_part(root, part, images):
    """A COCO-layout part: `images` = {image id: number of people}; one square person each."""
    (root / part).mkdir(parents=True)
    data = {"images": [], "annotations": [],
            "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}]}
    for image_id, people in images.items():
        name = f"{image_id:012d}.jpg"
        cv2.imwrite(str(root / part / name), np.full((40, 60, 3), 128, np.uint8))
        data["images"].append({"id": image_id, "file_name": name, "height": 40, "width": 60})
        for k in range(people):
            x = 5 + 20 * k
            data["annotations"].append({
                "id": len(data["annotations"]) + 1, "image_id": image_id, "category_id": 1,
                "iscrowd": 0, "segmentation": [[x, 5, x + 10, 5, x + 10, 25, x, 25]],
                "area": 200, "bbox": [x, 5, 10, 20]})
        data["annotations"].append({  # a dog in every image: never person
            "id": len(data["annotations"]) + 1, "image_id": image_id, "category_id": 2,
            "iscrowd": 0, "segmentation": [[50, 30, 58, 30, 58, 38, 50, 38]], "area": 64,
            "bbox": [50, 30, 8, 8]})
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / f"instances_{part}.json").write_text(json.dumps(data))


def test_coco_mini_reads_held_out_images_with_people_from_both_parts(tmp_path):
    ids = list(range(1, 60))
    held = [i for i in ids if heldout.is_held_out(i)]
    kept = [i for i in ids if not heldout.is_held_out(i)]
    assert len(held) >= 3 and kept
    train = {i: 2 for i in ids[:30]}
    val = {i: (0 if i == held[-1] else 1) for i in ids[30:]}
    _coco_part(tmp_path, "train2017", train)
    _coco_part(tmp_path, "val2017", val)
    items = list(heldout.coco_mini(tmp_path))
    expected = sorted(str(i) for i in held if {**train, **val}[i] > 0)
    assert [key for key, _, _ in items] == expected   # held out, with people, both parts, sorted
    for key, image, truth in items:
        people = {**train, **val}[int(key)]
        assert truth.shape == image.shape[:2] and truth.dtype == bool
        assert truth.sum() == pytest.approx(people * 11 * 21, rel=0.2)  # the dog is not a person
