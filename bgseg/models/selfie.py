"""The MediaPipe selfie-segmenter architecture (ML Kit selfie segmentation), rebuilt in Keras.

A MobileNetV3-small-like encoder down to 1/16, an LR-ASPP-style head and a three-stage decoder with
squeeze-excitation gated skips, then a 2x2 stride-2 transposed convolution to full resolution:

1. **Stem**: 3x3 stride-2 convolution + hard-swish (1/2).
2. **Encoder**: inverted bottlenecks (1x1 expand, depthwise, optional squeeze-excitation, 1x1
   project, residual when the shape is kept), ReLU in the early blocks and hard-swish later
   (`ENCODER_BLOCKS`), down to 1/16 with 32 channels.
3. **Head**: ReLU 1x1 to 128 channels multiplied by a sigmoid gate computed from the global average.
4. **Decoder** (three stages, 1/16 -> 1/2): bilinear x2 of the running features, 1x1 to the skip's
   width; a squeeze-excitation gate from `skip + up` multiplies the skip, `up` is added back; then a
   1x1 ReLU convolution and a residual 3x3 depthwise ReLU convolution.
5. **Output**: `Conv2DTranspose(1, 2, strides=2)` + sigmoid: the person probability at full size.

The MediaPipe `.tflite` (Apache-2.0) converts to this model exactly
(`bgseg.models.convert_mediapipe`). With `input_shape[-1] == 4` the 4th channel is the previous
frame's mask; its stem weights start at zero, so the converted 4-channel model is identical to the
3-channel original until it is fine-tuned. The squeeze-excitation averages pool over the whole
feature map of the input size given, so any input size (a multiple of 16) works.
"""

from bgseg.contract import INPUT_NAME, OUTPUT_NAME
from bgseg.models import blocks

# (depthwise kernel, expanded width, output width, squeeze-excitation width or 0, activation,
# stride)
ENCODER_BLOCKS = (
    (3, 16, 16, 8, "relu", 2),
    (3, 72, 24, 0, "relu", 2),
    (3, 88, 24, 0, "relu", 1),
    (5, 96, 32, 24, "hard_swish", 2),
    (5, 128, 32, 32, "hard_swish", 1),
    (5, 128, 32, 32, "hard_swish", 1),
    (5, 96, 32, 24, "hard_swish", 1),
    (5, 96, 32, 24, "hard_swish", 1),
)
STEM_FILTERS = 16
HEAD_FILTERS = 128
# Decoder stages, deepest first: (encoder output index used as the skip, width)
DECODER_SKIPS = ((2, 24), (0, 16), ("stem", 16))


def build_selfie(input_shape=(256, 256, 4), name="selfie", keras_module=None,
                 expand_multiplier=1):
    """Build the selfie-segmenter network as a plain functional model.

    Args:
        input_shape: (H, W, C): C = 4 (video: RGB + previous mask) or 3 (image); H and W multiples
            of 16. RGB in [0, 1].
        keras_module: `keras` (default) or `tf_keras` to build the QAT twin from the same code.
        expand_multiplier: an integer that multiplies the hidden widths (every block's expanded
            width and the head's filters) and leaves the widths between blocks as they are: the
            wider models `bgseg.models.widen` initialises from a trained 1x model.
    """
    K = blocks.resolve_keras(keras_module)
    height, width, channels = input_shape
    if channels not in (3, 4):
        raise ValueError(f"selfie input must have 3 (image) or 4 (video) channels, got {channels}")
    if not isinstance(expand_multiplier, int) or expand_multiplier < 1:
        raise ValueError(f"expand_multiplier must be an integer >= 1, got {expand_multiplier!r}")
    if height % 16 or width % 16:
        raise ValueError(f"selfie input size must be a multiple of 16, got {height}x{width}")

    inputs = K.Input(shape=input_shape, name=INPUT_NAME)
    stem = K.layers.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", name="stem_conv")(inputs)
    stem = _activation(K, stem, "hard_swish", "stem_act")
    x, features = stem, []
    for i, (kernel, expand, out, se, act, stride) in enumerate(ENCODER_BLOCKS):
        x = _inverted_bottleneck(K, x, kernel, expand * expand_multiplier, out, se, act, stride,
                                 f"enc{i}")
        features.append(x)

    head_filters = HEAD_FILTERS * expand_multiplier
    gate = _gate(K, x, head_filters, None, "head_gate")
    x = K.layers.Conv2D(head_filters, 1, activation="relu", name="head_conv")(x)
    x = K.layers.Multiply(name="head_mul")([x, gate])

    for stage, (skip_index, width_) in enumerate(DECODER_SKIPS):
        skip = stem if skip_index == "stem" else features[skip_index]
        x = _decoder_stage(K, x, skip, width_, f"dec{stage}")
    logits = K.layers.Conv2DTranspose(1, 2, strides=2, padding="same", name="segment")(x)
    outputs = K.layers.Activation("sigmoid", name=OUTPUT_NAME)(logits)
    return K.Model(inputs, outputs, name=name)


def _activation(K, x, kind, name):
    if kind == "relu":
        return K.layers.ReLU(name=name)(x)
    if hasattr(K.activations, "hard_swish"):
        return K.layers.Activation("hard_swish", name=name)(x)
    # tf_keras has no hard_swish: x * relu6(x + 3) / 6 from builtin layers (TFLite fuses it back)
    y = K.layers.Rescaling(1.0, offset=3.0, name=f"{name}_plus3")(x)
    y = K.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(y)
    y = K.layers.Rescaling(1.0 / 6.0, name=f"{name}_div6")(y)
    return K.layers.Multiply(name=name)([x, y])


def _gate(K, x, filters, squeeze, name):
    """Sigmoid channel gate from the global average: [1x1 ReLU to `squeeze`], 1x1 to `filters`.

    The average is a full-size `AveragePooling2D` (TFLite AVERAGE_POOL_2D, as in MediaPipe's file),
    not a global MEAN: the GPU delegate's MEAN over a 128x128 map in float16 moved single output
    pixels by up to 0.76 against the CPU, AVERAGE_POOL_2D by 0.05."""
    y = K.layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name=f"{name}_pool")(x)
    if squeeze:
        y = K.layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_reduce")(y)
    return K.layers.Conv2D(filters, 1, activation="sigmoid", name=f"{name}_expand")(y)


def _inverted_bottleneck(K, x, kernel, expand, out, se, act, stride, name):
    shortcut = x
    y = K.layers.Conv2D(expand, 1, name=f"{name}_expand")(x)
    y = _activation(K, y, act, f"{name}_expand_act")
    y = K.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", name=f"{name}_dw")(y)
    y = _activation(K, y, act, f"{name}_dw_act")
    if se:
        y = K.layers.Multiply(name=f"{name}_se_mul")([y, _gate(K, y, expand, se, f"{name}_se")])
    y = K.layers.Conv2D(out, 1, name=f"{name}_project")(y)
    if stride == 1 and shortcut.shape[-1] == out:
        y = K.layers.Add(name=f"{name}_add")([y, shortcut])
    return y


def _decoder_stage(K, x, skip, filters, name):
    up = blocks.upsample(K, x, 2, name=f"{name}_up")
    up = K.layers.Conv2D(filters, 1, name=f"{name}_up_conv")(up)
    mixed = K.layers.Add(name=f"{name}_mix")([skip, up])
    gated = K.layers.Multiply(name=f"{name}_skip_mul")([skip, _gate(K, mixed, filters, filters,
                                                                    f"{name}_se")])
    x = K.layers.Add(name=f"{name}_merge")([gated, up])
    x = K.layers.Conv2D(filters, 1, activation="relu", name=f"{name}_conv")(x)
    y = K.layers.DepthwiseConv2D(3, padding="same", activation="relu", name=f"{name}_dw")(x)
    return K.layers.Add(name=f"{name}_add")([x, y])


def checkpoint_layer_order():
    """Names of the weighted layers in the order the original Keras model created them, per kind:
    `{"Conv2D": [...], "DepthwiseConv2D": [...], "Conv2DTranspose": [...]}`. The MediaPipe
    `.tflite` keeps those original names (`conv2d`, `conv2d_1`, ..., `depthwise_conv2d_N`,
    `segment`), which is how `convert_mediapipe` maps its tensors onto this model."""
    conv, dw = ["stem_conv"], []
    for i, (_, _, _, se, _, _) in enumerate(ENCODER_BLOCKS):
        conv.append(f"enc{i}_expand")
        dw.append(f"enc{i}_dw")
        if se:
            conv += [f"enc{i}_se_reduce", f"enc{i}_se_expand"]
        conv.append(f"enc{i}_project")
    conv += ["head_conv", "head_gate_expand"]
    for stage in range(len(DECODER_SKIPS)):
        conv += [f"dec{stage}_up_conv", f"dec{stage}_se_reduce", f"dec{stage}_se_expand",
                 f"dec{stage}_conv"]
        dw.append(f"dec{stage}_dw")
    return {"Conv2D": conv, "DepthwiseConv2D": dw, "Conv2DTranspose": ["segment"]}
