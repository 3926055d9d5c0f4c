"""Convert MediaPipe's selfie-segmenter `.tflite` (Apache-2.0) into a `build_selfie` Keras model.

The flatbuffer is read with the schema that ships in ai-edge-litert (no TensorFlow needed to read).
Every weighted op (CONV_2D, DEPTHWISE_CONV_2D, the custom `Convolution2DTransposeBias`) keeps the
name of the original Keras layer (`conv2d_17`, `depthwise_conv2d_4`, `segment`); those names, sorted
by their creation index, map onto `selfie.checkpoint_layer_order()`. Shapes, strides, padding,
activations and the resize/pool options are checked for every op, and every checkpoint tensor must
be used exactly once: any mismatch raises `CheckpointMismatch`.

    from bgseg.models.convert_mediapipe import from_mediapipe
    model = from_mediapipe("selfie_segmentation.tflite", input_shape=(256, 256, 4))

Where a 4-channel model is built, the previous-mask slice of the stem kernel is zero, so the output
equals the 3-channel original.
"""

import re

import numpy as np

from bgseg import flatbuffer

# The file inside the `mediapipe==0.10.21` wheel (Apache-2.0 per its model card).
WHEEL_PATH = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
_KIND_OF_OP = {"CONV_2D": "Conv2D", "DEPTHWISE_CONV_2D": "DepthwiseConv2D",
               "CUSTOM:Convolution2DTransposeBias": "Conv2DTranspose"}
_ACTIVATION_AFTER = {"RELU": "relu", "LOGISTIC": "sigmoid", "HARD_SWISH": "hard_swish"}


class CheckpointMismatch(ValueError):
    """The `.tflite` does not match the architecture it is being converted into."""


def read_checkpoint(data):
    """{original layer name: {"kind", "kernel", "bias", "strides", "padding", "activation"}} from
    the `.tflite` bytes; kernels in the TFLite layout, float32."""
    model = flatbuffer.read_model(data)
    if len(model.subgraphs) != 1:
        raise CheckpointMismatch(f"expected one subgraph, found {len(model.subgraphs)}")
    graph = model.subgraphs[0]
    names = flatbuffer.opcode_names()
    schema = flatbuffer.schema

    def op_name(op):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = names.get(flatbuffer.builtin_code(code), "?")
        if builtin == "CUSTOM":
            return "CUSTOM:" + code.customCode.decode()
        return builtin

    def constant(index):
        tensor = graph.tensors[index]
        buffer = model.buffers[tensor.buffer].data
        if buffer is None or len(buffer) == 0:
            raise CheckpointMismatch(f"tensor {flatbuffer.tensor_name(tensor)} has no data")
        dtype = {schema.TensorType.FLOAT16: np.float16, schema.TensorType.FLOAT32: np.float32}.get(
            tensor.type)
        if dtype is None:
            raise CheckpointMismatch(f"tensor {flatbuffer.tensor_name(tensor)}: unsupported type "
                                     f"{tensor.type} (float16/float32 weights expected)")
        return (
            np.frombuffer(bytes(bytearray(buffer)), dtype).reshape(tensor.shape).astype(np.float32)
        )

    produced_by = {}  # tensor index -> constant array (DEQUANTIZE outputs and plain constants)
    consumers = {}
    for op in graph.operators:
        if op_name(op) == "DEQUANTIZE":
            produced_by[op.outputs[0]] = constant(op.inputs[0])
        for i in op.inputs:
            consumers.setdefault(i, []).append(op)

    def weight(index):
        if index in produced_by:
            return produced_by[index]
        return constant(index)

    layers = {}
    for op in graph.operators:
        name = op_name(op)
        if name == "AVERAGE_POOL_2D":
            _check_global_pool(graph, op)
        elif name == "RESIZE_BILINEAR":
            opts = op.builtinOptions
            if opts.alignCorners or not opts.halfPixelCenters:
                raise CheckpointMismatch("RESIZE_BILINEAR must use half-pixel centres")
        if name not in _KIND_OF_OP:
            continue
        out = graph.tensors[op.outputs[0]]
        layer = flatbuffer.tensor_name(out)
        opts = op.builtinOptions
        entry = {"kind": _KIND_OF_OP[name], "kernel": weight(op.inputs[1]),
                 "bias": weight(op.inputs[2]), "activation": None}
        if opts is not None:
            entry["strides"] = (opts.strideH, opts.strideW)
            entry["padding"] = "same" if opts.padding == schema.Padding.SAME else "valid"
            fused = opts.fusedActivationFunction
            if fused != schema.ActivationFunctionType.NONE:
                raise CheckpointMismatch(f"{layer}: unexpected fused activation {fused}")
        after = [op_name(c) for c in consumers.get(op.outputs[0], [])]
        if len(after) == 1 and after[0] in _ACTIVATION_AFTER:
            entry["activation"] = _ACTIVATION_AFTER[after[0]]
        layers[layer] = entry
    return layers


def _check_global_pool(graph, op):
    shape = list(graph.tensors[op.inputs[0]].shape)
    opts = op.builtinOptions
    if (opts.filterHeight, opts.filterWidth) != (shape[1], shape[2]):
        raise CheckpointMismatch(
            f"AVERAGE_POOL_2D over {opts.filterHeight}x{opts.filterWidth} of a "
            f"{shape[1]}x{shape[2]} input: only global averages are expected"
        )


def _creation_index(name):
    match = re.fullmatch(r"[a-z_0-9]+?(?:_(\d+))?", name)
    return int(match.group(1) or 0) if match else 0


def checkpoint_by_kind(layers):
    """{kind: [(original name, entry), ...]} sorted by the original creation index."""
    by_kind = {}
    for name, entry in layers.items():
        by_kind.setdefault(entry["kind"], []).append((name, entry))
    for items in by_kind.values():
        items.sort(key=lambda item: _creation_index(item[0]))
    return by_kind


_KERAS_ACTIVATION = {"relu": "relu", "sigmoid": "sigmoid", "linear": None}


def convert(data, model):
    """Load the `.tflite` bytes `data` into `model` (a `build_selfie` model, 3 or 4 channels) in
    place. Returns {keras layer name: original name}. Raises `CheckpointMismatch` on any
    mismatch."""
    from bgseg.models.selfie import checkpoint_layer_order

    by_kind = checkpoint_by_kind(read_checkpoint(data))
    mapping = {}
    for kind, targets in checkpoint_layer_order().items():
        sources = by_kind.pop(kind, [])
        if len(sources) != len(targets):
            raise CheckpointMismatch(f"{kind}: the checkpoint has {len(sources)} layers, the model "
                                     f"{len(targets)}")
        for target, (source, entry) in zip(targets, sources):
            _load_layer(model.get_layer(target), source, entry)
            mapping[target] = source
    if by_kind:
        raise CheckpointMismatch(
            f"checkpoint layers of unexpected kinds left over: {sorted(by_kind)}"
        )
    return mapping


def _load_layer(layer, source, entry):
    where = f"{layer.name} <- {source}"
    if type(layer).__name__ != entry["kind"]:
        raise CheckpointMismatch(f"{where}: layer kind {type(layer).__name__} != {entry['kind']}")
    kernel = entry["kernel"]
    if entry["kind"] == "Conv2D":
        kernel = kernel.transpose(1, 2, 3, 0)            # OHWI -> HWIO
    elif entry["kind"] == "DepthwiseConv2D":
        kernel = kernel.transpose(1, 2, 3, 0)            # [1, kh, kw, C] -> [kh, kw, C, 1]
    else:
        kernel = kernel.transpose(1, 2, 0, 3)            # [O, kh, kw, I] -> [kh, kw, O, I]
    expected = tuple(layer.kernel.shape)
    if kernel.shape != expected:
        if (entry["kind"] == "Conv2D" and kernel.shape[:2] + kernel.shape[3:] ==
                expected[:2] + expected[3:] and expected[2] > kernel.shape[2]):
            extra = np.zeros(
                expected[:2] + (expected[2] - kernel.shape[2],) + expected[3:], np.float32
            )  # new input channels (the previous mask) start at 0
            kernel = np.concatenate([kernel, extra], axis=2)
        else:
            raise CheckpointMismatch(f"{where}: kernel shape {kernel.shape} != {expected}")
    if entry["bias"].shape != tuple(layer.bias.shape):
        raise CheckpointMismatch(f"{where}: bias shape {entry['bias'].shape} != "
                                 f"{tuple(layer.bias.shape)}")
    if "strides" in entry and tuple(layer.strides) != entry["strides"]:
        raise CheckpointMismatch(f"{where}: strides {tuple(layer.strides)} != {entry['strides']}")
    if "padding" in entry and max(kernel.shape[:2]) > 1 and layer.padding != entry["padding"]:
        raise CheckpointMismatch(f"{where}: padding {layer.padding} != {entry['padding']}")
    own = getattr(layer.activation, "__name__", "linear")
    if own != "linear" and _KERAS_ACTIVATION.get(own, own) != entry["activation"]:
        raise CheckpointMismatch(f"{where}: activation {own} but the checkpoint applies "
                                 f"{entry['activation']}")
    layer.set_weights([kernel, entry["bias"]])


def from_mediapipe(path, input_shape=(256, 256, 4), name="selfie", keras_module=None):
    """Build a `build_selfie` model of `input_shape` holding the weights of the `.tflite` at
    `path`."""
    from bgseg.models.selfie import build_selfie

    with open(path, "rb") as handle:
        data = handle.read()
    model = build_selfie(input_shape=input_shape, name=name, keras_module=keras_module)
    convert(data, model)
    return model
