"""Cut-out COCO objects (every category but person) to paste into training frames as hard
negatives: the teddy bears, cakes, dogs and ovens a person model takes for people.

Reads the official layout (`<root>/annotations/instances_*.json` next to `<root>/<part>/`, as
`bgseg.data.coco`); only annotation files that hold categories besides person are used, so a
person-only file (`person_keypoints_*.json`) adds nothing. An object is kept when it is not a
crowd region, covers at least `min_area` of its image and its image is in `split`
(`bgseg.data.split.split_of` on the COCO image id, as the person sources split): training never
sees an object of a held-out photo. Pixels that any person annotation of the same image covers
are cut out of the object's mask, so a pasted object never carries a person labelled background.
"""

import json
from pathlib import Path

import cv2
import numpy as np

from bgseg.data.coco import _image_folder, find_annotation_files, rasterize
from bgseg.data.folders import read_image
from bgseg.data.split import split_of


class CocoObjects:
    """The kept objects as `(image, mask)` crops (RGB uint8, uint8 0/255) around each object,
    their longer side at most `max_side`; `counts` says what was kept and skipped."""

    def __init__(self, roots, max_side=256, split="train", min_area=0.01):
        self.cutouts = []
        self.counts = {"small": 0, "crowd": 0, "held_out": 0, "missing_image": 0}
        for root in roots:
            for annotation_file in find_annotation_files(root):
                self._read(annotation_file, max_side, split, min_area)
        if not self.cutouts:
            raise ValueError(f"no COCO objects (categories other than person, at least "
                             f"{min_area:.0%} of their image, split {split!r}) in "
                             f"{', '.join(map(str, roots))}")

    def __len__(self):
        return len(self.cutouts)

    def get(self, index):
        return self.cutouts[index]

    def report(self):
        c = self.counts
        return (f"COCO objects: kept {len(self)} (skipped: {c['small']} small, {c['crowd']} crowd, "
                f"{c['held_out']} of held-out images, {c['missing_image']} without their image)")

    def _read(self, annotation_file, max_side, split, min_area):
        try:
            data = json.loads(Path(annotation_file).read_text())
        except ValueError as error:
            raise ValueError(f"{annotation_file} is not valid JSON: {error}") from None
        person_ids = {c["id"] for c in data["categories"] if c["name"] == "person"}
        by_image = {}
        for ann in data["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann)
        folder = _image_folder(Path(annotation_file))
        for info in sorted(data["images"], key=lambda i: i["id"]):
            anns = by_image.get(info["id"], [])
            objects = [a for a in anns if a["category_id"] not in person_ids]
            if not objects:
                continue
            if split_of(str(info["id"])) != split:
                self.counts["held_out"] += len(objects)
                continue
            height, width = info["height"], info["width"]
            keep = []
            for ann in objects:
                if ann.get("iscrowd"):
                    self.counts["crowd"] += 1
                elif ann["area"] < min_area * height * width:
                    self.counts["small"] += 1
                else:
                    keep.append(ann)
            if not keep:
                continue
            path = folder / info["file_name"]
            if not path.exists():
                self.counts["missing_image"] += len(keep)
                continue
            image = read_image(path)
            people = rasterize([a for a in anns if a["category_id"] in person_ids], height, width)
            for ann in keep:
                self._add(image, rasterize([ann], height, width) & (1 - people), max_side)

    def _add(self, image, mask, max_side):
        ys, xs = np.nonzero(mask)
        if not len(xs):
            return
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        crop, cut = image[y0:y1, x0:x1], mask[y0:y1, x0:x1] * np.uint8(255)
        scale = max_side / max(crop.shape[:2])
        if scale < 1:
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            cut = cv2.resize(cut, size, interpolation=cv2.INTER_AREA)
        self.cutouts.append((np.ascontiguousarray(crop), np.ascontiguousarray(cut)))
