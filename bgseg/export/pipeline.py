"""`export_tflite`: convert (or QAT), name the tensors, check GPU rules, add metadata, write.

The one place that orders the export steps; `convert` (the converter core) and `qat` (its
TF-MOT child process) never import it. The converted flatbuffer is parsed once: the tensor
naming, the GPU check and the metadata all work on the same `schema.ModelT`.
"""

import dataclasses
import pathlib
import warnings

from bgseg import flatbuffer, io
from bgseg.export import gpu_check
from bgseg.export.convert import (  # noqa: F401
    ExportError,
    convert_keras,
    load_keras_model,
    model_input_shape,
    name_io_tensors,
)
from bgseg.export.quantization import QuantizationConfig


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


def export_tflite(model_or_path, output_path, config=None, representative_data=None, metadata=None,
                  allow_cpu_ops=False, overwrite=False, preset=None):
    """Convert a Keras model (or `.keras` file) to a GPU-checked `.tflite` with segmenter metadata.

    Args:
        model_or_path: a Keras model or the path of a `.keras` file.
        output_path: the `.tflite` to write; an existing file is kept unless `overwrite`.
        config: a `QuantizationConfig` (default float16).
        representative_data: for int8/qat: a folder of images, an array `[N, H, W, C]` in [0, 1]
            or a dataset of such batches (or of `(x, y)` pairs; QAT trains on the pairs).
        metadata: extra fields for bgseg's JSON metadata entry (e.g. `{"training_data": "..."}`),
            or `False` to write no metadata at all.
        allow_cpu_ops: warn instead of failing when the static GPU-delegate check finds problems.
        overwrite: replace an existing `output_path`.
        preset: QAT only: the preset (name or `Preset`) the model was built from, when
            `model.name` is not a preset name.
    Returns:
        `ExportResult`.
    """
    config = config or QuantizationConfig.float16()
    path = pathlib.Path(output_path)
    if path.exists() and not overwrite:
        raise io.OutputExists(path)
    model = load_keras_model(model_or_path)
    shape = model_input_shape(model)
    if config.mode == "qat":
        from bgseg.export import qat

        data = qat.quantize_aware_convert(model, config, representative_data, preset=preset)
    else:
        data = convert_keras(model, config, representative_data)
    graph = name_io_tensors(flatbuffer.read_model(data))  # parsed once from here on

    report = gpu_check.check_model(graph)
    # integer computation is what int8/qat files are for (CPU/NNAPI); anything else must be fixed
    if report.problems or (report.cpu_only and not config.is_integer):
        message = f"{path.name}: not fully GPU-delegate compatible:\n{report.summary()}"
        if not allow_cpu_ops:
            raise gpu_check.GpuCompatibilityError(message + "\n(pass allow_cpu_ops=True / "
                                                  "--allow-cpu-ops to write it anyway)")
        warnings.warn(message, stacklevel=2)

    info = None
    if metadata is False:
        data = flatbuffer.write_model(graph)
    else:
        from bgseg.export import metadata as metadata_writer

        info = metadata_writer.bgseg_info(model, shape, config, extra=metadata or {})
        data = metadata_writer.attach(graph, info)
    io.write_bytes(path, data, overwrite)
    return ExportResult(path=path, size_bytes=path.stat().st_size, config=config,
                        input_shape=(1, *shape), gpu_report=report, metadata=info)
