"""The training input pipeline: weighted mixing of in-memory sources, augmentation, `tf.data`.

Sample `i` of the infinite training stream depends only on (seed, i): the source is drawn by weight,
then the item, then the augmentation, all from `np.random.default_rng([seed, i])`. The stream is
therefore reproducible and a resumed run continues it where it stopped (`start=`). Per-sample work is
numpy/OpenCV inside `tf.numpy_function`, mapped with AUTOTUNE parallelism (OpenCV releases the GIL).
"""

import time

import cv2
import numpy as np

from bgseg.data import augment as aug

cv2.setNumThreads(1)  # tf.data parallelism already uses the cores; nested OpenCV threads only contend


class Sampler:
    """Turns in-memory sources into model inputs `x` (H, W, C) and targets `y` (H, W, 1), float32.

    Args:
        sources: `LoadedSource`s (empty ones are ignored).
        weights: sampling weight per source (normalized).
        out_hw: the model's (H, W).
        channels: 3 (image model) or 4 (RGB + previous mask).
        config: an `AugmentConfig`.
        backgrounds: a `sources.Backgrounds` (required when `config.background_prob > 0`).
    """

    def __init__(self, sources, weights, out_hw, channels, config, backgrounds=None, seed=0):
        if channels not in (3, 4):
            raise ValueError(f"models take 3 or 4 input channels, got {channels}")
        pairs = [(s, w) for s, w in zip(sources, weights) if len(s) and w > 0]
        if not pairs:
            raise ValueError("no training data: every source is empty in this split or has weight 0")
        self.sources = [s for s, _ in pairs]
        w = np.array([w for _, w in pairs], np.float64)
        self.weights = w / w.sum()
        self.out_hw = tuple(out_hw)
        self.channels = channels
        self.config = config
        self.backgrounds = backgrounds
        self.seed = seed
        self.prev_probs = config.prev_mask_probabilities()
        if config.background_prob > 0 and not (backgrounds and len(backgrounds)):
            raise ValueError("background compositing needs background photos")

    def train_sample(self, index):
        """Training sample number `index` (x, y)."""
        rng = np.random.default_rng([self.seed, int(index)])
        source = self.sources[rng.choice(len(self.sources), p=self.weights)]
        sample = source.samples[rng.integers(len(source))]
        return self._make(rng, sample, train=True)

    def val_sample(self, source, position):
        """Validation sample: the centred crop, no colour change, a seeded previous-mask mode."""
        rng = np.random.default_rng([self.seed, 1 << 40, position])
        return self._make(rng, source.samples[position], train=False)

    def _make(self, rng, sample, train):
        cfg, hw = self.config, self.out_hw
        m = aug.crop_matrix(rng, sample.image.shape[:2], hw, cfg, sample.person_center, train)
        image = aug.warp(sample.image, m, hw).astype(np.float32) / 255.0
        mask = aug.warp(sample.mask, m, hw).astype(np.float32) / 255.0
        if train and cfg.background_prob and rng.random() < cfg.background_prob:
            image = aug.composite(image, mask, self._background(rng))
        if train and cfg.photometric:
            image = aug.photometric(rng, image)
        if self.channels == 4:
            if sample.prev_mask is not None and rng.random() < cfg.video_prev_prob:
                prev = aug.warp(sample.prev_mask, m, hw).astype(np.float32) / 255.0
                if rng.random() < cfg.video_perturb:
                    prev = aug.affine_mask(rng, prev)
            else:
                mode = aug.PREV_MASK_MODES[rng.choice(len(aug.PREV_MASK_MODES), p=self.prev_probs)]
                image, mask, prev = aug.synth_prev_mask(rng, mode, image, mask)
            image = np.concatenate([image, prev[..., None]], axis=-1)
        return image.astype(np.float32), mask[..., None].astype(np.float32)

    def _background(self, rng):
        bg = self.backgrounds.get(int(rng.integers(len(self.backgrounds))))
        m = aug.crop_matrix(rng, bg.shape[:2], self.out_hw, self.config, None, train=True)
        return aug.warp(bg, m, self.out_hw).astype(np.float32) / 255.0

    def validation_arrays(self, count, weights=None):
        """Up to `count` validation samples spread over the sources by weight: (x, y) arrays."""
        weights = self.weights if weights is None else np.asarray(weights, np.float64)
        share = np.floor(weights / weights.sum() * count).astype(int)
        share[np.argmax(weights)] += count - share.sum()
        xs, ys = [], []
        for source, n in zip(self.sources, share):
            picks = np.random.default_rng([self.seed, 7]).permutation(len(source))[:n]
            for p in sorted(picks):
                x, y = self.val_sample(source, int(p))
                xs.append(x)
                ys.append(y)
        if not xs:
            raise ValueError("no validation data: no source has items in the 'val' split")
        return np.stack(xs), np.stack(ys)


def train_dataset(sampler, batch_size, start=0, parallel=None):
    """Infinite batched `tf.data.Dataset` of training samples `start, start + 1, ...`."""
    import tensorflow as tf

    h, w = sampler.out_hw

    def load(i):
        x, y = tf.numpy_function(sampler.train_sample, [i], [tf.float32, tf.float32], stateful=False)
        x.set_shape((h, w, sampler.channels))
        y.set_shape((h, w, 1))
        return x, y

    ds = tf.data.Dataset.counter(start).map(
        load, num_parallel_calls=parallel or tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def measure_throughput(dataset, batches=20, warmup=3):
    """Images per second drawn from a batched dataset (after `warmup` batches)."""
    it = iter(dataset)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        x, _ = next(it)
        n += int(x.shape[0])
    return n / (time.perf_counter() - t0)

