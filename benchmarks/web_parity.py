"""The web app's masks vs the Python runtime's, per frame, in the system's headless Chromium.

    python -m benchmarks.web_parity --delegates GPU,CPU

Feeds `browser.person_frames()` (8 frames, a person moving, small enough to be zoomed on) to the
page's segmenter as one stream and to `bgseg.VideoSegmenter(refine=False, sharpen=1)` (the raw
frame-shaped masks) and prints the IoU of the masks thresholded at 0.5 and the mean absolute
difference, per frame; then the same for one still photo of two people
(`browser.group_photo()`), the page's `segmentStill` against `bgseg.Segmenter(refine=False,
sharpen=1)`. `tests/test_web.py` asserts the same comparison.
"""

import argparse

import numpy as np

from benchmarks import browser


def iou(a, b, threshold=0.5):
    a, b = a > threshold, b > threshold
    return float((a & b).sum() / max((a | b).sum(), 1))


def compare(context, url, delegate, frames):
    """(page masks, Python masks, delegate used) for `frames` on one delegate."""
    from bgseg import VideoSegmenter

    reference = VideoSegmenter("default", refine=False, sharpen=1.0, smoothing=0.0, motion=False)
    expected = [reference.segment(frame) for frame in frames]
    page = browser.open_page(context, f"{url}?delegate={delegate}")
    masks, _, used = browser.segment_in_page(page, frames)
    page.close()
    return masks, expected, used


def compare_still(context, url, delegate, photo):
    """(page mask, its model runs, Python mask, Python's runs, delegate used) for one still photo:
    the page's `segmentStill` against `bgseg.Segmenter(refine=False, sharpen=1)` (the mirrored
    first look and the per-person looks, as `bgseg image` runs them)."""
    from bgseg import Segmenter

    reference = Segmenter("default", refine=False, sharpen=1.0)
    expected = reference.segment(photo)
    page = browser.open_page(context, f"{url}?delegate={delegate}")
    mask, runs, used = browser.segment_photo_in_page(page, photo)
    page.close()
    return mask, runs, expected, reference.timings["runs"], used


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delegates", default="GPU,CPU")
    args = parser.parse_args(argv)
    reason = browser.missing()
    if reason:
        raise SystemExit(f"web_parity: {reason}")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
