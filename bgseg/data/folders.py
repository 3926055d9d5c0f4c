"""Folder datasets: `<root>/images/<stem>.<ext>` with `<root>/masks/<stem>.png`.

A mask pixel is person where its label is > 0, so binary masks (0/255) and multi-class parsing maps
(CCP, CelebAMask-HQ: 0 = background, other labels = parts of the person) both work. Masks of another
size than their image are resized with nearest-neighbour interpolation when read.
"""

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from bgseg import io


@dataclasses.dataclass(frozen=True)
class Item:
    """One training pair. `key` decides the split; `prev_image` and `prev_mask` are the previous
    video frame and its mask."""

    key: str
    image: str
    mask: str
    prev_mask: str = None
    prev_image: str = None


def folder_items(root):
    """The image/mask pairs of a folder dataset, sorted by stem (key = stem).

    Raises FileNotFoundError naming the folder when `images/` or `masks/` is missing, and ValueError
    listing the images without a mask (never a silent drop).
    """
    root = Path(root)
    images_dir, masks_dir = root / "images", root / "masks"
    for d in (images_dir, masks_dir):
        if not d.is_dir():
            raise FileNotFoundError(f"folder dataset needs {d}")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() == ".png"}
    items, unmatched = [], []
    for p in sorted(images_dir.iterdir()):
        if p.suffix.lower() not in io.IMAGE_EXTENSIONS:
            continue
        if p.stem in masks:
            items.append(Item(key=p.stem, image=str(p), mask=str(masks[p.stem])))
        else:
            unmatched.append(p.name)
    if unmatched:
        raise ValueError(f"{len(unmatched)} image(s) in {images_dir} have no mask in {masks_dir}, "
                         f"e.g. {', '.join(unmatched[:5])}")
    if not items:
        raise ValueError(f"no image/mask pairs in {root}")
    return items


def read_image(path):
    """Upright (EXIF orientation applied) RGB uint8 (H, W, 3); a ValueError names unreadable
    files."""
    try:
        return io.read_image(path)
    except io.InputError as error:
        raise ValueError(f"cannot read image {error}") from None


def read_mask(path, size=None):
    """Person mask uint8 (H, W) in {0, 255} from label > 0; resized (nearest) to `size` = (w, h)."""
    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if label is None:
        raise ValueError(f"cannot read mask {path}")
    if label.ndim == 3:
        label = label.max(axis=2)
    mask = np.where(label > 0, 255, 0).astype(np.uint8)
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = cv2.resize(mask, tuple(size), interpolation=cv2.INTER_NEAREST)
    return mask
