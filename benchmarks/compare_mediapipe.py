"""Side-by-side benchmark: a bgseg .tflite model vs MediaPipe's selfie segmenter.

Both models run through the same `ai_edge_litert` Interpreter with the same threads, on the same
held-out frames of ../shared/data (split "val" + "test" of `bgseg.data.split`), with the same
pre-processing: the RGB frame stretched bilinearly to the model's HxW, scaled to [0, 1]; the output
probability resized bilinearly back to the frame and thresholded at 0.5. A 4-channel bgseg model
gets its previous output as the prior mask on video (zeros on a first frame and on still images).
This is the raw model: no post-processing.

    python benchmarks/compare_mediapipe.py --model model.tflite \
        --markdown out.md --json out.json --overlays out_overlays/

See docs/benchmarks.md ("Side by side with MediaPipe") for the metrics' definitions.
"""

import argparse
import heapq
import json
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import heldout  # noqa: E402  (benchmarks/heldout.py, next to this script)

from bgseg import evaluation  # noqa: E402

DEFAULT_MEDIAPIPE = (ROOT / ".venv-mediapipe" / "lib" / "python3.11" / "site-packages" / "mediapipe"
                     / "modules" / "selfie_segmentation" / "selfie_segmentation.tflite")
THRESHOLD = 0.5


class TFLiteModel:
    """A per-frame runner over the Interpreter that times `invoke` and the whole frame."""

    def __init__(self, name, path, threads, feedback=True):
        from ai_edge_litert.interpreter import Interpreter

        self.name, self.path, self.feedback = name, Path(path), feedback
        if not self.path.is_file():
            raise FileNotFoundError(f"{name}: model file not found: {self.path}")
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        self.interpreter.allocate_tensors()
        inputs, outputs = (
            self.interpreter.get_input_details(),
            self.interpreter.get_output_details(),
        )
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{name}: expected one input and one output tensor, got "
                             f"{len(inputs)} and {len(outputs)}")
        self._in, self._out = inputs[0], outputs[0]
        shape = tuple(int(d) for d in self._in["shape"])
        out_shape = tuple(int(d) for d in self._out["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] not in (3, 4):
            raise ValueError(f"{name}: input must be [1,H,W,3] or [1,H,W,4], got {list(shape)}")
        if out_shape != (1, shape[1], shape[2], 1):
            raise ValueError(
                f"{name}: output must be [1,{shape[1]},{shape[2]},1], got {list(out_shape)}"
            )
        _, self.height, self.width, self.channels = shape
        self.invoke_seconds, self.frame_seconds = [], []
        self.reset()
        for _ in range(3):  # warm-up, not timed
            self.interpreter.set_tensor(self._in["index"], np.zeros(shape, self._in["dtype"]))
            self.interpreter.invoke()

    def describe(self):
        return {"name": self.name, "path": str(self.path),
                "input": [1, self.height, self.width, self.channels],
                "input_dtype": np.dtype(self._in["dtype"]).name}

    def reset(self):
        """Forget the previous mask (start of a clip, or a still image)."""
        self.prior = np.zeros((self.height, self.width, 1), np.float32)

    def __call__(self, bgr):
        """Person probability of a BGR uint8 frame at the frame's size."""
        start = time.perf_counter()
        rgb = (
            cv2.cvtColor(
                cv2.resize(bgr, (self.width, self.height), interpolation=cv2.INTER_LINEAR),
                cv2.COLOR_BGR2RGB,
            ).astype(np.float32)
            / 255.0
        )
        x = np.concatenate([rgb, self.prior], axis=-1) if self.channels == 4 else rgb
        self.interpreter.set_tensor(self._in["index"], _quantize(x[None], self._in))
        invoke_start = time.perf_counter()
        self.interpreter.invoke()
        self.invoke_seconds.append(time.perf_counter() - invoke_start)
        prob = _dequantize(self.interpreter.get_tensor(self._out["index"]), self._out)[0]
        if not np.isfinite(prob).all():
            raise ValueError(f"{self.name}: the model output non-finite values ({self.path}); "
                             "a broken export (e.g. unfrozen VAR_HANDLE/READ_VARIABLE ops)?")
        prob = np.clip(prob, 0.0, 1.0)
        if self.feedback:
            self.prior = prob
        alpha = cv2.resize(
            prob[..., 0], (bgr.shape[1], bgr.shape[0]), interpolation=cv2.INTER_LINEAR
        )
        self.frame_seconds.append(time.perf_counter() - start)
        return alpha

    def timing(self):
        invoke, frame = np.array(self.invoke_seconds), np.array(self.frame_seconds)
        return {"frames": int(frame.size), "median_invoke_ms": float(np.median(invoke) * 1e3),
                "mean_frame_ms": float(frame.mean() * 1e3), "fps": float(frame.size / frame.sum())}


class RuntimeModel:
    """The same model through `bgseg.runtime.VideoSegmenter` with its post-processing (guided-filter
    refinement, optional temporal smoothing), for comparison with the raw model."""

    def __init__(self, name, path, threads, smoothing):
        from bgseg.runtime import VideoSegmenter

        self.name, self.path = name, Path(path)
        self.segmenter = VideoSegmenter(
            str(path), threads=threads, refine=True, smoothing=smoothing
        )
        self.smoothing = smoothing
        self.invoke_seconds, self.frame_seconds = [], []

    def describe(self):
        return {
            "name": self.name,
            "path": str(self.path),
            "runtime": "bgseg.runtime.VideoSegmenter",
            "refine": True,
            "smoothing": self.smoothing,
        }

    def reset(self):
        self.segmenter.reset()

    def __call__(self, bgr):
        start = time.perf_counter()
        alpha = self.segmenter(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self.frame_seconds.append(time.perf_counter() - start)
        self.invoke_seconds.append(self.segmenter.timings["invoke"])
        return alpha

    timing = TFLiteModel.timing


def _quantize(x, detail):
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return x.astype(np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(y, detail):
    if np.dtype(detail["dtype"]) == np.float32:
        return y
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * scale


class WorstItems:
    """The `k` items with the lowest IoU of the first model, rendered side by side when kept."""

    def __init__(self, k):
        self.k, self._heap, self._count = k, [], 0

    def offer(self, score, key, image, truth, alphas, ious):
        if self.k <= 0:
            return
        self._count += 1
        if len(self._heap) == self.k and -self._heap[0][0] <= score:
            return
        item = (-score, self._count, key, render_overlay(image, truth, alphas, ious))
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, item)
        else:
            heapq.heapreplace(self._heap, item)

    def items(self):
        """(iou, key, picture), worst first."""
        return [(-s, key, pic) for s, _, key, pic in sorted(self._heap, key=lambda t: -t[0])]


def render_overlay(image, truth, alphas, ious, height=240):
    """Image | truth | one panel per model; green = hit, red = false person, blue = missed
    person."""
    scale = height / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), height)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_truth = cv2.resize(truth.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    panels = [_label(small.copy(), "image"),
              _label(_tint(small, small_truth, small_truth), "truth")]
    for (name, alpha), score in zip(alphas.items(), ious):
        pred = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR) > THRESHOLD
        panels.append(_label(_tint(small, pred, small_truth), f"{name} IoU {score:.3f}"))
    return np.concatenate(panels, axis=1)


def _tint(image, pred, truth):
    out = image.astype(np.float32)
    for region, colour in (((pred & truth), (0, 200, 0)), ((pred & ~truth), (0, 0, 255)),
                           ((~pred & truth), (255, 80, 0))):
        out[region] = 0.45 * out[region] + 0.55 * np.array(colour, np.float32)
    return out.astype(np.uint8)


def _label(image, text):
    cv2.rectangle(image, (0, 0), (image.shape[1], 20), (0, 0, 0), -1)
    cv2.putText(
        image, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA
    )
    return image


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


def run_image_set(models, items, worst):
    """Mean IoU and solidity of every model on independent still images (prior reset for each)."""
    ious = {m.name: [] for m in models}
    solid = {m.name: Solidity() for m in models}
    for key, image, truth in items:
        alphas, scores = {}, []
        for model in models:
            model.reset()
            alphas[model.name] = model(image)
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
            per_video[path.name][name] = {"pairs": meter.pairs, **meter.result()}
            _accumulate(totals[name], meter.result(), meter.pairs)
    return {name: {"pairs": t["pairs"], **_means(t)} for name, t in totals.items()}, per_video


def _accumulate(total, result, pairs):
    for metric, value in result.items():
        total["sums"][metric] = total["sums"].get(metric, 0.0) + value * pairs
    total["pairs"] += pairs


def _means(total):
    return {m: s / total["pairs"] for m, s in total["sums"].items()} if total["pairs"] else {}


def markdown_table(report):
    """The results as a markdown table (one column per model)."""
    names = [m["name"] for m in report["models"]]
    ours = names[0]
    lines = [f"Command: `{report['command']}`", "",
             f"| metric | {' | '.join(names)} |", "|---|" + "---|" * len(names)]

    def row(label, values, fmt):
        cells = [("-" if v is None else fmt.format(v)) for v in values]
        lines.append(f"| {label} | {' | '.join(cells)} |")

    for set_name, result in report["images"].items():
        n = result[ours]["items"]
        row(f"IoU, {set_name} ({n} images)", [result[n_]["iou"] for n_ in names], "{:.3f}")
    for set_name, result in [*report["images"].items(), ("DAVIS", report.get("davis"))]:
        if result and result[ours].get("solid_interior") is not None:
            row(
                f"solid interior / background (%), {set_name}",
                [
                    f"{100 * result[n_]['solid_interior']:.1f} / "
                    f"{100 * result[n_]['solid_background']:.1f}"
                    for n_ in names
                ],
                "{}",
            )
    if report.get("davis"):
        d = report["davis"]
        clips = ", ".join(report["davis_clips"])
        row(f"IoU, DAVIS held-out clips ({d[ours]['frames']} frames: {clips})",
            [d[n]["iou"] for n in names], "{:.3f}")
        row("dtSSD x100, DAVIS (lower is steadier)", [d[n].get("dtssd") for n in names], "{:.2f}")
        row("label flips where truth is steady, DAVIS (%)",
            [_pct(d[n].get("unstable_flip_rate")) for n in names], "{:.3f}")
    if report.get("videos"):
        v = report["videos"]
        row(f"label flip rate, unlabelled videos ({v[ours]['pairs']} frame pairs) (%)",
            [_pct(v[n].get("flip_rate")) for n in names], "{:.3f}")
        row("mean abs(a_t - a_{t-1}), unlabelled videos (x100)",
            [_pct(v[n].get("mean_abs_change")) for n in names], "{:.3f}")
    t = report["timing"]
    row(
        f"median invoke (ms, {report['threads']} threads)",
        [t[n]["median_invoke_ms"] for n in names],
        "{:.2f}",
    )
    row(
        "end-to-end frames/s (resize + invoke + resize back)",
        [t[n]["fps"] for n in names],
        "{:.1f}",
    )
    lines.append("")
    for name, ratio in report["ratios"].items():
        lines.append(f"{name} / MediaPipe: invoke time x{ratio['invoke_time']:.2f}, "
                     f"frames/s x{ratio['fps']:.2f}.")
    return "\n".join(lines) + "\n"


def _pct(value):
    return None if value is None else 100.0 * value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the bgseg .tflite model")
    p.add_argument(
        "--name", default="bgseg", help="column name of the bgseg model (default: bgseg)"
    )
    p.add_argument("--without-feedback", action="store_true",
                   help="add a column for the same model given an empty prior on every frame "
                        "(tells what the fed-back mask adds or costs)")
    p.add_argument("--also", nargs="+", default=[], metavar="NAME=PATH",
                   help="more .tflite models for more columns (e.g. the converted original)")
    p.add_argument("--mediapipe", default=str(DEFAULT_MEDIAPIPE),
                   help="MediaPipe selfie_segmentation.tflite (default: the one inside "
                        ".venv-mediapipe, from the mediapipe==0.10.21 wheel)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"),
                   help="the shared data folder (default: ../shared/data)")
    p.add_argument(
        "--sets",
        nargs="+",
        default=[*heldout.IMAGE_SETS, "davis", "videos"],
        choices=[*heldout.IMAGE_SETS, "davis", "videos"],
        help="what to measure (default: all)",
    )
    p.add_argument("--split", choices=("val", "test", "both"), default="both",
                   help="held-out split(s) to measure: val to choose between candidates, test for "
                        "an untouched report (default: both)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many held-out images per image set and frames per DAVIS clip")
    p.add_argument("--video-frames", type=int, default=150,
                   help="frames read from each unlabelled video (default: 150)")
    p.add_argument(
        "--threads", type=int, default=2, help="interpreter threads for both models (default: 2)"
    )
    p.add_argument("--with-runtime", action="store_true",
                   help="add a column for the model through bgseg.runtime.VideoSegmenter with its "
                        "post-processing (guided-filter refinement)")
    p.add_argument("--smoothing", type=float, default=0.0,
                   help="temporal smoothing of the --with-runtime column (default: 0, off)")
    p.add_argument("--markdown", help="also write the markdown table to this file")
    p.add_argument(
        "--json", help="write all results (per set, clip and video) as JSON to this file"
    )
    p.add_argument(
        "--overlays", help="folder for PNGs of the worst items (by the bgseg model's IoU)"
    )
    p.add_argument("--worst", type=int, default=4, help="overlays per set (default: 4)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    if args.video_frames < 2:
        p.error("--video-frames must be at least 2")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    for option in ("markdown", "json"):
        path = getattr(args, option)
        if path and Path(path).exists() and not args.overwrite:
            p.error(f"--{option}: {path} exists (pass --overwrite to replace it)")
    if args.overlays and Path(args.overlays).exists() and any(Path(args.overlays).iterdir()) \
            and not args.overwrite:
        p.error(f"--overlays: {args.overlays} is not empty (pass --overwrite to write into it)")
    if args.name.startswith("MediaPipe"):
        p.error("--name must not start with 'MediaPipe'")
    return args


def main(argv=None):
    args = parse_args(argv)
    heldout.use_splits(("val", "test") if args.split == "both" else (args.split,))
    command = shlex.join([Path(sys.executable).name, *sys.argv] if argv is None
                         else ["python", "benchmarks/compare_mediapipe.py", *argv])
    data = Path(args.data)
    if not data.is_dir():
        raise SystemExit(f"error: data folder not found: {data} (see the data README)")
    if not Path(args.mediapipe).is_file():
        raise SystemExit(
            f"error: MediaPipe model not found: {args.mediapipe}\n"
            "install it with: python -m venv .venv-mediapipe && "
            ".venv-mediapipe/bin/pip install mediapipe==0.10.21, or pass --mediapipe PATH"
        )
    try:
        models = [TFLiteModel(args.name, args.model, args.threads)]
        if args.without_feedback:
            models.append(TFLiteModel(f"{args.name} (zero prior)", args.model, args.threads,
                                      feedback=False))
        if args.with_runtime:
            models.append(RuntimeModel(f"{args.name} + runtime", args.model, args.threads,
                                       args.smoothing))
        for spec in args.also:
            name, _, path = spec.partition("=")
            if not path:
                raise ValueError(f"--also {spec!r}: expected NAME=PATH")
            models.append(TFLiteModel(name, path, args.threads))
        models.append(TFLiteModel("MediaPipe", args.mediapipe, args.threads))
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    report = {"command": command, "threads": args.threads, "threshold": THRESHOLD,
              "models": [m.describe() for m in models], "images": {}}
    worst = {}
    started = time.perf_counter()
    readers = {"celebamask": lambda: heldout.folder_pairs(data / "celebamask", args.limit),
               "ccp": lambda: heldout.folder_pairs(data / "ccp", args.limit),
               "coco_person": lambda: heldout.coco_person(data / "coco_person", args.limit)}
    for set_name in heldout.IMAGE_SETS:
        if set_name in args.sets:
            worst[set_name] = WorstItems(args.worst if args.overlays else 0)
            report["images"][set_name] = run_image_set(models, readers[set_name](), worst[set_name])
            _progress(set_name, report["images"][set_name], started)
    if "davis" in args.sets:
        root = data / "davis_train"
        report["davis_clips"] = heldout.davis_clips(root)
        worst["davis"] = WorstItems(args.worst if args.overlays else 0)
        clips = {c: heldout.davis_frames(root, c, args.limit) for c in report["davis_clips"]}
        report["davis"], report["davis_per_clip"] = run_clips(models, clips, worst["davis"])
        _progress("davis", report["davis"], started)
    if "videos" in args.sets:
        videos = sorted((data / "videos").glob("*.mp4"))
        if not videos:
            raise SystemExit(f"error: no .mp4 files in {data / 'videos'}")
        report["videos"], report["videos_per_file"] = run_videos(models, videos, args.video_frames)
        _progress("videos", report["videos"], started)
    report["timing"] = {m.name: m.timing() for m in models}
    theirs = report["timing"]["MediaPipe"]
    report["ratios"] = {m.name: {"invoke_time": report["timing"][m.name]["median_invoke_ms"]
                                 / theirs["median_invoke_ms"],
                                 "fps": report["timing"][m.name]["fps"] / theirs["fps"]}
                        for m in models[:-1]}
    report["seconds"] = time.perf_counter() - started

    table = markdown_table(report)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.overlays:
        out = Path(args.overlays)
        out.mkdir(parents=True, exist_ok=True)
        for set_name, items in worst.items():
            for rank, (_score, key, picture) in enumerate(items.items()):
                name = f"{set_name}_{rank:02d}_{key.replace('/', '_')}.png"
                cv2.imwrite(str(out / name), picture)
    return 0


def _progress(name, result, started):
    print(
        f"[{time.perf_counter() - started:6.1f}s] {name}: "
        + ", ".join(
            f"{model} IoU {r['iou']:.3f}"
            if r.get("iou") is not None
            else f"{model} flips {100 * r.get('flip_rate', float('nan')):.3f}%"
            for model, r in result.items()
        ),
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
