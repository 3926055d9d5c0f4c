"""Keras -> TFLite export: quantization modes, GPU-delegate check, MediaPipe metadata.

    from bgseg.export import QuantizationConfig, export_tflite
    export_tflite("model.keras", "model_fp16.tflite", QuantizationConfig.float16())

Importing this package is cheap; TensorFlow loads on the first conversion.
"""

from bgseg.export.convert import ExportError, ExportResult, export_tflite
from bgseg.export.gpu_check import GpuCompatibilityError, GpuReport, check_model
from bgseg.export.quantization import QuantizationConfig

__all__ = [
    "ExportError",
    "ExportResult",
    "GpuCompatibilityError",
    "GpuReport",
    "QuantizationConfig",
    "check_model",
    "export_tflite",
]
