"""MediaPipe-Tasks image-segmenter metadata and bgseg's JSON entry, written without tflite-support.

The TFLite metadata flatbuffer (`metadata_schema.fbs`, file identifier `M001`) is built directly
with the `flatbuffers` builder, field slots as in the schema; it mirrors what MediaPipe's
`metadata_writers.image_segmenter.MetadataWriter` writes (RGB image input normalized with mean 0 /
std 255, GRAYSCALE `segmentation_masks` output with a `labels.txt`, `SEGMENTER_METADATA` activation
NONE because the model ends in a sigmoid). It goes into the model's `TFLITE_METADATA` buffer, the
associated files are appended as a zip (like tflite-support's populator), and bgseg's own JSON
(contract version, sizes, channels, quantization, training data) is the `BGSEG_METADATA` entry.
"""

import io
import json
import zipfile

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from bgseg import contract, flatbuffer
from bgseg.version import __version__

CONTRACT_VERSION = 1
TFLITE_METADATA = "TFLITE_METADATA"
BGSEG_METADATA = "BGSEG_METADATA"
MIN_PARSER_VERSION = "1.5.0"  # SubGraphMetadata.custom_metadata needs metadata parser 1.5.0
LABELS_FILE = "labels.txt"

# metadata_schema.fbs enums
_RGB, _GRAYSCALE = 1, 2
_IMAGE_PROPERTIES = 2
_NORMALIZATION_OPTIONS = 1
_TENSOR_AXIS_LABELS = 2
_ACTIVATION_NONE = 0


def bgseg_info(model, input_shape, config, extra=None):
    """bgseg's metadata entry for a model exported with `config` (a JSON-serializable dict)."""
    height, width, channels = input_shape
    io_dtype = config.io_type
    info = {
        "contract_version": CONTRACT_VERSION,
        "bgseg_version": __version__,
        "model": model.name,
        "parameters": int(model.count_params()),
        "input": {"name": contract.INPUT_NAME, "shape": [1, height, width, channels],
                  "dtype": io_dtype, "channels": contract.channel_names(channels),
                  "range": list(contract.VALUE_RANGE)},
        "output": {"name": contract.OUTPUT_NAME, "shape": [1, height, width, 1], "dtype": io_dtype,
                   "meaning": "person probability", "range": list(contract.VALUE_RANGE)},
        "normalization": dict(contract.NORMALIZATION),
        "quantization": config.to_dict(),
        "training_data": None,
    }
    info.update(extra or {})
    json.dumps(info)  # fail here, not in the file, on values JSON cannot hold
    return info


def _string(b, text):
    return b.CreateString(text)


def _vector(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()


def _floats(b, values):
    b.StartVector(4, len(values), 4)
    for value in reversed(values):
        b.PrependFloat32(float(value))
    return b.EndVector()


def _table(b, slots, offsets=(), scalars=()):
    """A table with `slots` fields: `offsets` {slot: uoffset}, `scalars` {slot: (kind, value)}."""
    b.StartObject(slots)
    for slot, offset in dict(offsets).items():
        b.PrependUOffsetTRelativeSlot(slot, offset, 0)
    for slot, (kind, value) in dict(scalars).items():
        getattr(b, f"Prepend{kind}Slot")(slot, value, 0 if kind != "Bool" else False)
    return b.EndObject()


def _image_content(b, color_space, value_range=None):
    props = _table(b, 2, scalars={0: ("Int8", color_space)})
    offsets = {1: props}
    if value_range:
        offsets[2] = _table(
            b, 2, scalars={0: ("Int32", value_range[0]), 1: ("Int32", value_range[1])}
        )
    return _table(b, 3, offsets, scalars={0: ("Uint8", _IMAGE_PROPERTIES)})


def _segmenter_options():
    b = flatbuffers.Builder(64)
    b.Finish(_table(b, 2, scalars={0: ("Int8", _ACTIVATION_NONE)}), file_identifier=b"V001")
    return bytes(b.Output())


def segmenter_metadata(name, description):
    """The MediaPipe image-segmenter `ModelMetadata` flatbuffer (bytes, identifier M001)."""
    b = flatbuffers.Builder(1024)
    # input: RGB image, normalized (x - 0) / 255, values in [0, 1]
    mean, std = contract.NORMALIZATION["mean"], contract.NORMALIZATION["std"]
    norm = _table(b, 2, {0: _floats(b, [mean]), 1: _floats(b, [std])})
    unit = _table(b, 2, {1: norm}, scalars={0: ("Uint8", _NORMALIZATION_OPTIONS)})
    in_stats = _table(b, 2, {0: _floats(b, [1.0]), 1: _floats(b, [0.0])})
    in_tensor = _table(b, 7, {0: _string(b, "image"),
                              1: _string(b, "Input image (RGB; the alpha channel of 4-channel "
                                            "models carries the previous mask)."),
                              3: _image_content(b, _RGB), 4: _vector(b, [unit]), 5: in_stats})
    # output: one-channel person probability with a labels file
    labels = _table(b, 5, {0: _string(b, LABELS_FILE),
                           1: _string(b, "Labels for categories that the model can recognize.")},
                    scalars={2: ("Int8", _TENSOR_AXIS_LABELS)})
    out_stats = _table(b, 2)
    out_tensor = _table(b, 7, {0: _string(b, "segmentation_masks"),
                               1: _string(b, "Person probability in [0, 1]."),
                               3: _image_content(b, _GRAYSCALE, value_range=(1, 2)),
                               5: out_stats, 6: _vector(b, [labels])})
    custom = _table(b, 2, {0: _string(b, "SEGMENTER_METADATA"),
                           1: b.CreateByteVector(_segmenter_options())})
    subgraph = _table(b, 10, {2: _vector(b, [in_tensor]), 3: _vector(b, [out_tensor]),
                              9: _vector(b, [custom])})
    root = _table(b, 8, {0: _string(b, name), 1: _string(b, description),
                         2: _string(b, __version__), 3: _vector(b, [subgraph]),
                         4: _string(b, "bgseg"), 7: _string(b, MIN_PARSER_VERSION)})
    b.Finish(root, file_identifier=b"M001")
    return bytes(b.Output())


def _set_entry(model, name, data):
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, np.uint8)
    for entry in model.metadata or []:
        if flatbuffer.tensor_name(entry) == name:
            model.buffers[entry.buffer] = buffer
            return
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]


def attach(data, info, labels=("person",)):
    """Return `.tflite` bytes with segmenter metadata, the labels zip and the bgseg JSON entry."""
    model = flatbuffer.read_model(data)
    description = (
        f"bgseg person segmentation, input [1, H, W, {info['input']['shape'][3]}] in [0, 1], "
        f"output [1, H, W, 1] person probability"
    )
    _set_entry(model, TFLITE_METADATA, segmenter_metadata(info["model"], description))
    _set_entry(model, BGSEG_METADATA, json.dumps(info, sort_keys=True).encode())
    out = io.BytesIO(flatbuffer.write_model(model))
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr(LABELS_FILE, "\n".join(labels) + "\n")
    return out.getvalue()


def read_entry(data, name):
    """The raw bytes of the model metadata entry `name`, or None."""
    model = schema.Model.GetRootAs(bytearray(data), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode() == name:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def read_bgseg_metadata(data):
    """bgseg's JSON entry of `.tflite` bytes as a dict, or None when the file has none."""
    raw = read_entry(bytes(data), BGSEG_METADATA)
    return None if raw is None else json.loads(raw)


def associated_files(data):
    """Names of the files zipped onto the model (e.g. `labels.txt`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            return archive.namelist()
    except zipfile.BadZipFile:
        return []
