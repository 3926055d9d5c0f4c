"""Readers for the held-out (val + test) part of ../shared/data, for the benchmarks.

Every reader yields `(key, bgr_image, truth)` with `truth` a boolean person mask of the image's
size; an item is held out when `bgseg.data.split.split_of(key)` is one of the reader's `splits`
("val" and "test" by default; "val" alone to choose between candidates, leaving "test" untouched).
Keys: file stem for ccp/celebamask, COCO image id for coco_person, clip name for DAVIS. Items come
in sorted key order, so `limit` always picks the same ones.
"""

import json
from pathlib import Path

import cv2

from bgseg import io as bgseg_io
from bgseg.data.split import split_of

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "data"  # ../shared/data next to the checkout

HELD_OUT = ("val", "test")
IMAGE_SETS = ("celebamask", "ccp", "coco_person")
EXTRA_IMAGE_SETS = ("coco_mini",)  # measured when asked for


def is_held_out(key, splits=HELD_OUT):
    return split_of(str(key)) in splits


def splits_of(choice):
    """The splits a benchmark's `--split {val,test,both}` measures."""
    return HELD_OUT if choice == "both" else (choice,)


def read_image(path):
    """BGR uint8, upright (EXIF orientation applied, as bgseg reads every image)."""
    try:
        return cv2.cvtColor(bgseg_io.read_image(path), cv2.COLOR_RGB2BGR)
    except bgseg_io.InputError as error:
        raise OSError(str(error)) from None


def read_mask(path):
    """Boolean person mask (label > 0), read as training reads it (`bgseg.data.folders`)."""
    from bgseg.data.folders import read_mask as read_label

    try:
        return read_label(path) > 0
    except ValueError as error:
        raise OSError(str(error)) from None


def _need(path):
    if not path.exists():
        raise FileNotFoundError(f"benchmark data not found: {path} (see ../shared/data/README.md)")
    return path


def folder_pairs(root, limit=None, splits=HELD_OUT):
    """`root/images/<stem>.jpg` with `root/masks/<stem>.png` (person = label > 0): ccp,
    celebamask."""
    images = _need(Path(root) / "images")
    stems = sorted(p.stem for p in images.glob("*.jpg") if is_held_out(p.stem, splits))[:limit]
    for stem in stems:
        image = read_image(images / f"{stem}.jpg")
        truth = read_mask(Path(root) / "masks" / f"{stem}.png")
        yield stem, image, _check(stem, image, truth)


def coco_person(root, limit=None, splits=HELD_OUT):
    """coco_person: the union of the person annotations of each held-out image, rasterized as
    training rasterizes them (`bgseg.data.coco.rasterize`)."""
    annotations = _need(Path(root) / "annotations" / "person_keypoints_val2017.json")
    yield from _coco_items(annotations, Path(root) / "val2017", limit, splits,
                           with_people_only=False)


def coco_mini(root, limit=None, splits=HELD_OUT):
    """coco_mini: the held-out images of both official-layout parts (train2017, val2017) that
    show at least one person (most show several), truth as in `coco_person`."""
    items = []
    for part in ("train2017", "val2017"):
        annotations = _need(Path(root) / "annotations" / f"instances_{part}.json")
        items.extend(_coco_items(annotations, Path(root) / part, None, splits,
                                 with_people_only=True))
    yield from sorted(items, key=lambda item: item[0])[:limit]


def _coco_items(annotations, images_dir, limit, splits, with_people_only):
    from bgseg.data.coco import rasterize

    data = json.loads(annotations.read_text())
    person_ids = {c["id"] for c in data["categories"] if c["name"] == "person"}
    by_image = {}
    for ann in data["annotations"]:
        if ann["category_id"] in person_ids:
            by_image.setdefault(ann["image_id"], []).append(ann)
    images = sorted((i for i in data["images"] if is_held_out(i["id"], splits)
                     and (by_image.get(i["id"]) or not with_people_only)),
                    key=lambda i: str(i["id"]))
    for info in images[:limit]:
        truth = rasterize(by_image.get(info["id"], []), info["height"], info["width"]) > 0
        image = read_image(images_dir / info["file_name"])
        yield str(info["id"]), image, _check(info["id"], image, truth)


def davis_clips(root, splits=HELD_OUT):
    """Names of the held-out DAVIS clips, sorted."""
    frames = _need(Path(root) / "JPEGImages" / "480p")
    return sorted(p.name for p in frames.iterdir() if p.is_dir() and is_held_out(p.name, splits))


def davis_frames(root, clip, limit=None):
    """The frames of one DAVIS clip in order, with their masks."""
    root = Path(root)
    for path in sorted((root / "JPEGImages" / "480p" / clip).glob("*.jpg"))[:limit]:
        image = read_image(path)
        truth = read_mask(root / "Annotations" / "480p" / clip / f"{path.stem}.png")
        yield f"{clip}/{path.stem}", image, _check(path, image, truth)


def video_frames(path, limit=None):
    """The first `limit` frames of a video file (BGR)."""
    capture = cv2.VideoCapture(str(_need(Path(path))))
    if not capture.isOpened():
        raise OSError(f"cannot open video {path}")
    try:
        count = 0
        while limit is None or count < limit:
            ok, frame = capture.read()
            if not ok:
                break
            yield frame
            count += 1
    finally:
        capture.release()


def _check(key, image, truth):
    if truth.shape != image.shape[:2]:
        raise ValueError(
            f"{key}: mask shape {truth.shape} differs from image shape {image.shape[:2]}"
        )
    return truth
