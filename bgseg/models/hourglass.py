"""The mobile hourglass network for real-time video person segmentation.

Architecture (after the real-time mobile GPU segmentation designs of MediaPipe's hair/selfie
models):

1. **Stem**: one convolution with a large kernel (7x7) and stride 4 on the full-resolution input, so
   almost no compute is spent at full resolution.
2. **Encoder**: aggressive downsampling (to 1/32 with four stages) through ResNet **bottleneck
   blocks whose middle is compressed 16x or 32x** (`compression`), not the usual 4x: cheap wide
   features.
3. **Decoder**: bilinear upsampling with **U-Net-style skip connections** (added encoder features)
   and bottleneck blocks at each scale, back to 1/4, then bilinear to full resolution.
4. **Refinement head**: the upsampled features are concatenated with the full-resolution input and
   passed through several **DenseNet-style layers at full output resolution** to sharpen edges
   (depthwise-separable, so full resolution stays cheap).
5. **Output**: a 1-channel sigmoid person probability at input resolution.

Input `(H, W, 4)`: RGB in [0, 1] plus the previous frame's mask in [0, 1] (zeros on a first frame),
which gives temporal consistency without recurrent layers. With `channels=3` the same network is the
image variant (no previous mask).
"""

from bgseg.contract import INPUT_NAME, OUTPUT_NAME
from bgseg.models import blocks


def build_hourglass(input_shape=(256, 256, 4), stem_filters=16, encoder_filters=(32, 64, 128, 256),
                    blocks_per_stage=1, compression=16, decoder_filters=32, head_layers=3,
                    head_growth=4, name="hourglass", keras_module=None):
    """Build the hourglass network as a plain functional model.

    Args:
        input_shape: (H, W, C) with C = 4 (video: RGB + previous mask) or 3 (image). H and W must be
            multiples of 32.
        stem_filters: filters of the 7x7 stride-4 stem convolution.
        encoder_filters: widths of the encoder stages at 1/4, 1/8, 1/16 (and 1/32) resolution; three
            stages suit sizes such as 144x256 that are multiples of 16 but not 32.
        blocks_per_stage: extra (non-strided) bottleneck blocks per encoder stage.
        compression: bottleneck middle compression (16 or 32).
        decoder_filters: width of the decoder path.
        head_layers, head_growth: number and growth of the full-resolution DenseNet refinement
        layers.
        keras_module: `keras` (default) or `tf_keras` to build the QAT twin from the same code.
    """
    K = blocks.resolve_keras(keras_module)
    height, width, channels = input_shape
    if channels not in (3, 4):
        raise ValueError(
            f"hourglass input must have 3 (image) or 4 (video) channels, got {channels}"
        )
    multiple = 4 * 2 ** (len(encoder_filters) - 1)
    if height % multiple or width % multiple:
        raise ValueError(f"hourglass input size must be a multiple of {multiple} with "
                         f"{len(encoder_filters)} encoder stages, got {height}x{width}")
    if compression not in (16, 32):
        raise ValueError(f"compression must be 16 or 32, got {compression}")

    inputs = K.Input(shape=input_shape, name=INPUT_NAME)
    # 1. stem: large kernel, stride 4, on the full-resolution input
    x = blocks.conv_bn_relu(K, inputs, stem_filters, kernel_size=7, strides=4, name="stem")
    # 2. encoder: 1/4 -> 1/32 with compressed bottlenecks
    skips = []
    for stage, filters in enumerate(encoder_filters):
        strides = 1 if stage == 0 else 2
        x = blocks.bottleneck(K, x, filters, compression, strides=strides, name=f"enc{stage}_b0")
        for b in range(1, blocks_per_stage + 1):
            x = blocks.bottleneck(K, x, filters, compression, name=f"enc{stage}_b{b}")
        skips.append(x)
    # 3. decoder: upsample and add projected skip connections, 1/32 -> 1/4
    x = blocks.conv_bn_relu(K, x, decoder_filters, 1, name="dec_in")
    for stage in range(len(encoder_filters) - 2, -1, -1):
        x = blocks.upsample(K, x, 2, name=f"dec{stage}_up")
        skip = blocks.conv_bn_relu(K, skips[stage], decoder_filters, 1, name=f"dec{stage}_skip",
                                   activation=None)
        x = K.layers.Add(name=f"dec{stage}_add")([x, skip])
        x = blocks.bottleneck(K, x, decoder_filters, compression=min(compression, 16),
                              name=f"dec{stage}_b")
    # 4. refinement head at full resolution: DenseNet layers over [features, input]
    x = blocks.conv_bn_relu(K, x, head_growth, 1, name="head_in")
    x = blocks.upsample(K, x, 4, name="head_up")
    x = K.layers.Concatenate(name="head_cat_input")([x, inputs])
    x = blocks.dense_block(K, x, head_layers, head_growth, name="head_dense", separable=True)
    # 5. one-channel sigmoid output at input resolution
    outputs = K.layers.Conv2D(1, 1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return K.Model(inputs, outputs, name=name)
