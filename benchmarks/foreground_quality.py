"""Does foreground colour estimation keep the old backdrop out of the edges, and what does it cost?

    python -m benchmarks.foreground_quality [--limit 30] [--data /work/shared/data]

Held-out people (`celebamask`, `ccp`; `benchmarks.heldout`) are composed with their truth masks
onto backdrops from `backgrounds/sun` (picked in sorted order), bgseg's image model cuts them out,
and the cut-out is composed onto a dark new background (RGB 20, 20, 20). The truth composite is
the person over the same dark background with the truth mask. Reported: the mean absolute colour
error (0-255, over RGB) inside a 5-pixel band around the true boundary (and, as "halo", in its
outer half, where the truth is background), without estimation, with
bgseg's blur-fusion (`bgseg.foreground`) and with pymatting's `estimate_foreground_ml` (when
installed), and each method's time per megapixel (its first call, numba's JIT for pymatting,
reported apart). No TensorFlow is imported.
"""

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.heldout import DEFAULT_DATA, folder_pairs
from bgseg.effects import composite, cover
from bgseg.foreground import estimate_foreground
from bgseg.runtime import load

DARK = (20, 20, 20)


def _band(truth, width=5):
    kernel = np.ones((2 * width + 1,) * 2, np.uint8)
    mask = truth.astype(np.uint8)
    return (cv2.dilate(mask, kernel) - cv2.erode(mask, kernel)) > 0


def _pymatting():
    """(estimate function, import seconds), or None when pymatting is not installed."""
    start = time.perf_counter()
    try:
        from pymatting import estimate_foreground_ml
    except ModuleNotFoundError:
        return None

    def run(image, alpha):
        fg = estimate_foreground_ml(image.astype(np.float64) / 255.0, alpha.astype(np.float64))
        return np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)

    return run, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=30, help="people per data set")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    backdrops = sorted((args.data / "backgrounds" / "sun").glob("*.jpg"))
    if not backdrops:
        raise SystemExit(f"no backdrops in {args.data / 'backgrounds' / 'sun'}")
    methods = {"none": lambda image, alpha: image, "blur-fusion (bgseg)": estimate_foreground}
    pymatting = _pymatting()
    first_call = {}
    if pymatting is not None:
        methods["pymatting estimate_foreground_ml"] = pymatting[0]
        probe = np.zeros((64, 64, 3), np.uint8), np.full((64, 64), 0.5, np.float32)
        start = time.perf_counter()
        pymatting[0](*probe)
        first_call["pymatting estimate_foreground_ml"] = time.perf_counter() - start
    segmenter = load("default_image", kind="image")
    errors = {name: {} for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    megapixels, count = 0.0, 0
    for dataset in ("celebamask", "ccp"):
        for _key, bgr, truth in folder_pairs(args.data / dataset, args.limit):
            person = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            height, width = truth.shape
            old = cv2.cvtColor(cover(cv2.imread(str(backdrops[count % len(backdrops)])),
                                     width, height), cv2.COLOR_BGR2RGB)
            alpha = truth.astype(np.float32)
            image = composite(person, alpha, old)
            dark = np.empty_like(image)
            dark[:] = DARK
            expected = composite(person, alpha, dark).astype(np.float32)
            band = _band(truth)
            mask = segmenter.segment(image)
            for name, method in methods.items():
                start = time.perf_counter()
                foreground = method(image, mask)
                seconds[name] += time.perf_counter() - start
                result = composite(foreground, mask, dark).astype(np.float32)
                error = np.abs(result - expected)
                errors[name].setdefault(dataset, []).append(float(error[band].mean()))
                errors[name].setdefault(dataset + " halo", []).append(
                    float(error[band & ~truth].mean()))
            megapixels += height * width / 1e6
            count += 1
    print(f"{count} held-out people, {megapixels:.2f} MP in all")
    columns = ("celebamask", "celebamask halo", "ccp", "ccp halo")
    print(f"| method | {' | '.join(columns)} | ms per MP |")
    print("|---|---|---|---|---|---|")
    for name in methods:
        cells = " | ".join(f"{np.mean(errors[name][c]):.2f}" for c in columns)
        print(f"| {name} | {cells} | {1000 * seconds[name] / megapixels:.0f} |")
    if pymatting is not None:
        print(f"pymatting: import {pymatting[1]:.2f} s, first call (numba JIT) "
              f"{first_call['pymatting estimate_foreground_ml']:.2f} s")


if __name__ == "__main__":
    main()
