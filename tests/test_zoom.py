"""bgseg.runtime.zoom: the crop around the people, kept on video; the runtime's second look."""

import cv2
import numpy as np
import pytest

from bgseg import evaluation
from bgseg.runtime import Segmenter, VideoSegmenter, zoom
from tests.helpers import PHOTO


def _mask(height=100, width=200, box=(50, 20, 70, 60)):
    mask = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 0.9
    return mask


def test_zoom_box_is_a_square_around_everyone_inside_the_frame():
    assert zoom.person_box(_mask()) == (50, 20, 70, 60)
    box = zoom.zoom_box(_mask(), margin=0.25)
    x0, y0, x1, y1 = box
    assert x1 - x0 == y1 - y0 == 60                     # longer side 40, plus 2 x 25 %
    assert x0 <= 50 and y0 <= 20 and x1 >= 70 and y1 >= 60
    assert box == (30, 10, 90, 70)                      # centred, shifted into the frame (top 0)
    # two people: the box holds both
    both = np.maximum(_mask(), _mask(box=(150, 70, 160, 90)))
    x0, y0, x1, y1 = zoom.zoom_box(both, margin=0.0)
    assert x0 <= 50 and x1 >= 160 and y0 <= 20 and y1 >= 90
    # at the border the square is cut to the frame and stays inside it
    x0, y0, x1, y1 = zoom.zoom_box(_mask(box=(0, 0, 30, 80)), margin=0.15)
    assert (x0, y0) == (0, 0) and y1 == 100 and 0 < x1 <= 200


def test_no_zoom_when_nobody_is_found_or_the_people_fill_the_frame():
    assert zoom.person_box(np.zeros((10, 10), np.float32)) is None
    assert zoom.zoom_box(np.zeros((10, 10), np.float32)) is None
    assert zoom.zoom_box(_mask(box=(10, 5, 190, 95))) is None
    assert zoom.zoom_box(_mask(box=(10, 5, 190, 95)), max_area=1.0) is not None


def test_keep_box_holds_still_until_someone_leaves_or_the_people_shrink():
    first = zoom.zoom_box(_mask())
    moved = _mask(box=(52, 22, 72, 62))                   # a small step: same crop
    assert zoom.keep_box(first, moved) == first
    away = _mask(box=(120, 20, 140, 60))                  # walked out of the crop: follow
    assert zoom.keep_box(first, away) == zoom.zoom_box(away)
    shrunk = _mask(box=(55, 30, 60, 40))                  # much smaller now: zoom in again
    assert zoom.keep_box(first, shrunk) == zoom.zoom_box(shrunk)
    assert zoom.keep_box(None, moved) == zoom.zoom_box(moved)
    assert zoom.keep_box(first, np.zeros((100, 200), np.float32)) is None


@pytest.fixture(scope="module")
def small_person():
    """The sample photo shrunk to a small person in a wide grey frame, and its true place."""
    photo = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    frame = np.full((540, 960, 3), 128, np.uint8)
    small = cv2.resize(photo, (160, 160), interpolation=cv2.INTER_AREA)
    frame[300:460, 600:760] = small
    return frame, (600, 300, 760, 460)


def test_zoom_finds_the_person_better_than_one_look(small_person):
    """A real model on a person filling 5 % of the frame: the reference is its own mask of the
    full-size photo; the second look at the crop must be much closer to it than the first. The
    model is the converted MediaPipe one, whose weights never change (the mechanism under test is
    the zoom, not the shipped weights)."""
    frame, (x0, y0, x1, y1) = small_person
    photo = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    model = "mediapipe_selfie"
    reference = cv2.resize(Segmenter(model).segment(photo), (x1 - x0, y1 - y0)) > 0.5
    truth = np.zeros(frame.shape[:2], bool)
    truth[y0:y1, x0:x1] = reference
    one_look = Segmenter(model, zoom=False, flip=False)  # the zoom under test, not the mirroring
    two_looks = Segmenter(model, flip=False)
    plain, zoomed = one_look.segment(frame), two_looks.segment(frame)
    assert one_look.timings["runs"] == 1 and two_looks.timings["runs"] == 2
    plain_iou = evaluation.iou(plain > 0.5, truth)
    zoomed_iou = evaluation.iou(zoomed > 0.5, truth)
    assert zoomed_iou > plain_iou + 0.15, (plain_iou, zoomed_iou)  # measured: 0.58 -> 0.89
    assert zoomed_iou > 0.8


def test_video_zoom_runs_once_per_frame_and_looks_again_every_redetect_frames(small_person):
    frame, (x0, y0, x1, y1) = small_person
    seg = VideoSegmenter("default", redetect=4)
    runs = []
    for _ in range(9):
        mask = seg.segment(frame)
        runs.append(seg.timings["runs"])
    assert runs == [2, 1, 1, 1, 2, 1, 1, 1, 2]
    # the prior fed back is frame-shaped (at the guided filter's coefficient size, half the
    # working size) and the person stays found
    assert seg.previous_mask.shape == (180, 320)
    assert mask[y0:y1, x0:x1].mean() > 0.2 and mask[:200].max() < 0.5
    # a new stream of another size starts over instead of cropping the old prior
    seg.segment(cv2.resize(frame, (480, 270)))
    assert seg.timings["runs"] == 2 and seg.previous_mask.shape == (135, 240)
    seg.reset()
    seg.segment(frame)
    assert seg.timings["runs"] == 2
    with pytest.raises(ValueError, match="redetect"):
        VideoSegmenter("default", redetect=0)
    with pytest.raises(ValueError, match="zoom_margin"):
        Segmenter("default", zoom_margin=2)


def test_cli_zoom_option(tmp_path, small_person):
    """`bgseg image` zooms by default; `--no-zoom` gives the single look of the API's zoom=False."""
    from bgseg.cli import main

    frame, _ = small_person
    source = tmp_path / "small.png"
    cv2.imwrite(str(source), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    masks = {}
    for option in ("--zoom", "--no-zoom"):
        out = tmp_path / f"mask{option}.png"
        assert main(["image", str(source), "-o", str(out), "--mask-only", "--no-refine",
                     option]) == 0
        masks[option] = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    single = Segmenter("default_image", zoom=False, refine=False).segment(frame)
    assert np.abs(masks["--no-zoom"].astype(float) - single * 255).max() <= 1
    assert np.abs(masks["--zoom"].astype(float) - masks["--no-zoom"]).mean() > 1


def test_people_boxes_give_each_separate_small_person_a_square_of_their_own():
    two = np.maximum(_mask(box=(10, 10, 30, 50)), _mask(box=(160, 50, 180, 90)))
    two[0:2, 100:102] = 0.9  # a speck: below min_area, no look
    shared = zoom.zoom_box(two, max_area=1.0)
    boxes = zoom.people_boxes(two, shared)
    assert len(boxes) == 2
    for (x0, y0, x1, y1), (bx0, by0, bx1, by1) in zip(boxes, [(10, 10, 30, 50),
                                                              (160, 50, 180, 90)]):
        assert x1 - x0 == y1 - y0 and x0 <= bx0 and y0 <= by0 and x1 >= bx1 and y1 >= by1
    assert len(zoom.people_boxes(two, shared, limit=1)) == 1
    assert zoom.people_boxes(two, shared, limit=0) == []
    assert len(zoom.people_boxes(two, None)) == 2  # seen as the whole frame
    one = _mask()  # a single person: the shared crop already is their own
    assert zoom.people_boxes(one, zoom.zoom_box(one)) == []


def test_separate_people_get_closer_looks_on_stills_only(small_person):
    """Two small people in opposite corners: the crop around both covers most of the frame (no
    zoom), so each gets a look of their own, which finds them better than the one whole look."""
    _, (x0, y0, x1, y1) = small_person
    photo = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    small = cv2.resize(photo, (120, 120), interpolation=cv2.INTER_AREA)
    frame = np.full((540, 960, 3), 128, np.uint8)
    frame[20:140, 20:140] = small
    frame[400:520, 820:940] = small
    model = "mediapipe_selfie"
    reference = cv2.resize(Segmenter(model).segment(photo), (120, 120)) > 0.5
    truth = np.zeros(frame.shape[:2], bool)
    truth[20:140, 20:140] = reference
    truth[400:520, 820:940] = reference
    looks, single = Segmenter(model, flip=False), Segmenter(model, zoom_people=0, flip=False)
    with_looks, without = looks.segment(frame), single.segment(frame)
    assert single.timings["runs"] == 1 and looks.timings["runs"] == 3
    assert evaluation.iou(with_looks > 0.5, truth) > evaluation.iou(without > 0.5, truth) + 0.05
    assert VideoSegmenter(model).zoom_people == 0
    with pytest.raises(ValueError, match="zoom_people"):
        Segmenter(model, zoom_people=-1)
