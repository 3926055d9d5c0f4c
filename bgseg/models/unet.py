"""A plain U-Net baseline (Ronneberger et al. 2015) with batch norm and same padding."""

from bgseg.contract import INPUT_NAME, OUTPUT_NAME
from bgseg.models import blocks


def build_unet(input_shape=(256, 256, 3), base_filters=16, depth=4, name="unet", keras_module=None):
    """Encoder of `depth` (conv-BN-ReLU x2, max pool) stages doubling filters, a bridge, and a
    decoder of 2x2 stride-2 transposed convs concatenated with the skips; sigmoid 1x1 output."""
    K = blocks.resolve_keras(keras_module)
    height, width, channels = input_shape
    if height % 2 ** depth or width % 2 ** depth:
        raise ValueError(f"unet input size must be a multiple of {2**depth}, got {height}x{width}")
    if channels not in (3, 4):
        raise ValueError(f"unet input must have 3 or 4 channels, got {channels}")

    inputs = K.Input(shape=input_shape, name=INPUT_NAME)
    x, skips = inputs, []
    for level in range(depth):
        filters = base_filters * 2 ** level
        x = blocks.conv_bn_relu(K, x, filters, name=f"enc{level}_a")
        x = blocks.conv_bn_relu(K, x, filters, name=f"enc{level}_b")
        skips.append(x)
        x = K.layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
    x = blocks.conv_bn_relu(K, x, base_filters * 2 ** depth, name="bridge_a")
    x = blocks.conv_bn_relu(K, x, base_filters * 2 ** depth, name="bridge_b")
    for level in reversed(range(depth)):
        filters = base_filters * 2 ** level
        x = K.layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"dec{level}_up")(
            x
        )
        x = K.layers.Concatenate(name=f"dec{level}_cat")([x, skips[level]])
        x = blocks.conv_bn_relu(K, x, filters, name=f"dec{level}_a")
        x = blocks.conv_bn_relu(K, x, filters, name=f"dec{level}_b")
    outputs = K.layers.Conv2D(1, 1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return K.Model(inputs, outputs, name=name)
