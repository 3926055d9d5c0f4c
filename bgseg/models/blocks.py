"""Layer recipes shared by the builders.

Every function takes the Keras module (`keras` or `tf_keras`) as its first argument so the same code
builds the Keras 3 model and its tf_keras twin for quantization-aware training. Only layers that
convert to TFLite GPU-delegate ops are used (conv, depthwise conv, transposed conv, bilinear resize,
concat, add, relu, sigmoid, max pool); there are no Lambda layers.
"""


def resolve_keras(keras_module=None):
    """The Keras module to build with: `keras` (Keras 3) unless `tf_keras` is passed for a QAT
    twin."""
    if keras_module is None:
        try:
            import keras
        except ModuleNotFoundError:
            from bgseg.install import install_command

            raise ImportError('building models needs Keras and TensorFlow: '
                              f'{install_command("train")}') from None
        return keras
    return keras_module


def conv_bn_relu(K, x, filters, kernel_size=3, strides=1, name=None, activation="relu"):
    """Conv (no bias) -> BatchNorm -> ReLU. BatchNorm folds into the conv on export."""
    x = K.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                        name=f"{name}_conv")(x)
    x = K.layers.BatchNormalization(name=f"{name}_bn")(x)
    if activation:
        x = K.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def bottleneck(K, x, filters, compression=16, strides=1, name=None):
    """ResNet bottleneck whose middle is compressed `compression`x (16x or 32x, not the usual 4x).

    1x1 reduce to `filters // compression` channels, 3x3 (strided when downsampling), 1x1 expand to
    `filters`, plus a shortcut (1x1 strided projection when the shape changes).
    """
    mid = max(filters // compression, 2)
    shortcut = x
    y = conv_bn_relu(K, x, mid, 1, name=f"{name}_reduce")
    y = conv_bn_relu(K, y, mid, 3, strides=strides, name=f"{name}_mid")
    y = conv_bn_relu(K, y, filters, 1, name=f"{name}_expand", activation=None)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_bn_relu(K, x, filters, 1, strides=strides, name=f"{name}_proj",
                                activation=None)
    y = K.layers.Add(name=f"{name}_add")([y, shortcut])
    return K.layers.Activation("relu", name=f"{name}_out")(y)


def upsample(K, x, factor, name):
    """Bilinear upsampling (TFLite RESIZE_BILINEAR, half-pixel centres, GPU-delegate friendly)."""
    return K.layers.UpSampling2D(size=factor, interpolation="bilinear", name=name)(x)


def dense_block(K, x, layers, growth, name, kernel_size=3, dropout=0.0, return_new=False,
                separable=False):
    """DenseNet block: each layer (BN-ReLU-Conv) sees the concatenation of all previous outputs.

    `separable` makes each layer a depthwise 3x3 (multiplier 1) followed by a 1x1 conv with ReLU and
    no batch norm: at full resolution every extra elementwise op costs a full pass over memory, and
    the pre-activation batch norm of a classic dense layer cannot be folded into a convolution.

    Returns the block's full output, or only the newly produced feature maps when `return_new`
    (the FC-DenseNet upsampling path uses that to keep the feature count linear).
    """
    new_features = []
    for i in range(layers):
        if separable:
            y = K.layers.DepthwiseConv2D(kernel_size, padding="same", name=f"{name}_l{i}_dw")(x)
            y = K.layers.Conv2D(growth, 1, activation="relu", name=f"{name}_l{i}_conv")(y)
        else:
            y = K.layers.BatchNormalization(name=f"{name}_l{i}_bn")(x)
            y = K.layers.Activation("relu", name=f"{name}_l{i}_relu")(y)
            y = K.layers.Conv2D(growth, kernel_size, padding="same", name=f"{name}_l{i}_conv")(y)
        if dropout:
            y = K.layers.Dropout(dropout, name=f"{name}_l{i}_drop")(y)
        new_features.append(y)
        x = K.layers.Concatenate(name=f"{name}_l{i}_cat")([x, y])
    if return_new:
        if len(new_features) == 1:
            return x, new_features[0]
        return x, K.layers.Concatenate(name=f"{name}_new")(new_features)
    return x
