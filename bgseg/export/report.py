"""Export a model in several modes and report size, Keras parity and accuracy on labelled data.

    bgseg export runs/x/best.keras --report ../shared/data/ccp -o exports/ \\
        --mode float32 float16 dynamic int8 qat

For each mode: file size, parity with the Keras model (max / mean |difference|, IoU of the two
thresholded masks), mean per-image IoU against the ground-truth masks, and the static GPU-delegate
check. Evaluation reads the `test` split (bgseg.data.split) of a folder dataset
(`images/` + `masks/`); int8 calibration and QAT fine-tuning read its `train` split. Four-channel
models are evaluated as on a first video frame (previous mask zeros).
"""

import pathlib

import numpy as np


def load_pairs(root, split, limit, shape):
    """`(x [N, H, W, C], y [N, H, W, 1])` from a folder dataset's `split`, resized to the model."""
    from bgseg.contract import to_model_input
    from bgseg.data.folders import folder_items, read_image, read_mask
    from bgseg.data.split import split_of

    height, width, channels = shape
    items = [item for item in folder_items(root) if split_of(item.key) == split][:limit]
    if not items:
        raise ValueError(f"no {split!r} items in {root}")
    x = np.zeros((len(items), height, width, channels), np.float32)
    y = np.zeros((len(items), height, width, 1), np.float32)
    for i, item in enumerate(items):
        to_model_input(read_image(item.image), width, height, out=x[i, ..., :3])
        y[i, ..., 0] = read_mask(item.mask, (width, height)) > 127
    return x, y


def mean_iou(pred, truth):
    """Mean over images of IoU(pred > 0.5, truth > 0.5) (`bgseg.evaluation.iou`)."""
    from bgseg.evaluation import iou

    return float(np.mean([iou(p > 0.5, t > 0.5) for p, t in zip(pred, truth)]))


def report(model_path, data, output, modes, limit=100, samples=64, qat_epochs=2, preset=None,
           overwrite=False):
    """Export `modes` and measure them; returns a list of row dicts."""
    from bgseg.export import QuantizationConfig, export_tflite
    from bgseg.export.convert import load_keras_model, model_input_shape
    from bgseg.export.parity import compare, tflite_predict

    model = load_keras_model(model_path)
    shape = model_input_shape(model)
    x_eval, y_eval = load_pairs(data, "test", limit, shape)
    calibration = load_pairs(data, "train", samples, shape)
    keras_pred = np.asarray(model.predict(x_eval, batch_size=1, verbose=0))
    rows = [{"mode": "keras", "iou_vs_truth": mean_iou(keras_pred, y_eval)}]
    configs = {"float32": QuantizationConfig.float32(), "float16": QuantizationConfig.float16(),
               "dynamic": QuantizationConfig.dynamic(),
               "int8": QuantizationConfig.int8(representative_samples=samples),
               "qat": QuantizationConfig.qat(epochs=qat_epochs, representative_samples=samples)}
    stem = pathlib.Path(model_path).stem
    for mode in modes:
        result = export_tflite(model, pathlib.Path(output) / f"{stem}_{mode}.tflite", configs[mode],
                               representative_data=calibration, overwrite=overwrite, preset=preset)
        data_bytes = result.path.read_bytes()
        parity = compare(model, data_bytes, x_eval)
        rows.append({"mode": mode, "file": str(result.path), "size_bytes": result.size_bytes,
                     "max_abs": parity.max_abs, "mean_abs": parity.mean_abs,
                     "mask_iou_vs_keras": parity.mask_iou, "within_tolerance": parity.within(mode),
                     "iou_vs_truth": mean_iou(tflite_predict(data_bytes, x_eval), y_eval),
                     "gpu_check": result.gpu_report.summary().splitlines()[0].split(";")[0]})
    return rows, {"eval_images": len(x_eval), "calibration_images": len(calibration[0]),
                  "input": [1, *shape]}


def markdown(rows):
    lines = ["| mode | size | max abs diff | mean abs diff | mask IoU vs Keras | IoU vs truth | "
             "static GPU check |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["mode"] == "keras":
            lines.append(f"| Keras | | | | | {r['iou_vs_truth']:.4f} | |")
            continue
        lines.append(
            f"| {r['mode']} | {r['size_bytes'] / 1024:.1f} KiB | {r['max_abs']:.2g} | "
            f"{r['mean_abs']:.2g} | {r['mask_iou_vs_keras']:.4f} | {r['iou_vs_truth']:.4f} | "
            f"{r['gpu_check']} |"
        )
    return "\n".join(lines)
