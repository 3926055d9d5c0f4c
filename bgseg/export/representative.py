"""Representative inputs for full-integer calibration: arrays, datasets or a folder of images.

Every source (a folder, an array `[N, H, W, C]`, an `(images, masks)` tuple, a tf.data.Dataset or
an iterable of batches or `(x, y)` pairs) is turned into float32 `[1, H, W, C]` samples that
follow the model's input contract (`bgseg.contract`). Three-channel images given to a four-channel
(video) model get a previous-mask channel: zeros for half of the samples (first frames) and the
model's own prediction for the other half, so the calibration covers both the empty and a
realistic previous mask.
"""

import pathlib

import numpy as np


def _read_folder(folder, height, width, limit):
    from bgseg.contract import to_model_input
    from bgseg.io import IMAGE_EXTENSIONS, InputError, read_image

    files = sorted(p for p in pathlib.Path(folder).rglob("*")
                   if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) found under {folder}")
    for path in files[:limit]:
        try:
            image = read_image(path)
        except InputError as error:
            raise ValueError(str(error)) from None
        yield to_model_input(image, width, height)[None]


def _iterate(data):
    """Yield numpy batches from an array, a tf.data.Dataset or any iterable of x or (x, y)."""
    if isinstance(data, np.ndarray):
        yield data
        return
    if hasattr(data, "as_numpy_iterator"):
        data = data.as_numpy_iterator()
    for item in data:
        if isinstance(item, (tuple, list)):
            item = item[0]
        if isinstance(item, dict):
            item = next(iter(item.values()))
        yield np.asarray(item)


def _samples(data, shape):
    height, width, channels = shape
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(d, np.ndarray) for d in data):
        data = data[0]  # (images, masks)
    if isinstance(data, (str, pathlib.Path)):
        if not pathlib.Path(data).is_dir():
            raise ValueError(f"representative data folder {data} does not exist")
        yield from _read_folder(data, height, width, limit=10**9)
        return
    for batch in _iterate(data):
        batch = np.asarray(batch, np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if (
            batch.ndim != 4
            or batch.shape[1:3] != (height, width)
            or batch.shape[3] not in (3, channels)
        ):
            raise ValueError(f"representative data must be [N, {height}, {width}, 3 or {channels}] "
                             f"images in [0, 1], got shape {batch.shape}")
        for sample in batch:
            yield sample[None]


def representative_samples(data, model, count):
    """Return up to `count` float32 samples `[1, H, W, C]` for `model` (a Keras model)."""
    if data is None:
        raise ValueError("integer quantization needs representative_data: a folder of images, an "
                         "array [N, H, W, C] in [0, 1], or a dataset of such batches")
    shape = tuple(model.inputs[0].shape[1:])
    samples = []
    for sample in _samples(data, shape):
        if sample.max() > 1.0 + 1e-3 or sample.min() < -1e-3:
            raise ValueError("representative images must be scaled to [0, 1] (got values outside)")
        if sample.shape[-1] == 3 and shape[-1] == 4:
            sample = np.concatenate([sample, np.zeros_like(sample[..., :1])], axis=-1)
            if len(samples) % 2:
                sample[..., 3:] = np.asarray(model(sample, training=False))
        samples.append(sample.astype(np.float32))
        if len(samples) >= count:
            break
    if not samples:
        raise ValueError("representative data is empty")
    return samples
