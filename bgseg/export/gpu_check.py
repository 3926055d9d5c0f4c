"""Static TFLite GPU-delegate compatibility check, after TFLite's
`tensorflow/lite/tools/versioning/gpu_compatibility.cc` (TF 2.21's
`Analyzer(gpu_compatibility=True)`
reports nothing, so bgseg checks the flatbuffer itself; no TensorFlow import).

Rules: every op is on the GPU delegate's allowlist and its options pass the per-op rules (fused
activations, strides/filters, depthwise multiplier, RESIZE_* corner flags, CONCATENATION axis,
ADD/SUB/MUL/DIV broadcasting, ...); shapes are static (no -1 in any `shape_signature`, batch 1).
The OpenGL ES delegate (the one MediaPipe uses) computes in float: quantized *weights* are fine
(float16 or int8 constants behind DEQUANTIZE, dynamic-range files), but full-integer files (int8
activations, QUANTIZE ops, integer I/O) run entirely on the CPU. Those are reported in `cpu_only`,
not as `problems`: an int8 file is a CPU/NNAPI file by design.

    bgseg check-gpu model.tflite [...]
"""

import collections
import dataclasses
import pathlib

from ai_edge_litert import schema_py_generated as schema

from bgseg import flatbuffer

OP = schema.BuiltinOperator
ACT = schema.ActivationFunctionType
FLOAT_TYPES = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)
INTEGER_TYPES = (schema.TensorType.INT8, schema.TensorType.UINT8, schema.TensorType.INT16)

# Ops the GPU delegate (OpenGL ES / OpenCL) runs, from gpu_compatibility.cc and the delegate's
# model builder. Anything else falls back to the CPU.
ALLOWED_OPS = frozenset(getattr(OP, name) for name in """
ABS ADD AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS CUMSUM DENSIFY DEPTH_TO_SPACE
DEPTHWISE_CONV_2D DEQUANTIZE DIV ELU EQUAL EXP FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER
GREATER GREATER_EQUAL HARD_SWISH LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGISTIC MAX_POOL_2D
MAXIMUM MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PAD PADV2 POW PRELU QUANTIZE REDUCE_MAX
REDUCE_MIN REDUCE_PROD RELU RELU6 RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR
RSQRT SELECT_V2 SIN SLICE SOFTMAX SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE
STRIDED_SLICE SUB SUM TANH TILE TRANSPOSE TRANSPOSE_CONV
""".split())
ALLOWED_ACTIVATIONS = {ACT.NONE, ACT.RELU, ACT.RELU_N1_TO_1, ACT.RELU6, ACT.TANH}
BROADCAST_OPS = {OP.ADD, OP.SUB, OP.MUL, OP.DIV, OP.MAXIMUM, OP.MINIMUM, OP.POW,
                 OP.SQUARED_DIFFERENCE}


class GpuCompatibilityError(RuntimeError):
    """The exported model would not run entirely on the TFLite GPU delegate."""


@dataclasses.dataclass
class GpuReport:
    """Result of `check_model`. `ok`: the whole graph runs on the GPU delegate. `problems`: ops,
    options or shapes the delegate rejects. `cpu_only`: integer (int8) computation, which the
    OpenGL delegate leaves to the CPU; expected for int8/qat files."""

    problems: list
    cpu_only: list
    op_counts: dict

    @property
    def ok(self):
        return not self.problems and not self.cpu_only

    def summary(self):
        ops = ", ".join(f"{name} x{n}" for name, n in sorted(self.op_counts.items()))
        if self.problems:
            head = f"FAILED ({len(self.problems)} problems)"
        elif self.cpu_only:
            head = "CPU/NNAPI file (integer ops; the GPU delegate runs the float/float16 files)"
        else:
            head = "passed"
        lines = [f"{head}; ops: {ops}"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  cpu-only: {n}" for n in self.cpu_only]
        return "\n".join(lines)


def _dims(tensor):
    return [int(d) for d in (tensor.shape if tensor.shape is not None else [])]


def _is_const(model, tensor):
    buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
    return buffer is not None and buffer.data is not None and len(buffer.data) > 0


def _activation(options):
    act = getattr(options, "fusedActivationFunction", ACT.NONE)
    if act not in ALLOWED_ACTIVATIONS:
        names = {v: k for k, v in vars(ACT).items() if not k.startswith("_")}
        return f"fused activation {names.get(act, act)} is not supported"
    return None


def _broadcastable(a, b):
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and x != 1 and y != 1:
            return False
    return True


def _op_rules(model, graph, op, code):
    """Yield problems for one operator's options and operands."""
    options = op.builtinOptions
    inputs = [graph.tensors[i] for i in op.inputs if i >= 0]
    outputs = [graph.tensors[i] for i in op.outputs if i >= 0]
    if options is not None and (message := _activation(options)):
        yield message
    if code in (OP.CONV_2D, OP.DEPTHWISE_CONV_2D, OP.TRANSPOSE_CONV):
        if options.strideW < 1 or options.strideH < 1:
            yield f"strides must be positive, got {options.strideH}x{options.strideW}"
        if getattr(options, "dilationWFactor", 1) < 1 or getattr(options, "dilationHFactor", 1) < 1:
            yield "dilation factors must be positive"
    if code == OP.DEPTHWISE_CONV_2D:
        in_ch = _dims(inputs[0])[-1]
        out_ch = _dims(outputs[0])[-1]
        if options.depthMultiplier not in (0, 1) and in_ch != 1:
            yield f"depth multiplier {options.depthMultiplier} with {in_ch} input channels"
        if in_ch * max(options.depthMultiplier, 1) != out_ch and options.depthMultiplier != 0:
            yield f"output channels {out_ch} != input channels {in_ch} x multiplier"
    if code == OP.TRANSPOSE_CONV and not _is_const(model, inputs[0]):
        yield "TRANSPOSE_CONV output_shape must be a constant"
    if code in (OP.AVERAGE_POOL_2D, OP.MAX_POOL_2D):
        if options.filterHeight < 1 or options.filterWidth < 1:
            yield f"pool filter must be positive, got {options.filterHeight}x{options.filterWidth}"
        if options.strideH < 1 or options.strideW < 1:
            yield f"pool strides must be positive, got {options.strideH}x{options.strideW}"
    if code in (OP.RESIZE_BILINEAR, OP.RESIZE_NEAREST_NEIGHBOR):
        if options.alignCorners and options.halfPixelCenters:
            yield "align_corners and half_pixel_centers may not both be set"
        if len(_dims(inputs[0])) != 4:
            yield "resize input must be 4-D"
        if len(inputs) > 1 and not _is_const(model, inputs[1]):
            yield "resize size must be a constant"
    if code == OP.CONCATENATION:
        rank = len(_dims(outputs[0]))
        axis = options.axis + rank if options.axis < 0 else options.axis
        if rank == 4 and axis == 0:
            yield "concatenation along the batch axis is not supported"
        if len(inputs) < 1:
            yield "concatenation needs inputs"
    if code in BROADCAST_OPS:
        if len(inputs) != 2:
            yield f"needs two inputs, got {len(inputs)}"
        else:
            a, b = _dims(inputs[0]), _dims(inputs[1])
            if not _broadcastable(a, b):
                yield f"shapes {a} and {b} do not broadcast"
            elif max(len(a), len(b)) > 4:
                yield f"broadcast of rank {max(len(a), len(b))} > 4"
    if code == OP.SOFTMAX and options is not None and options.beta != 1.0:
        yield f"softmax beta must be 1, got {options.beta}"
    if code in (OP.RESHAPE, OP.PAD, OP.PADV2, OP.MIRROR_PAD, OP.MEAN, OP.SUM, OP.TILE):
        if len(inputs) > 1 and not _is_const(model, inputs[1]):
            yield "shape/paddings/axis operand must be a constant"
    if code == OP.STRIDED_SLICE and (options.ellipsisMask or options.newAxisMask):
        yield "ellipsis_mask / new_axis_mask are not supported"


def check_model(data):
    """Check `.tflite` bytes (or a `schema.ModelT`) against the GPU-delegate rules ->
    `GpuReport`."""
    model = data if isinstance(data, schema.ModelT) else flatbuffer.read_model(data)
    names = flatbuffer.opcode_names()
    problems, cpu_only = [], []
    counts, integer_ops = collections.Counter(), collections.Counter()
    if len(model.subgraphs) != 1:
        problems.append(
            f"{len(model.subgraphs)} subgraphs (control flow); the GPU delegate needs one"
        )
    graph = model.subgraphs[0]
    for role, indices in (("input", graph.inputs), ("output", graph.outputs)):
        for index in indices:
            tensor = graph.tensors[index]
            dims = _dims(tensor)
            if tensor.type not in FLOAT_TYPES:
                cpu_only.append(f"model {role} '{flatbuffer.tensor_name(tensor)}' is "
                                f"{_type_name(tensor.type)}, the GPU delegate needs float I/O")
            if dims and dims[0] != 1:
                problems.append(f"model {role} batch is {dims[0]}, must be 1")
    for sub in model.subgraphs:
        for tensor in sub.tensors:
            signature = tensor.shapeSignature
            if signature is not None and any(int(d) < 0 for d in signature):
                problems.append(f"tensor '{flatbuffer.tensor_name(tensor)}' has a dynamic shape "
                                f"{[int(d) for d in signature]}")
    for index, op in enumerate(graph.operators or []):
        opcode = model.operatorCodes[op.opcodeIndex]
        code = flatbuffer.builtin_code(opcode)
        name = names.get(code, str(code))
        if code == OP.CUSTOM:
            custom = (
                opcode.customCode.decode()
                if isinstance(opcode.customCode, bytes)
                else opcode.customCode
            )
            name = f"CUSTOM({custom})"
        counts[name] += 1
        if code not in ALLOWED_OPS:
            problems.append(f"op #{index} {name} is not supported by the GPU delegate")
            continue
        for message in _op_rules(model, graph, op, code):
            problems.append(f"op #{index} {name}: {message}")
        if _integer_compute(model, graph, op, code):
            integer_ops[name] += 1
    if integer_ops:
        ops = ", ".join(f"{name} x{n}" for name, n in sorted(integer_ops.items()))
        cpu_only.append(f"integer activations / quantize ops ({ops})")
    return GpuReport(problems=problems, cpu_only=cpu_only, op_counts=dict(counts))


def _integer_compute(model, graph, op, code):
    """True when `op` computes on integer activations (constants such as int8 weights are fine)."""
    if code == OP.QUANTIZE:
        return True
    tensors = [graph.tensors[i] for i in list(op.inputs) + list(op.outputs) if i >= 0]
    return any(t.type in INTEGER_TYPES and not _is_const(model, t) for t in tensors)


def _type_name(value):
    return {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}.get(
        value, value
    )


def check_file(path):
    """`check_model` on a `.tflite` file."""
    return check_model(pathlib.Path(path).read_bytes())
