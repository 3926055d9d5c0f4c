"""FC-DenseNet ("The One Hundred Layers Tiramisu", Jegou et al. 2017) for person segmentation.

Down path: a 3x3 convolution, then dense blocks each followed by a transition down (BN-ReLU-1x1
conv-dropout-2x2 max pool), keeping each block's output as a skip connection. A bottleneck dense
block. Up path: a transition up (3x3 stride-2 transposed convolution of only the features the
previous block produced), concatenation with the skip, and a dense block. A 1x1 sigmoid convolution
outputs the person probability. Dense layers are BN-ReLU-3x3 conv-dropout.
"""

from bgseg.contract import INPUT_NAME, OUTPUT_NAME
from bgseg.models import blocks


def build_tiramisu(
    input_shape=(224, 224, 3),
    first_filters=48,
    down_layers=(4, 5, 7, 10, 12),
    bottleneck_layers=15,
    growth=16,
    dropout=0.2,
    name="tiramisu",
    keras_module=None,
):
    """Build an FC-DenseNet. Defaults are FC-DenseNet103 (growth 16, ~9.4M parameters)."""
    K = blocks.resolve_keras(keras_module)
    height, width, channels = input_shape
    factor = 2 ** len(down_layers)
    if height % factor or width % factor:
        raise ValueError(
            f"tiramisu input size must be a multiple of {factor}, got {height}x{width}"
        )
    if channels not in (3, 4):
        raise ValueError(f"tiramisu input must have 3 or 4 channels, got {channels}")

    inputs = K.Input(shape=input_shape, name=INPUT_NAME)
    x = K.layers.Conv2D(first_filters, 3, padding="same", name="first_conv")(inputs)
    skips = []
    for i, n in enumerate(down_layers):
        x = blocks.dense_block(K, x, n, growth, name=f"down{i}", dropout=dropout)
        skips.append(x)
        x = _transition_down(K, x, dropout, name=f"td{i}")
    _, x = blocks.dense_block(K, x, bottleneck_layers, growth, name="bottleneck", dropout=dropout,
                              return_new=True)
    for i, n in reversed(list(enumerate(down_layers))):
        x = K.layers.Conv2DTranspose(x.shape[-1], 3, strides=2, padding="same", name=f"tu{i}")(x)
        x = K.layers.Concatenate(name=f"up{i}_skip")([x, skips[i]])
        last = i == 0
        full, new = blocks.dense_block(K, x, n, growth, name=f"up{i}", dropout=dropout,
                                       return_new=True)
        x = full if last else new
    outputs = K.layers.Conv2D(1, 1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return K.Model(inputs, outputs, name=name)


def _transition_down(K, x, dropout, name):
    x = K.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = K.layers.Activation("relu", name=f"{name}_relu")(x)
    x = K.layers.Conv2D(x.shape[-1], 1, padding="same", name=f"{name}_conv")(x)
    if dropout:
        x = K.layers.Dropout(dropout, name=f"{name}_drop")(x)
    return K.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
