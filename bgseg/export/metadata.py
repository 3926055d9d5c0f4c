"""MediaPipe-Tasks image-segmenter metadata and bgseg's JSON entry, written without tflite-support.

The TFLite metadata flatbuffer (`metadata_schema.fbs`, file identifier `M001`) is built with the
schema's flatc-generated object API (`bgseg/export/schema`, vendored from MediaPipe); it mirrors
what MediaPipe's `metadata_writers.image_segmenter.MetadataWriter` writes (RGB image input
normalized with mean 0 / std 255, GRAYSCALE `segmentation_masks` output with a `labels.txt`,
`SEGMENTER_METADATA` activation NONE because the model ends in a sigmoid). It goes into the
model's `TFLITE_METADATA` buffer, the associated files are appended as a zip (like tflite-support's
populator), and bgseg's own JSON (contract version, sizes, channels, quantization, training
data) is the `BGSEG_METADATA` entry.
"""

import io
import json
import zipfile

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from bgseg import contract, flatbuffer
from bgseg.export.schema import image_segmenter_metadata_schema_py_generated as iss
from bgseg.export.schema import metadata_schema_py_generated as mds
from bgseg.version import __version__

CONTRACT_VERSION = 1
TFLITE_METADATA = "TFLITE_METADATA"
BGSEG_METADATA = "BGSEG_METADATA"
MIN_PARSER_VERSION = "1.5.0"  # SubGraphMetadata.custom_metadata needs metadata parser 1.5.0
LABELS_FILE = "labels.txt"

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


def segmenter_metadata(name, description):
    """The MediaPipe image-segmenter `ModelMetadata` flatbuffer (bytes, identifier M001), built
    with the metadata schema's generated object API."""
    image = mds.TensorMetadataT()
    image.name = "image"
    image.description = ("Input image (RGB; the alpha channel of 4-channel models carries the "
                         "previous mask).")
    image.content = _image_content(mds.ColorSpaceType.RGB)
    normalization = mds.NormalizationOptionsT()
    normalization.mean = [contract.NORMALIZATION["mean"]]
    normalization.std = [contract.NORMALIZATION["std"]]
    unit = mds.ProcessUnitT()
    unit.optionsType = mds.ProcessUnitOptions.NormalizationOptions
    unit.options = normalization
    image.processUnits = [unit]
    image.stats = mds.StatsT()
    image.stats.max, image.stats.min = [contract.VALUE_RANGE[1]], [contract.VALUE_RANGE[0]]

    labels = mds.AssociatedFileT()
    labels.name = LABELS_FILE
    labels.description = "Labels for categories that the model can recognize."
    labels.type = mds.AssociatedFileType.TENSOR_AXIS_LABELS
    masks = mds.TensorMetadataT()
    masks.name = "segmentation_masks"
    masks.description = "Person probability in [0, 1]."
    masks.content = _image_content(mds.ColorSpaceType.GRAYSCALE, value_range=(1, 2))
    masks.stats = mds.StatsT()
    masks.associatedFiles = [labels]

    options = iss.ImageSegmenterOptionsT()
    options.activation = iss.Activation.NONE  # the model ends in a sigmoid already
    custom = mds.CustomMetadataT()
    custom.name = "SEGMENTER_METADATA"
    custom.data = list(_pack(options, b"V001"))

    subgraph = mds.SubGraphMetadataT()
    subgraph.inputTensorMetadata, subgraph.outputTensorMetadata = [image], [masks]
    subgraph.customMetadata = [custom]
    root = mds.ModelMetadataT()
    root.name, root.description, root.version = name, description, __version__
    root.author, root.minParserVersion = "bgseg", MIN_PARSER_VERSION
    root.subgraphMetadata = [subgraph]
    return _pack(root, b"M001")


def _image_content(color_space, value_range=None):
    properties = mds.ImagePropertiesT()
    properties.colorSpace = color_space
    content = mds.ContentT()
    content.contentPropertiesType = mds.ContentProperties.ImageProperties
    content.contentProperties = properties
    if value_range:
        content.range = mds.ValueRangeT()
        content.range.min, content.range.max = value_range
    return content


def _pack(table, identifier):
    builder = flatbuffers.Builder(1024)
    builder.Finish(table.Pack(builder), file_identifier=identifier)
    return bytes(builder.Output())


def read_segmenter_metadata(model_data):
    """The TFLite metadata of `.tflite` bytes as a plain dict (every field, read with the schema),
    its SEGMENTER_METADATA options decoded; for checks and the golden test."""
    return parse_segmenter_metadata(read_entry(model_data, TFLITE_METADATA))


def parse_segmenter_metadata(buf):
    """A `ModelMetadata` flatbuffer (bytes) as a plain dict; see `read_segmenter_metadata`."""
    if buf[4:8] != b"M001":
        raise ValueError("the TFLITE_METADATA buffer is not a metadata flatbuffer (M001)")
    tree = _plain(mds.ModelMetadataT.InitFromPackedBuf(bytearray(buf), 0))
    for subgraph in tree.get("subgraphMetadata") or []:
        for custom in subgraph.get("customMetadata") or []:
            if custom["name"] == "SEGMENTER_METADATA":
                custom["data"] = _plain(iss.ImageSegmenterOptionsT.InitFromPackedBuf(
                    bytearray(bytes(custom["data"])), 0))
    return tree


def _plain(value):
    """An object-API tree as JSON-ready dicts, lists, numbers and strings."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in sorted(vars(value).items())}
    return value


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


def attach(model, info, labels=("person",)):
    """`.tflite` bytes of `model` (a parsed `schema.ModelT`, or bytes) with the segmenter
    metadata, the labels zip and the bgseg JSON entry."""
    if not isinstance(model, schema.ModelT):
        model = flatbuffer.read_model(model)
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
