"""The fed-back loop frame by frame: what the previous-mask channel adds or costs on DAVIS.

Runs a 4-channel model on every held-out DAVIS clip twice, once with its previous output fed back
(as the runtime does) and once with an empty prior on every frame, and reports per clip: IoU,
false-positive and false-negative pixels (share of the frame) under both, and the frames where
feedback loses most, with whether the loss is extra person (a region kept alive by the loop) or
missing person (the loop dropping a part). Same pre-processing as benchmarks.compare_mediapipe.

    python -m benchmarks.feedback_loop --model model.tflite [--json out.json]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks import heldout
from benchmarks.runners import THRESHOLD, RawModel
from bgseg import evaluation


def run_clip(model_fb, model_zero, frames):
    rows = []
    model_fb.reset()
    model_zero.reset()
    for key, image, truth in frames:
        row = {"frame": key}
        for name, model in (("feedback", model_fb), ("zero", model_zero)):
            pred = evaluation.binarize(model(image), THRESHOLD)
            row[name] = {"iou": evaluation.iou(pred, truth),
                         "fp": float((pred & ~truth).mean()), "fn": float((~pred & truth).mean())}
        rows.append(row)
    return rows


def summarize(rows):
    out = {}
    for name in ("feedback", "zero"):
        out[name] = {k: float(np.mean([r[name][k] for r in rows])) for k in ("iou", "fp", "fn")}
    deltas = sorted(rows, key=lambda r: r["feedback"]["iou"] - r["zero"]["iou"])
    out["worst_frames"] = [
        {"frame": r["frame"], "delta_iou": r["feedback"]["iou"] - r["zero"]["iou"],
         "extra_fp": r["feedback"]["fp"] - r["zero"]["fp"],
         "extra_fn": r["feedback"]["fn"] - r["zero"]["fn"]} for r in deltas[:3]]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a 4-channel bgseg .tflite")
    p.add_argument("--data", default=str(heldout.DEFAULT_DATA))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write the per-clip summary here")
    args = p.parse_args(argv)
    davis = Path(args.data) / "davis_train"
    model_fb = RawModel("feedback", args.model, args.threads)
    if model_fb.channels != 4:
        raise SystemExit("error: the model has no previous-mask channel")
    model_zero = RawModel("zero", args.model, args.threads, feedback=False)
    report = {}
    print(
        "| clip | IoU fed back | IoU empty prior | FP % fed back / empty | FN % fed back / empty |"
    )
    print("|---|---|---|---|---|")
    for clip in heldout.davis_clips(davis):
        s = summarize(run_clip(model_fb, model_zero, heldout.davis_frames(davis, clip)))
        report[clip] = s
        fb, zero = s["feedback"], s["zero"]
        print(f"| {clip} | {fb['iou']:.3f} | {zero['iou']:.3f} | {100 * fb['fp']:.2f} / "
              f"{100 * zero['fp']:.2f} | {100 * fb['fn']:.2f} / {100 * zero['fn']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
