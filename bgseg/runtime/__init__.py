"""TensorFlow-free TFLite runtime: model loading, Segmenter / VideoSegmenter, post-processing."""

from bgseg.runtime.interpreter import ModelContractError, TFLiteModel
from bgseg.runtime.registry import resolve_model, shipped_models
from bgseg.runtime.segmenter import Segmenter, VideoSegmenter, load

__all__ = ["ModelContractError", "Segmenter", "TFLiteModel", "VideoSegmenter", "load",
           "resolve_model", "shipped_models"]
