"""bgseg: real-time person segmentation and background removal.

Importing `bgseg` is cheap: the Keras side (`build_model`, `losses`, `metrics`) loads
TensorFlow/Keras only when first touched, and the inference side (`load`, `Segmenter`,
`VideoSegmenter`) needs only numpy, OpenCV and ai-edge-litert.
"""

import importlib

from bgseg.version import __version__

_LAZY = {
    "build_model": ("bgseg.models", "build_model"),
    "PRESETS": ("bgseg.models", "PRESETS"),
    "losses": ("bgseg.losses", None),
    "metrics": ("bgseg.metrics", None),
    "load": ("bgseg.runtime", "load"),
    "Segmenter": ("bgseg.runtime", "Segmenter"),
    "VideoSegmenter": ("bgseg.runtime", "VideoSegmenter"),
    "remove": ("bgseg.api", "remove"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'bgseg' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value
