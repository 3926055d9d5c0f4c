"""Keras model -> `.tflite`: batch 1, static H x W, TFLite builtin ops only, named tensors.

The model is traced through a concrete function with input signature `[1, H, W, C]` named `input`;
the output tensor is renamed `mask`. Conversion fails loudly when an op would need Flex/Select-TF
ops. The result is checked against the GPU-delegate rules (`gpu_check`), gets MediaPipe image
segmenter metadata plus bgseg's JSON entry (`metadata`), and is written atomically.
"""

import dataclasses
import os
import pathlib
import warnings

from ai_edge_litert import schema_py_generated as schema

from bgseg import flatbuffer, io
from bgseg.contract import INPUT_NAME, OUTPUT_NAME  # noqa: F401 - re-exported
from bgseg.export import gpu_check
from bgseg.export.quantization import QuantizationConfig

SIGNATURE_KEY = "serving_default"


class ExportError(RuntimeError):
    """The model cannot be converted under the bgseg contract (builtin ops, static shapes)."""


@dataclasses.dataclass
class ExportResult:
    """What `export_tflite` wrote: the file, its size, the config and the GPU-delegate report."""

    path: pathlib.Path
    size_bytes: int
    config: QuantizationConfig
    input_shape: tuple
    gpu_report: "gpu_check.GpuReport"
    metadata: dict = None

    def summary(self):
        return (f"{self.path} ({self.config.name}, {self.size_bytes / 1024:.1f} KiB, input "
                f"{list(self.input_shape)}): GPU delegate check {self.gpu_report.summary()}")


def load_keras_model(model_or_path):
    """A Keras model as is, or loaded (without compiling) from a `.keras` / `.h5` file."""
    if not isinstance(model_or_path, (str, os.PathLike)):
        return model_or_path
    path = pathlib.Path(model_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.suffix not in (".keras", ".h5"):
        raise ValueError(f"expected a .keras (or .h5) model file, got {path.name}")
    import keras

    import bgseg.losses  # noqa: F401 - registers the custom losses/metrics for deserialization
    import bgseg.metrics  # noqa: F401

    return keras.saving.load_model(path, compile=False)


def model_input_shape(model):
    """(H, W, C) of a single-input segmentation model, checking the bgseg I/O contract."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(f"expected one input and one output, got {len(model.inputs)} inputs and "
                          f"{len(model.outputs)} outputs")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[0] not in (None, 1) or None in shape[1:]:
        raise ExportError(f"input must be [batch, H, W, C] with static H, W, C; got {shape} "
                          f"(rebuild the model with a fixed input_shape)")
    if shape[3] not in (3, 4):
        raise ExportError(
            f"input must have 3 (RGB) or 4 (RGB + previous mask) channels, got {shape[3]}"
        )
    out = tuple(model.outputs[0].shape)
    if out[1:] != (shape[1], shape[2], 1):
        raise ExportError(f"output must be [1, {shape[1]}, {shape[2]}, 1], got {out}")
    return shape[1:]


def _converter(model, shape, config, representative_data):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from bgseg.export.representative import representative_samples

    @tf.function(input_signature=[tf.TensorSpec([1, *shape], tf.float32, name=INPUT_NAME)])
    def serve(x):
        return {OUTPUT_NAME: model(x, training=False)}

    # Freeze the weights into constants: a resource-variable graph would keep READ_VARIABLE ops.
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if config.mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif config.mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif config.is_integer:
        samples = representative_samples(representative_data, model, config.representative_samples)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s] for s in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_dtype = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[config.io_type]
        converter.inference_input_type = io_dtype
        converter.inference_output_type = io_dtype
    return converter


def convert_keras(model, config=None, representative_data=None):
    """Convert a (Keras 3 or tf_keras) model to `.tflite` bytes with tensors named input/mask.

    `config.mode` "qat" is not handled here (see `bgseg.export.qat`); every other mode is.
    """
    config = config or QuantizationConfig.float16()
    if config.mode == "qat":
        raise ValueError("convert_keras does not run QAT; call export_tflite or bgseg.export.qat")
    shape = model_input_shape(model)
    converter = _converter(model, shape, config, representative_data)
    try:
        data = converter.convert()
    except Exception as error:  # ConverterError: message lists the offending ops
        raise ExportError(
            f"conversion to TFLite builtin ops failed ({config.name}); bgseg does not "
            f"emit Flex/Select-TF ops:\n{error}"
        ) from error
    return name_io_tensors(data)


def name_io_tensors(data):
    """Name the (single) input and output tensors `input` and `mask` in `.tflite` bytes, and set
    the one signature `serving_default` (input -> mask) for signature runners."""
    model = flatbuffer.read_model(data)
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ExportError("converted model must have exactly one input and one output tensor")
    graph.tensors[graph.inputs[0]].name = INPUT_NAME
    graph.tensors[graph.outputs[0]].name = OUTPUT_NAME
    signature = schema.SignatureDefT()
    signature.signatureKey = SIGNATURE_KEY
    signature.subgraphIndex = 0
    signature.inputs = [_tensor_map(INPUT_NAME, graph.inputs[0])]
    signature.outputs = [_tensor_map(OUTPUT_NAME, graph.outputs[0])]
    model.signatureDefs = [signature]
    return flatbuffer.write_model(model)


def _tensor_map(name, index):
    tensor_map = schema.TensorMapT()
    tensor_map.name = name
    tensor_map.tensorIndex = int(index)
    return tensor_map


def write_atomic(data, output_path, overwrite=False):
    """Write bytes with `bgseg.io.write_bytes`; FileExistsError unless `overwrite`."""
    path = pathlib.Path(output_path)
    io.write_bytes(path, bytes(data), overwrite)
    return path


def export_tflite(model_or_path, output_path, config=None, representative_data=None, metadata=None,
                  allow_cpu_ops=False, overwrite=False, preset=None):
    """Convert a Keras model (or `.keras` file) to a GPU-checked `.tflite` with segmenter metadata.

    Args:
        model_or_path: a Keras model or the path of a `.keras` file.
        output_path: the `.tflite` to write; an existing file is kept unless `overwrite`.
        config: a `QuantizationConfig` (default float16).
        representative_data: for int8/qat: a folder of images, an array `[N, H, W, C]` in [0, 1] or
        a
            dataset of such batches (or of `(x, y)` pairs; QAT trains on the pairs).
        metadata: extra fields for bgseg's JSON metadata entry (e.g. `{"training_data": "..."}`), or
            `False` to write no metadata at all.
        allow_cpu_ops: warn instead of failing when the static GPU-delegate check finds problems.
        overwrite: replace an existing `output_path`.
        preset: QAT only: the preset (name or `Preset`) the model was built from, when `model.name`
            is not a preset name.
    Returns:
        `ExportResult`.
    """
    config = config or QuantizationConfig.float16()
    path = pathlib.Path(output_path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    model = load_keras_model(model_or_path)
    shape = model_input_shape(model)
    if config.mode == "qat":
        from bgseg.export import qat

        data = qat.quantize_aware_convert(model, config, representative_data, preset=preset)
    else:
        data = convert_keras(model, config, representative_data)

    report = gpu_check.check_model(data)
    # integer computation is what int8/qat files are for (CPU/NNAPI); anything else must be fixed
    if report.problems or (report.cpu_only and not config.is_integer):
        message = f"{path.name}: not fully GPU-delegate compatible:\n{report.summary()}"
        if not allow_cpu_ops:
            raise gpu_check.GpuCompatibilityError(message + "\n(pass allow_cpu_ops=True / "
                                                  "--allow-cpu-ops to write it anyway)")
        warnings.warn(message, stacklevel=2)

    info = None
    if metadata is not False:
        from bgseg.export import metadata as metadata_writer

        info = metadata_writer.bgseg_info(model, shape, config, extra=metadata or {})
        data = metadata_writer.attach(data, info)
    write_atomic(data, path, overwrite=overwrite)
    return ExportResult(path=path, size_bytes=path.stat().st_size, config=config,
                        input_shape=(1, *shape), gpu_report=report, metadata=info)
