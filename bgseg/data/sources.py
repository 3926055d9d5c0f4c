"""Recipe data sources: a typed path with filter parameters and a sampling weight, loaded once into
memory at a reduced resolution.

A source spec (one entry of a recipe's "sources" list)::

    {"type": "coco" | "folder" | "davis", "path": "../shared/data/ccp", "weight": 1.0,
     "name": "ccp", "filter": {...CocoFilter fields, coco only...},
     "split": "auto" | "train" | "val" | {"train": 0.9, "val": 0.1, "test": 0.0}}

The split of every item comes from `bgseg.data.split.split_of(item.key)` (key = COCO image id,
file stem, or DAVIS clip name) with the source's `split`: "auto" is the project's 70/20/10 split;
"train" or "val" puts every item of the source there (your own training folder, your own validation
folder); a dict gives the fractions by hash (missing names are 0, e.g. no test split). Training
reads only the "train" split, validation only "val", and "test" is never read here.
"""

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from bgseg import io
from bgseg.data.coco import CocoFilter, filter_coco
from bgseg.data.davis import davis_items
from bgseg.data.folders import folder_items, read_image, read_mask
from bgseg.data.split import DEFAULT_FRACTIONS, SPLITS, split_of

SOURCE_TYPES = ("coco", "folder", "davis")


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """One data source of a recipe."""

    type: str
    path: str
    weight: float = 1.0
    name: str = None
    filter: dict = dataclasses.field(default_factory=dict)
    split: object = "auto"

    def __post_init__(self):
        self.fractions()  # validates `split`
        if self.type not in SOURCE_TYPES:
            raise ValueError(f"source type must be one of {SOURCE_TYPES}, got {self.type!r}")
        if self.weight < 0:
            raise ValueError(f"source {self.path}: weight must be >= 0, got {self.weight}")
        if self.filter and self.type != "coco":
            raise ValueError(f"source {self.path}: 'filter' applies to coco sources only")
        if self.name is None:
            object.__setattr__(self, "name", Path(self.path).name)

    def fractions(self):
        """(train, val, test) fractions of this source's split."""
        if self.split == "auto":
            return DEFAULT_FRACTIONS
        if self.split in ("train", "val"):
            return tuple(1.0 if s == self.split else 0.0 for s in SPLITS)
        if isinstance(self.split, dict) and not set(self.split) - set(SPLITS):
            fractions = tuple(float(self.split.get(s, 0.0)) for s in SPLITS)
            if min(fractions) >= 0 and abs(sum(fractions) - 1.0) < 1e-6:
                return fractions
        raise ValueError(f"source {self.path}: split must be 'auto', 'train', 'val' or fractions "
                         f"like {{'train': 0.9, 'val': 0.1}} summing to 1, got {self.split!r}")

    @classmethod
    def from_dict(cls, d):
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown source field(s) {sorted(unknown)} in {d}")
        return cls(**d)


def source_items(spec, cache_root=None, log=print):
    """All items of a source (every split)."""
    if not Path(spec.path).exists():
        raise FileNotFoundError(f"data source {spec.name!r}: path not found: {spec.path} "
                                f"(relative paths are read from {Path.cwd()})")
    if spec.type == "coco":
        persons = filter_coco(spec.path, CocoFilter(**spec.filter), cache_root)
        log(f"[{spec.name}] " + persons.report())
        return persons.items
    if spec.type == "folder":
        return folder_items(spec.path)
    return davis_items(spec.path)


def _shrink(array, short_side, interpolation):
    h, w = array.shape[:2]
    scale = short_side / min(h, w)
    if scale >= 1:
        return array
    return cv2.resize(array, (round(w * scale), round(h * scale)), interpolation=interpolation)


@dataclasses.dataclass
class Sample:
    """A decoded item: RGB uint8 image, uint8 mask (0/255), optional uint8 previous mask."""

    key: str
    image: np.ndarray
    mask: np.ndarray
    prev_mask: np.ndarray = None
    person_center: tuple = None
    prev_image: np.ndarray = None


def load_sample(item, short_side):
    """Decode an item and shrink it so its short side is at most `short_side` (0: keep)."""
    image = read_image(item.image)
    size = (image.shape[1], image.shape[0])
    mask = read_mask(item.mask, size)
    prev = read_mask(item.prev_mask, size) if item.prev_mask else None
    prev_image = read_image(item.prev_image) if item.prev_image else None
    if prev_image is not None and prev_image.shape != image.shape:
        raise ValueError(f"{item.prev_image}: size {prev_image.shape[1::-1]} differs from "
                         f"{item.image} ({size})")
    if short_side:
        image = _shrink(image, short_side, cv2.INTER_AREA)
        mask = _shrink(mask, short_side, cv2.INTER_AREA)
        prev = None if prev is None else _shrink(prev, short_side, cv2.INTER_AREA)
        prev_image = None if prev_image is None else _shrink(prev_image, short_side, cv2.INTER_AREA)
    ys, xs = np.nonzero(mask > 127)
    center = (float(xs.mean()), float(ys.mean())) if len(xs) else None
    return Sample(item.key, image, mask, prev, center, prev_image)


class LoadedSource:
    """The items of one split of a source, decoded into memory at a reduced resolution."""

    def __init__(self, spec, items, split, short_side, threads=4):
        self.spec = spec
        fractions = spec.fractions()
        self.items = [it for it in items if split_of(it.key, fractions) == split]
        with ThreadPoolExecutor(threads) as pool:
            self.samples = list(pool.map(lambda it: load_sample(it, short_side), self.items))

    def __len__(self):
        return len(self.samples)


class Backgrounds:
    """Background photos from folders, decoded lazily and kept in memory (short side
    `short_side`)."""

    def __init__(self, folders, short_side):
        self.paths = []
        for folder in folders:
            folder = Path(folder)
            if not folder.is_dir():
                raise FileNotFoundError(f"background folder not found: {folder}")
            self.paths += sorted(
                p for p in folder.iterdir() if p.suffix.lower() in io.IMAGE_EXTENSIONS
            )
        if folders and not self.paths:
            raise ValueError(f"no background photos in {', '.join(map(str, folders))}")
        self.short_side = short_side
        self._cache = {}

    def __len__(self):
        return len(self.paths)

    def get(self, index):
        image = self._cache.get(index)
        if image is None:
            image = _shrink(read_image(self.paths[index]), self.short_side, cv2.INTER_AREA)
            self._cache[index] = image
        return image
