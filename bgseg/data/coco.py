"""COCO person filter: keep photos whose people are few and large enough, rasterize their masks.

Works on the official layout (`<root>/annotations/instances_{train,val}2017.json` or
`person_keypoints_{train,val}2017.json` next to `<root>/{train,val}2017/`). The images of every
annotation file found are pooled; the train/val/test split comes from `bgseg.data.split.split_of`
on the COCO image id, not from COCO's own train/val.

Filter steps (in this order, each counted):

1. `no_person`: no person annotation at all.
2. `crowd`: with `crowd="drop"` (default) images holding an `iscrowd` person region are dropped: a
   crowd is many unlabelled people with a coarse outline. With `crowd="mask"` the crowd region is
   painted into the mask as person pixels but not counted as a person.
3. `too_many_people`: more than `max_people` (non-crowd) person instances.
4. `all_tiny`: every person covers less than `min_person_area` of the image.
5. `coverage`: the union mask covers less than `min_coverage` or more than `max_coverage`.
6. `missing_image`: the image file is absent (skipped, counted and reported, never silent).

Masks (union of polygons and RLEs, 255 = person) are cached as PNGs under a directory keyed by a
hash of the annotation files (path, size, mtime) and the filter parameters, so filtering runs once.
"""

import dataclasses
import hashlib
import json
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from bgseg.data.coco_filter import CocoFilter  # noqa: F401 - part of this module's API
from bgseg.data.folders import Item

ANNOTATION_PATTERNS = ("instances_*.json", "person_keypoints_*.json")
STEPS = ("no_person", "crowd", "too_many_people", "all_tiny", "coverage", "missing_image")
_CACHE_VERSION = 1


@dataclasses.dataclass
class CocoPersons:
    """The kept images as `Item`s (key = COCO image id) and the per-step removal counts."""

    items: list
    counts: dict
    cache_dir: Path

    def report(self):
        """Human-readable filter report."""
        c = self.counts
        lines = [f"COCO person filter: {c['images']} images in {c['files']} annotation file(s)"]
        lines += [f"  removed {step:<16} {c['removed'][step]:>6}" for step in STEPS]
        lines.append(
            f"  kept {c['kept']} images (train {c['split']['train']}, val {c['split']['val']}, "
            f"test {c['split']['test']}); masks cached in {self.cache_dir}"
        )
        if c.get("missing_examples"):
            lines.append(f"  missing image files, e.g.: {', '.join(c['missing_examples'])}")
        return "\n".join(lines)


def find_annotation_files(root):
    """The COCO annotation files under `<root>/annotations`, or a FileNotFoundError naming the
    path."""
    folder = Path(root) / "annotations"
    files = sorted({p for pattern in ANNOTATION_PATTERNS for p in folder.glob(pattern)})
    if not files:
        raise FileNotFoundError(f"no COCO annotation file ({' or '.join(ANNOTATION_PATTERNS)}) in "
                                f"{folder}")
    return files


def _image_folder(annotation_file):
    """`annotations/instances_val2017.json` -> `<root>/val2017`."""
    split_name = annotation_file.stem.rsplit("_", 1)[-1]
    return annotation_file.parent.parent / split_name


def _cache_key(files, params):
    parts = [f"v{_CACHE_VERSION}", json.dumps(dataclasses.asdict(params), sort_keys=True)]
    for f in files:
        st = f.stat()
        parts.append(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def default_cache_root():
    """`$BGSEG_CACHE` or `~/.cache/bgseg`."""
    return Path(os.environ.get("BGSEG_CACHE", Path.home() / ".cache" / "bgseg"))


def _annotation_mask(coco_mask, ann, height, width):
    segm = ann["segmentation"]
    if isinstance(segm, list):  # polygons
        if not segm:
            return np.zeros((height, width), np.uint8)
        rle = coco_mask.merge(coco_mask.frPyObjects(segm, height, width))
    elif isinstance(segm["counts"], list):  # uncompressed RLE
        rle = coco_mask.frPyObjects(segm, height, width)
    else:
        rle = segm
    return coco_mask.decode(rle)


def rasterize(anns, height, width):
    """Union (uint8 0/1, shape (height, width)) of the masks of COCO annotations."""
    from pycocotools import mask as coco_mask

    out = np.zeros((height, width), np.uint8)
    with warnings.catch_warnings():  # pycocotools 2.0.11 + numpy 2: a harmless copy= deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        for ann in anns:
            out |= _annotation_mask(coco_mask, ann, height, width)
    return out


def _filter_file(annotation_file, params, mask_dir, counts, kept, seen):
    try:
        data = json.loads(annotation_file.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read COCO annotation file {annotation_file}: {e}") from None
    for field in ("images", "annotations", "categories"):
        if field not in data:
            raise ValueError(f"{annotation_file} is not a COCO annotation file: no {field!r}")
    person_ids = {c["id"] for c in data["categories"] if c.get("name") == "person"}
    if not person_ids:
        raise ValueError(f"{annotation_file} has no 'person' category")
    by_image = {}
    for ann in data["annotations"]:
        if ann["category_id"] in person_ids:
            by_image.setdefault(ann["image_id"], []).append(ann)
    image_folder = _image_folder(annotation_file)
    for info in data["images"]:
        image_id = info["id"]
        if image_id in seen:
            continue
        seen.add(image_id)
        counts["images"] += 1
        anns = by_image.get(image_id, [])
        people = [a for a in anns if not a.get("iscrowd", 0)]
        crowds = [a for a in anns if a.get("iscrowd", 0)]
        h, w = info["height"], info["width"]
        if not people:
            step = "no_person"
        elif crowds and params.crowd == "drop":
            step = "crowd"
        elif len(people) > params.max_people:
            step = "too_many_people"
        elif max(a["area"] for a in people) < params.min_person_area * h * w:
            step = "all_tiny"
        else:
            mask = rasterize(people + crowds, h, w)
            coverage = float(mask.mean())
            image_path = image_folder / info["file_name"]
            if not params.min_coverage <= coverage <= params.max_coverage:
                step = "coverage"
            elif not image_path.is_file():
                step = "missing_image"
                if len(counts["missing_examples"]) < 5:
                    counts["missing_examples"].append(str(image_path))
            else:
                mask_path = mask_dir / f"{image_id}.png"
                if not cv2.imwrite(str(mask_path), mask * 255):
                    raise OSError(f"cannot write mask cache file {mask_path}")
                kept.append(Item(key=str(image_id), image=str(image_path), mask=str(mask_path)))
                continue
        counts["removed"][step] += 1


def filter_coco(root, params=None, cache_root=None):
    """Filter the COCO dataset at `root` for people (see module doc); cached. Returns
    `CocoPersons`."""
    from bgseg.data.split import split_of

    params = params or CocoFilter()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"COCO folder not found: {root}")
    files = find_annotation_files(root)
    cache_dir = Path(cache_root or default_cache_root()) / "coco" / _cache_key(files, params)
    index_path = cache_dir / "index.json"
    if index_path.is_file():
        index = json.loads(index_path.read_text())
        items = [Item(**it) for it in index["items"]]
        if all(Path(it.mask).is_file() for it in items):
            return CocoPersons(items, index["counts"], cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    counts = {"files": len(files), "images": 0, "removed": dict.fromkeys(STEPS, 0),
              "missing_examples": []}
    kept, seen = [], set()
    for f in files:
        _filter_file(f, params, cache_dir, counts, kept, seen)
    kept.sort(key=lambda it: int(it.key))
    counts["kept"] = len(kept)
    counts["split"] = {s: 0 for s in ("train", "val", "test")}
    for it in kept:
        counts["split"][split_of(it.key)] += 1
    from bgseg import io

    io.write_bytes(index_path, json.dumps({"params": dataclasses.asdict(params), "counts": counts,
                                           "items": [dataclasses.asdict(it) for it in kept]},
                                          indent=1).encode(), overwrite=True)
    return CocoPersons(kept, counts, cache_dir)
