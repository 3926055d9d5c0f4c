"""COCO person filter on a generated tiny COCO dataset."""

import collections
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgseg.data.coco import CocoFilter, filter_coco, rasterize
from bgseg.data.split import split_of

W = H = 100
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _box(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def _person(ann_id, image_id, segm, area, crowd=0):
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "segmentation": segm,
            "area": area, "iscrowd": crowd, "bbox": [0, 0, 1, 1]}


def _uncompressed_rle(mask):
    """COCO uncompressed RLE (column-major run lengths starting with a 0-run)."""
    flat = mask.flatten(order="F")
    counts, value, run = [], 0, 0
    for v in flat:
        if v != value:
            counts.append(run)
            value, run = v, 0
        run += 1
    counts.append(run)
    return {"size": [H, W], "counts": counts}


def write_tiny_coco(root, extra_images=()):
    """8 images, one per filter outcome; returns the expected kept ids."""
    rle_mask = np.zeros((H, W), np.uint8)
    rle_mask[10:70, 20:80] = 1  # 0.36 coverage
    images, anns = [], []

    def add(image_id, people=(), write=True):
        images.append(
            {"id": image_id, "file_name": f"{image_id:012d}.jpg", "height": H, "width": W}
        )
        anns.extend(people)
        if write:
            cv2.imwrite(
                str(root / "val2017" / f"{image_id:012d}.jpg"), np.full((H, W, 3), 128, np.uint8)
            )

    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    add(1, [_person(1, 1, _box(10, 10, 50, 60), 3000)])  # kept
    add(2, [{**_person(2, 2, _box(0, 0, 50, 50), 2500), "category_id": 17}])  # no_person
    add(3, [_person(3, 3, _box(10, 10, 50, 60), 3000),
            _person(4, 3, _uncompressed_rle(rle_mask), 3600, crowd=1)])  # crowd
    add(4, [_person(5 + i, 4, _box(5 + 30 * i, 10, 20, 40), 800) for i in range(3)])  # too many
    add(5, [_person(9, 5, _box(10, 10, 5, 5), 25)])                                       # all tiny
    add(6, [_person(10, 6, _box(0, 0, 95, 95), 9025)])                                    # coverage
    add(7, [_person(11, 7, _box(10, 10, 50, 60), 3000)], write=False)  # missing
    add(8, [_person(12, 8, _uncompressed_rle(rle_mask), 3600)])  # kept (RLE)
    for image_id in extra_images:
        add(image_id, [_person(100 + image_id, image_id, _box(10, 10, 50, 60), 3000)])
    data = {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person"}, {"id": 17, "name": "cat"}]}
    (root / "annotations" / "person_keypoints_val2017.json").write_text(json.dumps(data))
    return root


@pytest.fixture(scope="module")
def tiny_coco(tmp_path_factory):
    return write_tiny_coco(tmp_path_factory.mktemp("coco"))


def test_filter_counts(tiny_coco, tmp_path):
    result = filter_coco(tiny_coco, CocoFilter(), cache_root=tmp_path)
    assert [it.key for it in result.items] == ["1", "8"]
    assert result.counts["removed"] == {"no_person": 1, "crowd": 1, "too_many_people": 1,
                                        "all_tiny": 1, "coverage": 1, "missing_image": 1}
    assert result.counts["kept"] == 2 and result.counts["images"] == 8
    assert "000000000007.jpg" in result.report()
    assert sum(result.counts["split"].values()) == 2
    assert result.counts["split"][split_of("1")] >= 1


def test_filter_params_and_crowd_mask(tiny_coco, tmp_path):
    loose = filter_coco(tiny_coco, CocoFilter(max_people=3, max_coverage=0.95, crowd="mask"),
                        cache_root=tmp_path)
    assert [it.key for it in loose.items] == ["1", "3", "4", "6", "8"]
    crowd_mask = cv2.imread(next(it.mask for it in loose.items if it.key == "3"), 0) > 0
    # the person box and the crowd region are both person pixels
    assert crowd_mask[15, 15] and crowd_mask[65, 75] and not crowd_mask[90, 90]


def test_cache_is_reused_and_keyed_by_params(tiny_coco, tmp_path):
    first = filter_coco(tiny_coco, CocoFilter(), cache_root=tmp_path)
    index = first.cache_dir / "index.json"
    mtime = index.stat().st_mtime_ns
    again = filter_coco(tiny_coco, CocoFilter(), cache_root=tmp_path)
    assert again.cache_dir == first.cache_dir and index.stat().st_mtime_ns == mtime
    assert again.counts == first.counts
    other = filter_coco(tiny_coco, CocoFilter(max_people=3), cache_root=tmp_path)
    assert other.cache_dir != first.cache_dir


def test_split_is_stable_when_images_are_added(tmp_path):
    small = filter_coco(write_tiny_coco(tmp_path / "a"), CocoFilter(), cache_root=tmp_path)
    big = filter_coco(write_tiny_coco(tmp_path / "b", extra_images=range(20, 60)), CocoFilter(),
                      cache_root=tmp_path)
    assert len(big.items) == 42
    assert sum(big.counts["split"].values()) == 42
    # the images of the small set keep their splits in the big one, and the recorded counts agree
    small_keys = {it.key for it in small.items}
    moved = collections.Counter(split_of(it.key) for it in big.items if it.key in small_keys)
    assert dict(moved) == {k: v for k, v in small.counts["split"].items() if v}
    assert sum(small.counts["split"].values()) == len(small.items) == len(small_keys)
    # ~70/20/10 on 42 items: every split is used
    assert min(big.counts["split"].values()) > 0


def test_rasterize_polygon_matches_hand_drawn():
    triangle = [20, 10, 80, 30, 40, 90]
    got = rasterize([{"segmentation": [triangle]}], H, W).astype(bool)
    want = np.zeros((H, W), np.uint8)
    cv2.fillPoly(want, [np.array(triangle).reshape(-1, 2)], 1)
    want = want.astype(bool)
    iou = (got & want).sum() / (got | want).sum()
    assert iou > 0.95 and abs(int(got.sum()) - 2200) < 100  # area of the triangle: 2200


def test_missing_or_bad_annotations_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotations"):
        filter_coco(tmp_path, cache_root=tmp_path)
    (tmp_path / "annotations").mkdir()
    bad = tmp_path / "annotations" / "instances_val2017.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="instances_val2017.json"):
        filter_coco(tmp_path, cache_root=tmp_path)


@pytest.mark.parametrize("name", ["coco_mini", pytest.param("coco_person", marks=pytest.mark.slow)])
def test_real_coco_sets(name, tmp_path):
    root = SHARED_DATA / name
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    result = filter_coco(root, CocoFilter(), cache_root=tmp_path)
    assert result.counts["kept"] == len(result.items) > 0
    assert result.counts["images"] == result.counts["kept"] + sum(result.counts["removed"].values())


def test_coco_filter_command_prints_the_report(tiny_coco, tmp_path, capsys):
    from bgseg.cli import main

    assert main(["coco-filter", str(tiny_coco), "--max-people", "1", "--cache-dir",
                 str(tmp_path)]) == 0
    report = capsys.readouterr().out
    assert report.startswith("COCO person filter:") and "kept" in report
    assert main(["coco-filter", str(tmp_path / "nothing"), "--cache-dir", str(tmp_path)]) == 2
    assert "nothing" in capsys.readouterr().err
