"""The web app's masks vs the Python runtime's, per frame, in the system's headless Chromium.

    python -m benchmarks.web_parity --delegates GPU,CPU

Feeds `browser.person_frames()` (8 frames, a person moving, small enough to be zoomed on) to the
page's segmenter as one stream and to `bgseg.VideoSegmenter(refine=False, sharpen=1)` (the raw
frame-shaped masks) and prints the IoU of the masks thresholded at 0.5 and the mean absolute
difference, per frame; then the same for one still photo of two people
(`browser.group_photo()`), the page's `segmentStill` against `bgseg.Segmenter(refine=False,
sharpen=1)`. `tests/test_web.py` asserts the same comparison.

    python -m benchmarks.web_parity --delegates GPU,CPU --photos coco_mini --split both

also compares `segmentStill` on real held-out photos (`benchmarks.heldout`: coco_mini's scenes
of several people, where people touch and their regions merge, or coco_person), one line per
photo and a summary: thresholded IoU, mean |diff| and whether both sides ran the model as often.
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks import browser
from benchmarks.heldout import DEFAULT_DATA


def iou(a, b, threshold=0.5):
    """IoU of the masks thresholded at `threshold`; 1 when both are empty (they agree)."""
    a, b = a > threshold, b > threshold
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def compare(context, url, delegate, frames):
    """(page masks, Python masks, delegate used) for `frames` on one delegate."""
    from bgseg import VideoSegmenter

    reference = VideoSegmenter("default", refine=False, sharpen=1.0, smoothing=0.0, motion=False)
    expected = [reference.segment(frame) for frame in frames]
    page = browser.open_page(context, f"{url}?delegate={delegate}")
    masks, _, used = browser.segment_in_page(page, frames)
    page.close()
    return [frame_sized(m, f) for m, f in zip(masks, frames)], expected, used


def frame_sized(mask, frame):
    """The page's frame-shaped mask upsampled to `frame`'s size (bilinear), as the page's
    compositor and the Python segmenter do; it must first be the Python runtime's canvas
    (`picture_size`: shorter side at most 360 px, longer at most 960), else the two paste their
    looks at different resolutions."""
    from bgseg.contract import mask_to_frame
    from bgseg.runtime.segmenter import picture_size

    if mask.shape[::-1] != picture_size(frame):
        raise ValueError(f"the page's mask is {mask.shape[1]} x {mask.shape[0]}, the Python "
                         f"runtime's canvas {' x '.join(map(str, picture_size(frame)))}")
    return mask_to_frame(mask, frame.shape[1], frame.shape[0])


def compare_still(context, url, delegate, photo):
    """(page mask, its model runs, Python mask, Python's runs, delegate used) for one still photo:
    the page's `segmentStill` against `bgseg.Segmenter(refine=False, sharpen=1)` (the mirrored
    first look and the per-person looks, as `bgseg image` runs them)."""
    page = browser.open_page(context, f"{url}?delegate={delegate}")
    try:
        return compare_still_on(page, photo)
    finally:
        page.close()


def compare_still_on(page, photo, reference=None):
    """`compare_still` on a page already open (one page for many photos); `reference`: the
    `bgseg.Segmenter(refine=False, sharpen=1)` to reuse."""
    from bgseg import Segmenter

    reference = reference or Segmenter("default", refine=False, sharpen=1.0)
    expected = reference.segment(photo)
    mask, runs, used = browser.segment_photo_in_page(page, photo)
    return frame_sized(mask, photo), runs, expected, reference.timings["runs"], used


def real_photos(name, split, limit, data):
    """(key, RGB photo) of a held-out set of `benchmarks.heldout` (coco_mini or coco_person)."""
    import cv2

    from benchmarks import heldout

    reader = {"coco_mini": heldout.coco_mini, "coco_person": heldout.coco_person}[name]
    for key, bgr, _ in reader(Path(data) / name, limit, heldout.splits_of(split)):
        yield key, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def compare_photos(context, url, delegate, photos):
    """Per photo (key, IoU, mean |diff|, page runs, Python runs) of `segmentStill` against the
    Python segmenter, on one page; and the delegate used."""
    from bgseg import Segmenter

    reference = Segmenter("default", refine=False, sharpen=1.0)
    page = browser.open_page(context, f"{url}?delegate={delegate}")
    rows, used = [], None
    try:
        for key, photo in photos:
            mask, runs, want, want_runs, used = compare_still_on(page, photo, reference)
            rows.append((key, iou(mask, want), float(np.abs(mask - want).mean()), runs,
                         want_runs))
    finally:
        page.close()
    return rows, used


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delegates", default="GPU,CPU")
    parser.add_argument("--photos", choices=("coco_mini", "coco_person"),
                        help="also compare still photos of this held-out set")
    parser.add_argument("--split", choices=("val", "test", "both"), default="both")
    parser.add_argument("--limit", type=int, help="at most this many photos")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="../shared/data")
    args = parser.parse_args(argv)
    reason = browser.missing()
    if reason:
        raise SystemExit(f"web_parity: {reason}")
    if args.photos and not (Path(args.data) / args.photos).is_dir():
        raise SystemExit(f"web_parity: {Path(args.data) / args.photos} not found (--data: the "
                         f"shared data folder, see its README)")
    frames = browser.person_frames()
    with browser.served() as url, browser.chromium() as context:
        for delegate in args.delegates.split(","):
            masks, expected, used = compare(context, url, delegate, frames)
            ious = [iou(m, e) for m, e in zip(masks, expected)]
            diffs = [float(np.abs(m - e).mean()) for m, e in zip(masks, expected)]
            print(f"{used}: IoU per frame {' '.join(f'{v:.4f}' for v in ious)} "
                  f"(min {min(ious):.4f}); mean |diff| max {max(diffs):.4f}")
            mask, runs, want, want_runs, used = compare_still(context, url, delegate,
                                                              browser.group_photo())
            diff = float(np.abs(mask - want).mean())
            print(f"{used}: still photo IoU {iou(mask, want):.4f}, mean |diff| {diff:.4f}, "
                  f"model runs {runs} (Python {want_runs})")
            if args.photos:
                photos = real_photos(args.photos, args.split, args.limit, args.data)
                rows, used = compare_photos(context, url, delegate, photos)
                for key, value, diff, runs, want_runs in rows:
                    print(f"{used} {args.photos} {key}: IoU {value:.4f}, mean |diff| {diff:.4f}, "
                          f"runs {runs} (Python {want_runs})")
                ious = sorted(row[1] for row in rows)
                same = sum(row[3] == row[4] for row in rows)
                print(f"{used} {args.photos} ({len(rows)} photos, {args.split}): IoU min "
                      f"{ious[0]:.4f}, median {ious[len(ious) // 2]:.4f}, mean "
                      f"{np.mean(ious):.4f}; same model runs on {same} of {len(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
