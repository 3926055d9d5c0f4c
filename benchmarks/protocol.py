"""How a comparison runs the models over the held-out data: still images, DAVIS clips in order
with the mask fed back, unlabelled videos; all metrics from `bgseg.evaluation`."""


import numpy as np

from benchmarks import heldout
from benchmarks.runners import THRESHOLD
from bgseg import evaluation


class Solidity:
    """Mean interior / background solidity (`bgseg.evaluation.solidity`) over items."""

    def __init__(self):
        self.values = {"interior": [], "background": []}

    def update(self, alpha, truth):
        for key, value in zip(("interior", "background"), evaluation.solidity(alpha, truth)):
            if value is not None:
                self.values[key].append(value)

    def result(self):
        return {f"solid_{k}": float(np.mean(v)) if v else None for k, v in self.values.items()}


def still(model, image):
    """`model`'s person probability of an independent still photo: a runtime model's `still()`
    (what `bgseg image` runs) where it has one, else its per-frame call."""
    return model.still(image) if hasattr(model, "still") else model(image)


def run_image_set(models, items, worst):
    """Mean IoU and solidity of every model on independent still images (prior reset for each;
    a runtime model's `still()` where it has one)."""
    ious = {m.name: [] for m in models}
    solid = {m.name: Solidity() for m in models}
    for key, image, truth in items:
        alphas, scores = {}, []
        for model in models:
            model.reset()
            alphas[model.name] = still(model, image)
            scores.append(evaluation.iou(evaluation.binarize(alphas[model.name], THRESHOLD), truth))
            ious[model.name].append(scores[-1])
            solid[model.name].update(alphas[model.name], truth)
        worst.offer(scores[0], key, image, truth, alphas, scores)
    return {name: {"items": len(v), "iou": float(np.mean(v)) if v else None, **solid[name].result()}
            for name, v in ious.items()}


def run_clips(models, clips, worst):
    """IoU over all frames and temporal metrics over all frame pairs of labelled clips run in order
    (`clips`: clip name -> iterator of (key, image, truth)); also per clip."""
    totals = {m.name: {"ious": [], "sums": {}, "pairs": 0} for m in models}
    solid = {m.name: Solidity() for m in models}
    per_clip = {}
    for clip, frames in clips.items():
        meters = {m.name: evaluation.TemporalMeter(THRESHOLD) for m in models}
        clip_ious = {m.name: [] for m in models}
        for model in models:
            model.reset()
        for key, image, truth in frames:
            alphas, scores = {}, []
            for model in models:
                alphas[model.name] = model(image)
                meters[model.name].update(alphas[model.name], truth)
                solid[model.name].update(alphas[model.name], truth)
                scores.append(
                    evaluation.iou(evaluation.binarize(alphas[model.name], THRESHOLD), truth)
                )
                clip_ious[model.name].append(scores[-1])
            worst.offer(scores[0], key, image, truth, alphas, scores)
        per_clip[clip] = {}
        for name, meter in meters.items():
            result = meter.result()
            per_clip[clip][name] = {
                "frames": len(clip_ious[name]),
                "iou": float(np.mean(clip_ious[name])) if clip_ious[name] else None,
                **result,
                "per_frame": {"iou": clip_ious[name], **meter.per_pair},
            }
            _accumulate(totals[name], result, meter.pairs)
            totals[name]["ious"].extend(clip_ious[name])
    summary = {}
    for name, t in totals.items():
        summary[name] = {
            "frames": len(t["ious"]),
            "iou": float(np.mean(t["ious"])) if t["ious"] else None,
            "pairs": t["pairs"],
            **_means(t),
            **solid[name].result(),
        }
    return summary, per_clip


def run_videos(models, videos, max_frames):
    """Flicker (flip rate, mean |a_t - a_{t-1}|) on unlabelled videos run in order."""
    totals = {m.name: {"sums": {}, "pairs": 0} for m in models}
    per_video = {}
    for path in videos:
        meters = {m.name: evaluation.TemporalMeter(THRESHOLD) for m in models}
        for model in models:
            model.reset()
        for frame in heldout.video_frames(path, max_frames):
            for model in models:
                meters[model.name].update(model(frame))
        per_video[path.name] = {}
        for name, meter in meters.items():
            per_video[path.name][name] = {"pairs": meter.pairs, **meter.result(),
                                          "per_frame": meter.per_pair}
            _accumulate(totals[name], meter.result(), meter.pairs)
    return {name: {"pairs": t["pairs"], **_means(t)} for name, t in totals.items()}, per_video


def _accumulate(total, result, pairs):
    for metric, value in result.items():
        total["sums"][metric] = total["sums"].get(metric, 0.0) + value * pairs
    total["pairs"] += pairs


def _means(total):
    return {m: s / total["pairs"] for m, s in total["sums"].items()} if total["pairs"] else {}
