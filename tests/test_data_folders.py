"""Folder and DAVIS datasets on generated files."""

import cv2
import numpy as np
import pytest

from bgseg.data.davis import davis_items
from bgseg.data.folders import folder_items, read_mask


def test_folder_pairs_and_multiclass_mask(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for stem in ("b", "a"):
        cv2.imwrite(str(tmp_path / "images" / f"{stem}.jpg"), np.zeros((40, 60, 3), np.uint8))
        label = np.zeros((20, 30), np.uint8)  # half size, parsing labels 0 / 3 / 17
        label[5:10, 5:10], label[10:15, 10:20] = 3, 17
        cv2.imwrite(str(tmp_path / "masks" / f"{stem}.png"), label)
    items = folder_items(tmp_path)
    assert [it.key for it in items] == ["a", "b"] and items[0].prev_mask is None
    mask = read_mask(items[0].mask, (60, 40))
    assert mask.shape == (40, 60) and set(np.unique(mask)) == {0, 255}
    assert (mask > 0).sum() == 4 * (5 * 5 + 5 * 10)  # nearest resize: each label pixel -> 2x2


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="images"):
        folder_items(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "lonely.jpg"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="lonely.jpg"):
        folder_items(tmp_path)


def write_davis(root, clips=("walk", "jump"), frames=3, size=(48, 64)):
    for clip in clips:
        (root / "JPEGImages" / "480p" / clip).mkdir(parents=True)
        (root / "Annotations" / "480p" / clip).mkdir(parents=True)
        for i in range(frames):
            image = np.full((*size, 3), 40 * i, np.uint8)
            mask = np.zeros(size, np.uint8)
            mask[10:30, 5 + 8 * i:25 + 8 * i] = 255
            cv2.imwrite(str(root / "JPEGImages" / "480p" / clip / f"{i:05d}.jpg"), image)
            cv2.imwrite(str(root / "Annotations" / "480p" / clip / f"{i:05d}.png"), mask)
    return root


def test_davis_clips_link_previous_masks(tmp_path):
    items = davis_items(write_davis(tmp_path))
    assert len(items) == 6 and {it.key for it in items} == {"walk", "jump"}
    jump = [it for it in items if it.key == "jump"]
    assert jump[0].prev_mask is None
    assert jump[1].prev_mask == jump[0].mask and jump[2].prev_mask == jump[1].mask


def test_davis_missing_annotation(tmp_path):
    write_davis(tmp_path, clips=("walk",))
    (tmp_path / "Annotations" / "480p" / "walk" / "00001.png").unlink()
    with pytest.raises(FileNotFoundError, match="00001.png"):
        davis_items(tmp_path)
