"""What the runtime's optional post-processing does to mask quality, on held-out data.

    python -m benchmarks.postprocess_quality --model MODEL.tflite [--limit 60]

Images (`ccp`, `celebamask`; held-out per `bgseg.data.split`): IoU at 0.5 and the mean absolute
error inside a 5-pixel band around the true boundary, for each step added in turn: bare (no
refinement, no sharpening), guided-filter refinement, sharpening (the runtime's default), zoom off.
Video (DAVIS clips `hike`, `lucia`, `swing`, in order, mask feedback on, the runtime's defaults
with refinement off): IoU, dtSSD (x100) and flip rate, without and with temporal smoothing. Reads
`../shared/data`; exits with a message when it is absent. No TensorFlow is imported.
"""

import argparse

import cv2
import numpy as np

from benchmarks.heldout import DEFAULT_DATA
from bgseg import evaluation
from bgseg.data.split import split_of
from bgseg.io import read_image
from bgseg.runtime import Segmenter, VideoSegmenter

DATA = DEFAULT_DATA
CLIPS = ("hike", "lucia", "swing")
IMAGE_STEPS = (("bare (refine off, sharpen 1)", {"refine": False, "sharpen": 1.0}),
               ("refine", {"refine": True, "sharpen": 1.0}),
               ("refine + sharpen 2 (default)", {"refine": True, "sharpen": 2.0}),
               ("default without zoom", {"zoom": False}))


def _rgb(path):
    return read_image(path)


def _truth(path):
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127


def _boundary_mae(alpha, truth, width=5):
    kernel = np.ones((2 * width + 1,) * 2, np.uint8)
    g = truth.astype(np.uint8)
    band = (cv2.dilate(g, kernel) - cv2.erode(g, kernel)) > 0
    return float(np.abs(alpha - g)[band].mean())


def images(model, threads, limit):
    for name in ("ccp", "celebamask"):
        files = [p for p in sorted((DATA / name / "images").glob("*.jpg"))
                 if split_of(p.stem) != "train"][:limit]
        pairs = [(_rgb(p), _truth(DATA / name / "masks" / f"{p.stem}.png")) for p in files]
        for label, options in IMAGE_STEPS:
            seg = Segmenter(model, threads=threads, **options)
            alphas = [seg.segment(image) for image, _ in pairs]
            iou = np.mean([evaluation.iou(a > 0.5, t) for a, (_, t) in zip(alphas, pairs)])
            mae = np.mean([_boundary_mae(a, t) for a, (_, t) in zip(alphas, pairs)])
            print(f"| {name} ({len(pairs)} images) | {label} | {iou:.4f} | {mae:.4f} |")


def video(model, threads, limit, ratio):
    root = DATA / "davis_train"
    for smoothing in (0.0, ratio):
        seg = VideoSegmenter(model, threads=threads, refine=False, smoothing=smoothing)
        ious, temporal = [], []
        for clip in CLIPS:
            seg.reset()
            meter = evaluation.TemporalMeter()
            for frame in sorted((root / "JPEGImages" / "480p" / clip).glob("*.jpg"))[:limit]:
                truth = _truth(root / "Annotations" / "480p" / clip / f"{frame.stem}.png")
                alpha = seg.segment(_rgb(frame))
                ious.append(evaluation.iou(alpha > 0.5, truth))
                meter.update(alpha, truth)
            temporal.append(meter.result())
        print(f"| DAVIS {'/'.join(CLIPS)} ({len(ious)} frames) | smoothing {smoothing:g} | "
              f"{np.mean(ious):.4f} | {np.mean([t['dtssd'] for t in temporal]):.3f} | "
              f"{np.mean([t['flip_rate'] for t in temporal]):.5f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help=".tflite path or shipped name")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=60, help="images per set / frames per clip")
    parser.add_argument("--smoothing", type=float, default=0.7, help="ratio compared with 0")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"data folder {DATA} not found (see ../shared/data/README.md)")
    print("| set | post-processing | IoU | boundary MAE (5 px) |\n|---|---|---|---|")
    images(args.model, args.threads, args.limit)
    print("\n| set | post-processing | IoU | dtSSD x100 | flip rate |\n|---|---|---|---|---|")
    video(args.model, args.threads, args.limit, args.smoothing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
