"""Read and write the TFLite flatbuffer with the schema that ships in ai-edge-litert (no
TensorFlow)."""

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

FILE_IDENTIFIER = b"TFL3"


def read_model(data):
    """Parse `.tflite` bytes into the mutable object API (`schema.ModelT`)."""
    data = bytes(data)
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise ValueError("not a TFLite flatbuffer (file identifier 'TFL3' missing)")
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def write_model(model):
    """Serialize a `schema.ModelT` back to `.tflite` bytes."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def opcode_names():
    """Map builtin operator codes to their names (`{3: "CONV_2D", ...}`)."""
    return {value: name for name, value in vars(schema.BuiltinOperator).items()
            if not name.startswith("_")}


def builtin_code(opcode):
    """The builtin operator code of an `OperatorCodeT` (old and new schema fields)."""
    return max(int(opcode.builtinCode), int(opcode.deprecatedBuiltinCode))


def tensor_name(tensor):
    name = tensor.name
    return name.decode() if isinstance(name, bytes) else (name or "")
