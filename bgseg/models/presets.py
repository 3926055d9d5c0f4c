"""Presets as data: builder name, builder kwargs, input size, normalization and parameter count."""

import dataclasses

from bgseg.models.hourglass import build_hourglass
from bgseg.models.selfie import build_selfie
from bgseg.models.tiramisu import build_tiramisu
from bgseg.models.unet import build_unet

BUILDERS = {"hourglass": build_hourglass, "selfie": build_selfie, "tiramisu": build_tiramisu,
            "unet": build_unet}


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named configuration of one builder. `parameters` is checked by the test suite."""

    name: str
    builder: str
    kwargs: dict
    parameters: int
    description: str

    @property
    def input_shape(self):
        return tuple(self.kwargs["input_shape"])

    @property
    def channels(self):
        return self.input_shape[-1]


def _preset(name, builder, parameters, description, **kwargs):
    return Preset(name, builder, kwargs, parameters, description)


PRESETS = {
    p.name: p
    for p in [
        _preset(
            "selfie_256",
            "selfie",
            106_545,
            "MediaPipe selfie-segmenter architecture, 256x256, "
            "RGB + previous mask (the default video model)",
            input_shape=(256, 256, 4),
        ),
        _preset(
            "selfie_image_256",
            "selfie",
            106_401,
            "MediaPipe selfie-segmenter architecture, 256x256, RGB only (the default image model)",
            input_shape=(256, 256, 3),
        ),
        _preset(
            "selfie_image_256_x2",
            "selfie",
            207_233,
            "MediaPipe selfie-segmenter architecture, 256x256, RGB only, twice the hidden "
            "channels (widened from a 1x model by bgseg.models.widen)",
            input_shape=(256, 256, 3),
            expand_multiplier=2,
        ),
        _preset(
            "selfie_image_256_x4",
            "selfie",
            408_897,
            "MediaPipe selfie-segmenter architecture, 256x256, RGB only, four times the hidden "
            "channels (widened from a 1x model by bgseg.models.widen)",
            input_shape=(256, 256, 3),
            expand_multiplier=4,
        ),
        _preset(
            "selfie_384",
            "selfie",
            106_545,
            "MediaPipe selfie-segmenter architecture, 384x384, RGB + previous mask (a quality "
            "video model for offline video: 2.25x the pixels of the default)",
            input_shape=(384, 384, 4),
        ),
        _preset(
            "selfie_image_384",
            "selfie",
            106_401,
            "MediaPipe selfie-segmenter architecture, 384x384, RGB only (the quality model for "
            "photos: 2.25x the pixels of the default)",
            input_shape=(384, 384, 3),
        ),
        _preset(
            "selfie_144x256",
            "selfie",
            106_545,
            "MediaPipe selfie-segmenter architecture, "
            "landscape 144x256 (H x W), RGB + previous mask",
            input_shape=(144, 256, 4),
        ),
        _preset(
            "hourglass_256",
            "hourglass",
            95_597,
            "video model, 256x256, RGB + previous mask",
            input_shape=(256, 256, 4),
        ),
        _preset(
            "hourglass_144x256",
            "hourglass",
            59_065,
            "landscape video model, 144x256 (H x W), encoder down to 1/16",
            input_shape=(144, 256, 4),
            encoder_filters=(32, 64, 256),
        ),
        _preset(
            "hourglass_image_256",
            "hourglass",
            94_770,
            "image model, 256x256, RGB only",
            input_shape=(256, 256, 3),
        ),
        _preset(
            "hourglass_small_256",
            "hourglass",
            57_103,
            "small video model, 256x256, under 250k params",
            input_shape=(256, 256, 4),
            encoder_filters=(24, 48, 96, 192),
            decoder_filters=24,
        ),
        _preset(
            "tiramisu_56",
            "tiramisu",
            1_396_033,
            "FC-DenseNet56 (4 layers/block, growth 12)",
            input_shape=(224, 224, 3),
            down_layers=(4,) * 5,
            bottleneck_layers=4,
            growth=12,
        ),
        _preset(
            "tiramisu_67",
            "tiramisu",
            3_500_033,
            "FC-DenseNet67 (5 layers/block, growth 16)",
            input_shape=(224, 224, 3),
            down_layers=(5,) * 5,
            bottleneck_layers=5,
            growth=16,
        ),
        _preset(
            "tiramisu_103",
            "tiramisu",
            9_422_593,
            "FC-DenseNet103 (growth 16)",
            input_shape=(224, 224, 3),
            down_layers=(4, 5, 7, 10, 12),
            bottleneck_layers=15,
            growth=16,
        ),
        _preset(
            "unet_256",
            "unet",
            1_945_521,
            "plain U-Net baseline, 256x256 RGB",
            input_shape=(256, 256, 3),
            base_filters=16,
            depth=4,
        ),
    ]
}


def get_preset(name):
    """Return the preset called `name`, or raise a KeyError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}, "
                       f"or a builder name: {', '.join(sorted(BUILDERS))}") from None


def build_model(name_or_preset, keras_module=None, weights=None, **overrides):
    """Build a model from a preset name (kwargs overridable) or a bare builder name.

    `build_model("hourglass_256")`, `build_model("hourglass", input_shape=(128, 128, 3))`,
    `build_model("tiramisu_103", keras_module=tf_keras)` for a tf_keras twin,
    `build_model("selfie_256", weights="mediapipe_selfie")` with pretrained weights
    (`bgseg.models.pretrained`).
    """
    if isinstance(name_or_preset, Preset):
        preset = name_or_preset
    elif name_or_preset in BUILDERS:
        model = BUILDERS[name_or_preset](keras_module=keras_module, **overrides)
        return _with_weights(model, weights)
    else:
        preset = get_preset(name_or_preset)
    kwargs = {**preset.kwargs, **overrides}
    kwargs.setdefault("name", preset.name)
    return _with_weights(BUILDERS[preset.builder](keras_module=keras_module, **kwargs), weights)


def _with_weights(model, weights):
    if weights is not None:
        from bgseg.models.pretrained import apply_pretrained

        apply_pretrained(model, weights)
    return model
