"""Model builders (plain functional Keras models) and their presets."""

from bgseg.models.hourglass import build_hourglass
from bgseg.models.presets import BUILDERS, PRESETS, Preset, build_model, get_preset
from bgseg.models.selfie import build_selfie
from bgseg.models.tiramisu import build_tiramisu
from bgseg.models.unet import build_unet

__all__ = [
    "BUILDERS",
    "PRESETS",
    "Preset",
    "build_hourglass",
    "build_model",
    "build_selfie",
    "build_tiramisu",
    "build_unet",
    "get_preset",
]
