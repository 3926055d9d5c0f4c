"""Keras -> TFLite export: quantization modes, GPU-delegate check, MediaPipe metadata.

    from bgseg.export import QuantizationConfig, export_tflite
    export_tflite("model.keras", "model_fp16.tflite", QuantizationConfig.float16())

Importing this package is cheap (its names load on first use, so the CLI can read
`bgseg.export.quantization.MODES` without LiteRT); TensorFlow loads on the first conversion.
"""

import importlib

_HOMES = {"ExportError": "convert", "ExportResult": "pipeline", "export_tflite": "pipeline",
          "GpuCompatibilityError": "gpu_check", "GpuReport": "gpu_check",
          "check_model": "gpu_check", "QuantizationConfig": "quantization"}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'bgseg.export' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bgseg.export.{_HOMES[name]}"), name)


__all__ = [
    "ExportError",
    "ExportResult",
    "GpuCompatibilityError",
    "GpuReport",
    "QuantizationConfig",
    "check_model",
    "export_tflite",
]
