"""Run bgseg `.tflite` files on the real TFLite GPU delegate (OpenGL ES) through MediaPipe Tasks.

On a machine without a GPU, Mesa's llvmpipe provides OpenGL ES 3.2 in software (EGL surfaceless), so
the delegate really compiles and runs every op as GL compute shaders. Runs in the MediaPipe virtual
environment (`tflite/setup_mediapipe_venv.sh`; mediapipe pins numpy 1.26, which clashes with bgseg):

    .venv-mediapipe/bin/python tflite/gpu_delegate_check.py tflite/*.tflite
    .venv-mediapipe/bin/python tflite/gpu_delegate_check.py bad.tflite --expect-failure

Each model runs in a fresh subprocess per delegate: an `ImageSegmenter` (the file needs bgseg's
segmenter metadata) in IMAGE mode, and for 4-channel models also in VIDEO mode, each frame an RGBA
image whose alpha is the previous mask. A model passes when the GPU run's log has `Created
TensorFlow Lite delegate for GPU` and the expected renderer (`llvmpipe`), none of the fallback
messages (`not supported by GPU delegate`, `Restored original execution plan`, `will run on the
CPU`), the masks are not all zero (some unsupported ops exit 0 with an empty mask), and they match
the CPU delegate's masks and the ai-edge-litert interpreter's output on the very same input tensors
(`--reference-python`, bgseg's main environment) within the tolerance. Full-integer (int8) files are
CPU/NNAPI files: the OpenGL delegate declines integer kernels (recorded as expected), and their CPU
delegate masks must match the interpreter. Exit status 0 when every model meets the expectation
(pass, or fail with `--expect-failure`).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

REQUIRED_LOG = ("Created TensorFlow Lite delegate for GPU",)
FORBIDDEN_LOG = ("not supported by GPU delegate", "Restored original execution plan",
                 "will run on the CPU")
VIDEO_FRAMES = 3

# The CPU reference, computed in bgseg's main environment (numpy 2) by the project's one TFLite
# runner (`bgseg.runtime.TFLiteModel`: contract check, quantized I/O) with the contract's scaling.
REFERENCE_CODE = """
import sys, numpy as np
from bgseg import contract
from bgseg.runtime import TFLiteModel
frames = np.load(sys.argv[2])["frames"]
model = TFLiteModel(sys.argv[1])
np.save(sys.argv[3], model.predict(frames[..., :model.channels] * contract.SCALE)[..., 0])
"""


def model_info(path):
    """((H, W, C) of the input, integer activations?, any int8/uint8 tensor?) of a `.tflite`
    file."""
    from mediapipe.tasks.metadata import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytearray(pathlib.Path(path).read_bytes()), 0)
    graph = model.Subgraphs(0)
    shape = graph.Tensors(graph.Inputs(0)).ShapeAsNumpy()
    int_types = (schema.TensorType.INT8, schema.TensorType.UINT8)
    tensors = [graph.Tensors(i) for i in range(graph.TensorsLength())]
    quantized = any(t.Type() in int_types for t in tensors)
    integer = any(t.Type() in int_types and model.Buffers(t.Buffer()).DataLength() == 0
                  for t in tensors)  # a non-constant integer tensor: integer activations
    return tuple(int(d) for d in shape[1:]), integer, quantized


def test_image(height, width, image_path=None):
    """An RGB uint8 frame at model resolution: a photo if given, else a bright ellipse on a ramp."""
    if image_path:
        import cv2

        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"cannot read image {image_path}")
        return cv2.cvtColor(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2RGB)
    yy, xx = np.mgrid[:height, :width]
    image = np.stack([xx / width, yy / height, 0.5 * (xx + yy) / (width + height)], -1) * 120
    inside = ((yy - height / 2) / (0.35 * height)) ** 2 + (
        (xx - width / 2) / (0.2 * width)
    ) ** 2 < 1
    image[inside] += 120
    return np.clip(image, 0, 255).astype(np.uint8)


def worker(model_path, delegate, out_path, image_path):
    """Run in a fresh process: segment with one delegate, save the exact input frames and masks."""
    import mediapipe as mp
    from mediapipe.tasks import python as mp_tasks
    from mediapipe.tasks.python import vision

    (height, width, channels), _, _ = model_info(model_path)
    base = mp_tasks.BaseOptions(model_asset_path=str(model_path),
                                delegate=getattr(mp_tasks.BaseOptions.Delegate, delegate.upper()))
    rgb = test_image(height, width, image_path)
    frames, masks = [], []

    def run(segmenter, frame, timestamp=None):
        fmt = mp.ImageFormat.SRGBA if frame.shape[-1] == 4 else mp.ImageFormat.SRGB
        image = mp.Image(image_format=fmt, data=np.ascontiguousarray(frame))
        result = (segmenter.segment(image) if timestamp is None
                  else segmenter.segment_for_video(image, timestamp))
        mask = np.array(result.confidence_masks[0].numpy_view(), np.float32).reshape(height, width)
        frames.append(frame)
        masks.append(mask)
        return mask

    def make(mode):
        return vision.ImageSegmenter.create_from_options(vision.ImageSegmenterOptions(
            base_options=base, running_mode=mode, output_confidence_masks=True,
            output_category_mask=False))

    first = rgb if channels == 3 else np.dstack([rgb, np.zeros_like(rgb[..., 0])])
    with make(vision.RunningMode.IMAGE) as segmenter:
        run(segmenter, first)
    if channels == 4:
        with make(vision.RunningMode.VIDEO) as segmenter:
            mask = np.zeros((height, width), np.float32)
            for t in range(VIDEO_FRAMES):
                alpha = np.clip(np.round(mask * 255), 0, 255).astype(np.uint8)
                mask = run(segmenter, np.dstack([np.roll(rgb, 2 * t, axis=1), alpha]), t * 33)
    np.savez(out_path, frames=np.stack(frames), masks=np.stack(masks))
    print(f"masks: {len(masks)} x {height}x{width}, range [{min(m.min() for m in masks):.4f}, "
          f"{max(m.max() for m in masks):.4f}]")


def _run_worker(model, delegate, out_path, image):
    env = {**os.environ, "EGL_PLATFORM": "surfaceless"}
    command = [sys.executable, __file__, "--worker", delegate, str(model), str(out_path)]
    if image:
        command += ["--image", str(image)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def _reference(python, model, frames_path, out_path):
    proc = subprocess.run(
        [python, "-c", REFERENCE_CODE, str(model), str(frames_path), str(out_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )
    if proc.returncode:
        return None, proc.stderr.strip().splitlines()[-1:] or ["reference failed"]
    return np.load(out_path), []


def _gpu_problems(log, masks, renderer):
    problems = [f"log lacks '{text}'" for text in REQUIRED_LOG if text not in log]
    if renderer and f"renderer: {renderer}" not in log:
        problems.append(f"renderer is not {renderer}")
    problems += [f"log says '{text}'" for text in FORBIDDEN_LOG if text.lower() in log.lower()]
    if masks is not None and not np.any(masks):
        problems.append("GPU masks are all zero")
    return problems


def check_model(model, args, workdir):
    """Run one model; return a dict report whose `passed` is the verdict.

    Float models must run wholly on the GPU delegate and match the CPU. Full-integer (int8) models
    are CPU/NNAPI files: the OpenGL delegate declines them (recorded, expected), and their CPU
    delegate run must match the interpreter instead.
    """
    (height, width, channels), integer, quantized = model_info(model)
    # float: MediaPipe's own selfie_segmentation.tflite differs by 0.051 between the GPU delegate
    # (float16 arithmetic) and the CPU on examples/astronaut.jpg, at single edge pixels
    tolerance = args.tolerance or (0.15 if quantized else 0.06)
    report = {"model": str(model), "input": [1, height, width, channels], "integer": integer,
              "tolerance": tolerance, "problems": []}
    problems = report["problems"]
    runs = {}
    for delegate in ("gpu", "cpu"):
        out = workdir / f"{delegate}.npz"
        code, log = _run_worker(model, delegate, out, args.image)
        report[f"{delegate}_log"] = [
            line.strip()[-120:]
            for line in log.splitlines()
            if any(
                k in line
                for k in ("delegate", "renderer", "GPU", "CPU", "masks:", "OP is", "Operation")
            )
        ]
        if code:
            problems.append(
                f"{delegate.upper()} run exited {code}: {log.strip().splitlines()[-1:]}"
            )
            continue
        runs[delegate] = (np.load(out), log, out)
    if "gpu" in runs:
        gpu_problems = _gpu_problems(runs["gpu"][1], runs["gpu"][0]["masks"], args.renderer)
        if integer:  # expected: the GPU delegate leaves integer kernels to the CPU
            report["gpu_delegate"] = "declined (integer model)" if gpu_problems else "accepted"
        else:
            report["gpu_delegate"] = "ran every op" if not gpu_problems else "incomplete"
            problems += gpu_problems
    checked = runs.get("cpu" if integer else "gpu")
    if integer and checked is not None and not np.any(checked[0]["masks"]):
        problems.append("CPU-delegate masks are all zero")
    if not integer and "gpu" in runs and "cpu" in runs:
        # frame 0 (IMAGE mode) has identical inputs; video frames depend on the fed-back masks
        gpu, cpu = runs["gpu"][0], runs["cpu"][0]
        n = len(gpu["masks"]) if np.array_equal(gpu["frames"], cpu["frames"]) else 1
        report["max_diff_gpu_vs_cpu_delegate"] = float(
            np.abs(gpu["masks"][:n] - cpu["masks"][:n]).max()
        )
    if args.reference_python and checked is not None:
        reference, errors = _reference(
            args.reference_python, model, checked[2], workdir / "ref.npy"
        )
        if reference is None:
            problems.append(f"interpreter reference failed: {errors}")
        else:
            masks = checked[0]["masks"]
            key = "cpu_delegate" if integer else "gpu"
            report[f"max_diff_{key}_vs_interpreter"] = float(np.abs(reference - masks).max())
            union = np.logical_or(reference > 0.5, masks > 0.5).sum()
            report[f"mask_iou_{key}_vs_interpreter"] = float(
                np.logical_and(reference > 0.5, masks > 0.5).sum() / union) if union else 1.0
    for key, value in list(report.items()):
        if key.startswith("max_diff") and value > tolerance:
            problems.append(f"{key} {value:.4f} > tolerance {tolerance}")
    report["passed"] = not problems
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=pathlib.Path)
    parser.add_argument("--expect-failure", action="store_true",
                        help="succeed only if every model FAILS the check (tests the checker)")
    parser.add_argument(
        "--reference-python",
        default=os.environ.get("BGSEG_PYTHON", "python3"),
        help="python with ai-edge-litert for the interpreter reference ('' to skip)",
    )
    parser.add_argument("--renderer", default="llvmpipe",
                        help="required GL renderer ('' accepts any, e.g. on a real GPU)")
    parser.add_argument("--tolerance", type=float, help="max |GPU - CPU| (default 0.06 float, "
                                                        "0.15 quantized models)")
    parser.add_argument("--image", type=pathlib.Path, help="test photo (default: synthetic)")
    parser.add_argument("--json", type=pathlib.Path, help="write the reports here")
    parser.add_argument("--worker", nargs=3, metavar=("DELEGATE", "MODEL", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        delegate, model, out = args.worker
        worker(pathlib.Path(model), delegate, out, args.image)
        return 0
    if not args.models:
        parser.error("give at least one .tflite file")
    reports = []
    for model in args.models:
        if not model.is_file():
            parser.error(f"{model} does not exist")
        with tempfile.TemporaryDirectory() as tmp:
            report = check_model(model, args, pathlib.Path(tmp))
        verdict = "PASS" if report["passed"] else "FAIL"
        numbers = ", ".join(f"{k}={v:.3g}" for k, v in report.items()
                            if k.startswith(("max_diff", "mask_iou")))
        kind = "int8 (CPU/NNAPI) file" if report["integer"] else "float file"
        print(f"{verdict} {model} ({kind}, input {report['input']}): GPU delegate "
              f"{report.get('gpu_delegate', 'not run')}; {numbers}")
        for delegate in ("gpu", "cpu"):
            for line in dict.fromkeys(report[f"{delegate}_log"]):
                print(f"    {delegate} log: {line}")
        for problem in report["problems"]:
            print(f"    problem: {problem}")
        reports.append(report)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    expected = (not r["passed"] if args.expect_failure else r["passed"] for r in reports)
    return 0 if all(expected) else 1


if __name__ == "__main__":
    sys.exit(main())
