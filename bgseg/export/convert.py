"""The converter core: Keras model -> `.tflite` bytes, batch 1, static H x W, builtin ops only.

The model is traced through a concrete function with input signature `[1, H, W, C]` named `input`
and frozen; TFLite's converter is set up for the quantization mode (also by the QAT child process,
`bgseg.export.qat`). Conversion fails loudly when an op would need Flex/Select-TF ops.
`bgseg.export.pipeline.export_tflite` names the tensors, checks the GPU rules, adds the metadata
and writes the file.
"""

import os
import pathlib

from ai_edge_litert import schema_py_generated as schema

from bgseg.contract import INPUT_NAME, OUTPUT_NAME
from bgseg.export.quantization import QuantizationConfig

SIGNATURE_KEY = "serving_default"


class ExportError(RuntimeError):
    """The model cannot be converted under the bgseg contract (builtin ops, static shapes)."""


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


def freeze(concrete_function):
    """The function with its variables folded into constants, so that the `.tflite` has no
    READ_VARIABLE ops. TF has no public API for this (`TFLiteConverter.from_keras_model` cannot fix
    the batch at 1): this wraps the one private TF function the project uses;
    tests/test_export.py::test_freeze_private_api fails loudly when it moves."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    return convert_variables_to_constants_v2(concrete_function)


def tflite_converter(model, shape, mode, io_type="float32", samples=None):
    """A `TFLiteConverter` for `model` (Keras 3 or tf_keras) at input `[1, *shape]`: `mode` is
    "float32", "float16", "dynamic" or "int8" (full integer, also the last step of QAT) with
    `samples` (float32 `[1, H, W, C]` arrays) for calibration and `io_type` for its I/O."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, *shape], tf.float32, name=INPUT_NAME)])
    def serve(x):
        return {OUTPUT_NAME: model(x, training=False)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [freeze(serve.get_concrete_function())])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        samples = list(samples)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s] for s in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_dtype = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[io_type]
        converter.inference_input_type = converter.inference_output_type = io_dtype
    elif mode != "float32":
        raise ValueError(f"tflite_converter: unknown mode {mode!r}")
    return converter


def convert_keras(model, config=None, representative_data=None):
    """Convert a (Keras 3 or tf_keras) model to `.tflite` bytes (tensors named by
    `name_io_tensors` afterwards). `config.mode` "qat" is `bgseg.export.qat`'s; every other mode
    is handled here."""
    from bgseg.export.representative import representative_samples

    config = config or QuantizationConfig.float16()
    if config.mode == "qat":
        raise ValueError("convert_keras does not run QAT; call export_tflite or bgseg.export.qat")
    shape = model_input_shape(model)
    samples = None
    if config.is_integer:
        samples = representative_samples(representative_data, model, config.representative_samples)
    converter = tflite_converter(model, shape, "int8" if config.is_integer else config.mode,
                                 config.io_type, samples)
    try:
        data = converter.convert()
    except Exception as error:  # ConverterError: message lists the offending ops
        raise ExportError(
            f"conversion to TFLite builtin ops failed ({config.name}); bgseg does not "
            f"emit Flex/Select-TF ops:\n{error}"
        ) from error
    return data


def name_io_tensors(model):
    """Name the (single) input and output tensors `input` and `mask` of a parsed `.tflite`
    (`schema.ModelT`, changed in place) and set the one signature `serving_default`
    (input -> mask) for signature runners."""
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
    return model


def _tensor_map(name, index):
    tensor_map = schema.TensorMapT()
    tensor_map.name = name
    tensor_map.tensorIndex = int(index)
    return tensor_map
