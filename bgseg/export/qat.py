"""Quantization-aware training (TF-MOT) then full-integer conversion, in an isolated subprocess.

TF-MOT only works on tf_keras models, and importing it switches the process to legacy Keras
(`TF_USE_LEGACY_KERAS=1`), so the parent process (Keras 3) only writes a job folder: the model's
builder spec, its weights and the training pairs. The child (`python -m bgseg.export.qat JOB`)
rebuilds the same architecture with `keras_module=tf_keras`, copies the weights, optionally prunes
(`prune_low_magnitude`) and/or clusters (`cluster_weights`) them while fine-tuning, applies
`quantize_model`, starts the activation quantizers at the float model's ranges, fine-tunes `epochs`
epochs (BatchNorm frozen) with bgseg's BCE + IoU loss, and converts with batch 1, static H x W and
int8 builtin ops only.

Training pairs are `(x, y)` when the data has masks, otherwise the float model's own predictions
(self-distillation: QAT then learns to reproduce the float model under quantization noise).
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np


def builder_spec(model, preset=None):
    """{"builder": name, "kwargs": {...}} that rebuilds `model`'s architecture.

    `preset` is a preset name, a `Preset`, or a dict `{"builder": "hourglass", **kwargs}`; by
    default `model.name` must be a preset name. The input shape is always the model's; other kwargs
    must match (the QAT child checks every weight shape).
    """
    from bgseg.models import BUILDERS, PRESETS, Preset

    if isinstance(preset, dict):
        kwargs = {k: v for k, v in preset.items() if k != "builder"}
        builder = preset.get("builder")
    else:
        preset = preset or model.name
        if isinstance(preset, str):
            if preset not in PRESETS:
                raise ValueError(
                    f"QAT rebuilds the model with tf_keras and needs its architecture: "
                    f"model name {preset!r} is not a preset; pass preset=<name> or "
                    f"preset={{'builder': 'hourglass', **builder_kwargs}}"
                )
            preset = PRESETS[preset]
        if not isinstance(preset, Preset):
            raise TypeError(
                f"preset must be a name, a Preset or a dict, got {type(preset).__name__}"
            )
        builder, kwargs = preset.builder, {**preset.kwargs, "name": preset.name}
    if builder not in BUILDERS:
        raise ValueError(f"unknown builder {builder!r}; known: {', '.join(sorted(BUILDERS))}")
    kwargs["input_shape"] = list(model.inputs[0].shape[1:])  # presets are often built resized
    return {"builder": builder, "kwargs": _jsonable(kwargs)}


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _labelled(data, count):
    """(x, y) arrays from an `(x, y)` tuple of arrays or a re-iterable of `(x, y)` batches, or
    None."""
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(d, np.ndarray) for d in data):
        return data[0][:count], data[1][:count]
    if data is None or isinstance(data, (str, os.PathLike, np.ndarray)):
        return None
    xs, ys = [], []
    for item in (data.as_numpy_iterator() if hasattr(data, "as_numpy_iterator") else data):
        if not (isinstance(item, (tuple, list)) and len(item) >= 2):
            return None
        x, y = (np.asarray(v, np.float32) for v in item[:2])
        xs.extend(x if x.ndim == 4 else [x])
        ys.extend(y if y.ndim == 4 else [y])
        if len(xs) >= count:
            break
    return (np.stack(xs[:count]), np.stack(ys[:count])) if xs else None


def training_pairs(data, model, count):
    """Up to `count` float32 pairs `x [N, H, W, C]`, `y [N, H, W, 1]` for fine-tuning: the data's
    masks when it has them, else the float model's predictions (self-distillation)."""
    from bgseg.export.representative import representative_samples

    pairs = _labelled(data, count)
    if pairs is not None:
        x = np.concatenate(representative_samples(pairs[0], model, count))
        y = np.asarray(pairs[1], np.float32)[:len(x)]
        return x, y.reshape(len(x), *x.shape[1:3], 1)
    x = np.concatenate(representative_samples(data, model, count))
    return x, np.asarray(model.predict(x, batch_size=8, verbose=0), np.float32)


def quantize_aware_convert(model, config, data, preset=None):
    """Run QAT for `config` (mode "qat") on `model` in a subprocess; return `.tflite` bytes."""
    from bgseg.export.convert import ExportError

    spec = builder_spec(model, preset)
    x, y = training_pairs(data, model, config.representative_samples)
    with tempfile.TemporaryDirectory(prefix="bgseg-qat-") as job:
        job = pathlib.Path(job)
        np.savez(job / "weights.npz", *model.get_weights())
        np.savez(job / "data.npz", x=x, y=y)
        (job / "job.json").write_text(json.dumps({**spec, "config": config.to_dict()}))
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
        proc = subprocess.run([sys.executable, "-m", "bgseg.export.qat", str(job)], env=env,
                              capture_output=True, text=True)
        if proc.returncode or not (job / "model.tflite").is_file():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ExportError(f"QAT subprocess failed (exit {proc.returncode}):\n{tail}")
        data = (job / "model.tflite").read_bytes()
        log = (job / "log.json").read_text() if (job / "log.json").exists() else "{}"
    print(f"QAT fine-tuning: {log}", file=sys.stderr)
    return data


def _loss():
    import tensorflow as tf

    from bgseg.losses import soft_iou

    def bce_iou(y_true, y_pred):
        bce = tf.reduce_mean(tf.keras.backend.binary_crossentropy(y_true, y_pred), axis=[1, 2, 3])
        return bce + 1.0 - soft_iou(y_true, y_pred)

    return bce_iou


def _fit(model, x, y, config, callbacks=()):
    import tf_keras

    model.compile(tf_keras.optimizers.Adam(config["learning_rate"]), loss=_loss())
    history = model.fit(x, y, batch_size=config["batch_size"], epochs=config["epochs"],
                        callbacks=list(callbacks), verbose=0, shuffle=True)
    return [float(v) for v in history.history["loss"]]


def _calibrate_ranges(qat_model, float_model, x, batch_size=8):
    """Start every activation quantizer at the float model's observed range.

    TF-MOT initialises activation ranges at [-6, 6] and moves them with an exponential moving
    average (decay 0.999), which a few epochs of fine-tuning cannot correct; the converted model
    then quantizes with those ranges. TF-MOT has no public API for these variables: they are found
    by TF-MOT 0.8's variable names, and a RuntimeError says so when none match. Wrapped layers
    keep their names (`quant_<name>`), so each `output`/`post_activation` range is the min/max of
    the float layer's output, the input range that of the data, and the `pre_activation` range of
    a sigmoid layer that of its logits.
    """
    import tf_keras

    targets = {}
    for layer in qat_model.layers:
        name = layer.name[len("quant_"):] if layer.name.startswith("quant_") else None
        for var in layer.non_trainable_weights:
            kind = var.name.split("/")[-1].split(":")[0]
            if kind in ("quantize_layer_min", "quantize_layer_max"):
                targets.setdefault(None, []).append((var, kind.endswith("max"), False))
            elif name and kind.rsplit("_", 1)[0] in ("output", "post_activation", "pre_activation"):
                targets.setdefault(name, []).append((var, kind.endswith("max"),
                                                     kind.startswith("pre_activation")))
    names = [n for n in targets if n is not None]
    if None not in targets or not names:  # the one place that relies on TF-MOT's internal names
        import tensorflow_model_optimization as tfmot

        raise RuntimeError(
            f"tensorflow-model-optimization {tfmot.__version__} no longer names its quantizer "
            f"range variables quantize_layer_min/max and <output|post_activation|"
            f"pre_activation>_min/max; re-check bgseg.export.qat._calibrate_ranges")
    probe = tf_keras.Model(float_model.inputs, [float_model.get_layer(n).output for n in names])
    low, high = {}, {}

    def update(key, values):
        low[key] = min(low.get(key, 0.0), float(values.min()))
        high[key] = max(high.get(key, 0.0), float(values.max()))

    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        update(None, batch)
        for name, out in zip(names, probe.predict(batch, verbose=0)):
            update(name, out)
            if float_model.get_layer(name).get_config().get("activation") == "sigmoid":
                p = np.clip(out, 1e-6, 1 - 1e-6)
                update((name, "logit"), np.log(p / (1 - p)))
    for name, variables in targets.items():
        for var, is_max, logits in variables:
            key = (name, "logit") if logits and (name, "logit") in low else name
            var.assign(high[key] if is_max else low[key])


def _output_quantize_config(quantize):
    """A QuantizeConfig for weightless layers that TF-MOT's registry lacks (Rescaling, Multiply):
    quantize the output like an activation, nothing else."""

    class OutputQuantizeConfig(quantize.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [quantize.quantizers.MovingAverageQuantizer(
                num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

        def get_config(self):
            return {}

    return OutputQuantizeConfig


def _annotate(layer, tf_keras, quantize):
    """Clone `layer` annotated for quantization: TF-MOT's default for the layers it knows, an
    output-only QuantizeConfig for those it does not (Rescaling and Multiply: the selfie models'
    hard-swish and squeeze-excitation gates)."""
    clone = layer.__class__.from_config(layer.get_config())
    if isinstance(layer, tf_keras.layers.InputLayer):
        return clone
    if isinstance(layer, (tf_keras.layers.Rescaling, tf_keras.layers.Multiply)):
        return quantize.quantize_annotate_layer(clone, _output_quantize_config(quantize)())
    return quantize.quantize_annotate_layer(clone)


def run_job(job):
    """Child process: rebuild with tf_keras, (prune/cluster), QAT, convert to int8."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from bgseg.export.convert import tflite_converter
    from bgseg.models import build_model

    job = pathlib.Path(job)
    spec = json.loads((job / "job.json").read_text())
    config = spec["config"]
    weights = np.load(job / "weights.npz")
    data = np.load(job / "data.npz")
    x, y = data["x"], data["y"]
    kwargs = {**spec["kwargs"], "input_shape": tuple(spec["kwargs"]["input_shape"])}
    model = build_model(spec["builder"], keras_module=tf_keras, **kwargs)
    values = [weights[f"arr_{i}"] for i in range(len(weights.files))]
    expected = [tuple(w.shape) for w in model.get_weights()]
    if expected != [tuple(v.shape) for v in values]:
        raise SystemExit(
            f"the tf_keras twin of {spec['builder']} {spec['kwargs']} does not have the "
            f"model's weight shapes: pass the preset/builder kwargs it was built with"
        )
    model.set_weights(values)
    # Fine-tune with frozen BatchNorm (moving statistics, as at inference): batch statistics of a
    # few small batches of new data would shift the model instead of adapting it to quantization.
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            layer.trainable = False
    log = {}
    if config["prune_sparsity"]:
        schedule = tfmot.sparsity.keras.ConstantSparsity(config["prune_sparsity"], begin_step=0)
        pruned = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=schedule)
        log["prune_loss"] = _fit(pruned, x, y, config, [tfmot.sparsity.keras.UpdatePruningStep()])
        model = tfmot.sparsity.keras.strip_pruning(pruned)
    if config["clusters"]:
        clustered = tfmot.clustering.keras.cluster_weights(
            model, number_of_clusters=config["clusters"],
            cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS)
        log["cluster_loss"] = _fit(clustered, x, y, config)
        model = tfmot.clustering.keras.strip_clustering(clustered)
    quantize = tfmot.quantization.keras
    annotated = tf_keras.models.clone_model(
        model, clone_function=lambda layer: _annotate(layer, tf_keras, quantize))
    annotated.set_weights(model.get_weights())
    if config["prune_sparsity"] or config["clusters"]:
        qat_model = tfmot.quantization.keras.quantize_apply(
            annotated,
            tfmot.experimental.combine.Default8BitClusterPreserveQuantizeScheme(
                preserve_sparsity=bool(config["prune_sparsity"])) if config["clusters"] else
            tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme())
    else:
        with quantize.quantize_scope({"OutputQuantizeConfig": _output_quantize_config(quantize)}):
            qat_model = quantize.quantize_apply(annotated)
    _calibrate_ranges(qat_model, model, x)
    log["qat_loss"] = _fit(qat_model, x, y, config)

    converter = tflite_converter(qat_model, kwargs["input_shape"], "int8", config["io_type"],
                                 [s[None] for s in x[: config["representative_samples"]]])
    (job / "model.tflite").write_bytes(converter.convert())
    (job / "log.json").write_text(json.dumps(log))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(
            "usage: python -m bgseg.export.qat JOB_DIR (written by quantize_aware_convert)"
        )
    run_job(sys.argv[1])
