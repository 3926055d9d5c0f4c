"""The training input pipeline: weighted mixing of in-memory sources, augmentation, `tf.data`.

Sample `i` of the infinite training stream depends only on (seed, i): the source is drawn by weight,
then the item, then the augmentation, all from `np.random.default_rng([seed, i])`. The stream is
therefore reproducible and a resumed run continues it where it stopped (`start=`). Per-sample work
is numpy/OpenCV inside `tf.numpy_function`, mapped with AUTOTUNE parallelism (OpenCV releases the
GIL).
"""

import time

import cv2
import numpy as np

from bgseg.contract import SCALE
from bgseg.data import augment as aug

# Extra channels of an on-policy training sample: the previous frame's RGB, a 0/1 flag and the
# steady map (1 where the truth is the same in both frames).
ON_POLICY_EXTRA = 5


class Sampler:
    """Turns in-memory sources into model inputs `x` (H, W, C) and targets `y` (H, W, 1), float32.

    Args:
        sources: `LoadedSource`s (empty ones are ignored).
        weights: sampling weight per source (normalized).
        out_hw: the model's (H, W).
        channels: 3 (image model) or 4 (RGB + previous mask).
        config: an `AugmentConfig`.
        backgrounds: a `sources.Backgrounds` (required when `config.background_prob > 0`).
        objects: a `bgseg.data.objects.CocoObjects` (required when `config.paste_objects > 0`).
    """

    def __init__(self, sources, weights, out_hw, channels, config, backgrounds=None, seed=0,
                 objects=None):
        if channels not in (3, 4):
            raise ValueError(f"models take 3 or 4 input channels, got {channels}")
        pairs = [(s, w) for s, w in zip(sources, weights) if len(s) and w > 0]
        if not pairs:
            raise ValueError(
                "no training data: every source is empty in this split or has weight 0"
            )
        self.sources = [s for s, _ in pairs]
        w = np.array([w for _, w in pairs], np.float64)
        self.weights = w / w.sum()
        self.out_hw = tuple(out_hw)
        self.channels = channels
        self.config = config
        self.backgrounds = backgrounds
        self.seed = seed
        self.prev_probs = config.prev_mask_probabilities()
        if ((config.background_prob > 0 or config.negative_prob > 0)
                and not (backgrounds and len(backgrounds))):
            raise ValueError("background compositing and negatives need background photos")
        if config.paste_objects > 0 and not (objects and len(objects)):
            raise ValueError("augment.paste_objects needs cut-out objects (augment.objects)")
        self.objects = objects
        self.paste_from = self.sources
        if config.paste_sources:
            names = [s.spec.name for s in self.sources]
            unknown = sorted(set(config.paste_sources) - set(names))
            if unknown:
                raise ValueError(f"augment.paste_sources {unknown} are not sources of this recipe "
                                 f"(sources with data in this split: {', '.join(names)})")
            self.paste_from = [s for s in self.sources if s.spec.name in config.paste_sources]

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
        m = aug.crop_matrix(rng, sample.image.shape[:2], hw, cfg, sample.person_center, train,
                            sample.mask)
        image = aug.warp(sample.image, m, hw).astype(np.float32) * SCALE
        mask = aug.warp(sample.mask, m, hw).astype(np.float32) * SCALE
        if train and cfg.negative_prob and rng.random() < cfg.negative_prob:
            image, mask = self._background(rng), np.zeros_like(mask)
        elif train and cfg.background_prob and rng.random() < cfg.background_prob:
            image = aug.composite(image, mask, self._background(rng))
        if train and cfg.paste_people and rng.random() < cfg.paste_people:
            image, mask = self._paste_people(rng, image, mask)
        if train and cfg.paste_objects and rng.random() < cfg.paste_objects:
            image, mask = self._paste_objects(rng, image, mask)
        if train and cfg.shadow and rng.random() < cfg.shadow:
            image = aug.cast_shadow(rng, image, mask)
        if train and cfg.photometric:
            image = aug.photometric(rng, image)
        if self.channels == 4:
            extra = None
            if train and cfg.on_policy and rng.random() < cfg.on_policy:
                prev, extra = self._on_policy_prior(rng, sample, m, image, mask)
            elif sample.prev_mask is not None and rng.random() < cfg.video_prev_prob:
                prev = aug.warp(sample.prev_mask, m, hw).astype(np.float32) * SCALE
                if rng.random() < cfg.video_perturb:
                    prev = aug.affine_mask(rng, prev)
            else:
                mode = aug.PREV_MASK_MODES[rng.choice(len(aug.PREV_MASK_MODES), p=self.prev_probs)]
                image, mask, prev = aug.synth_prev_mask(rng, mode, image, mask)
            image = np.concatenate([image, prev[..., None]], axis=-1)
            if train and cfg.on_policy:
                if extra is None:
                    extra = np.zeros(hw + (ON_POLICY_EXTRA,), np.float32)
                image = np.concatenate([image, extra], axis=-1)
        return image.astype(np.float32), mask[..., None].astype(np.float32)

    @property
    def stream_channels(self):
        """Channels of a training sample: the model's, plus [previous frame RGB, on-policy flag,
        steady] when on-policy priors are on (`on_policy_priors` turns them back into the model's
        4)."""
        if self.channels == 4 and self.config.on_policy:
            return 4 + ON_POLICY_EXTRA
        return self.channels

    def _on_policy_prior(self, rng, sample, m, image, mask):
        """(prior for the previous frame, [previous frame RGB, flag 1, steady]) of an on-policy
        sample; steady is 1 where this frame's truth and the previous frame's agree."""
        hw = self.out_hw
        if sample.prev_image is not None:
            prev_image = aug.warp(sample.prev_image, m, hw).astype(np.float32) * SCALE
            prev_mask = aug.warp(sample.prev_mask, m, hw).astype(np.float32) * SCALE
            if self.config.photometric:
                prev_image = aug.photometric(rng, prev_image)
        else:
            prev_image, prev_mask = aug.previous_frame(rng, image, mask)
        # what the previous frame itself was given: nothing (a first frame) or a plausible
        # prediction
        prior = (np.zeros_like(prev_mask) if rng.random() < 0.4
                 else aug.soften(rng, aug.affine_mask(rng, prev_mask)))
        steady = (np.abs(mask - prev_mask) < 0.5).astype(np.float32)
        return prior, np.concatenate([prev_image, np.ones(hw + (1,), np.float32),
                                      steady[..., None]], axis=-1)

    def _paste_people(self, rng, image, mask):
        """Paste `config.paste_count` people from `paste_from` sources (uniformly) into the frame,
        each `config.paste_height` (log-uniform) of it tall."""
        def person():
            source = self.paste_from[rng.integers(len(self.paste_from))]
            other = source.samples[rng.integers(len(source))]
            return other.image, other.mask

        return _paste_several(rng, image, mask, self.config.paste_count,
                              self.config.paste_height, person, aug.paste_person)

    def _paste_objects(self, rng, image, mask):
        """Paste `config.object_count` objects (`objects`, uniformly) in front of the frame's
        content, each `config.object_height` (log-uniform) of it tall."""
        return _paste_several(rng, image, mask, self.config.object_count,
                              self.config.object_height,
                              lambda: self.objects.get(int(rng.integers(len(self.objects)))),
                              aug.paste_object)

    def _background(self, rng):
        bg = self.backgrounds.get(int(rng.integers(len(self.backgrounds))))
        m = aug.crop_matrix(rng, bg.shape[:2], self.out_hw, self.config, None, train=True)
        return aug.warp(bg, m, self.out_hw).astype(np.float32) * SCALE

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


def _paste_several(rng, image, mask, count, heights, draw, paste):
    """`paste(rng, image, mask, cut_image, cut_mask, height)` for a number of cut-outs drawn by
    `draw()` in the inclusive range `count`, each `heights` (log-uniform) of the frame tall."""
    lo, hi = count
    log_h = np.log(heights)
    for _ in range(int(rng.integers(lo, hi + 1))):
        cut_image, cut_mask = draw()
        image, mask = paste(rng, image, mask, cut_image, cut_mask,
                            float(np.exp(rng.uniform(*log_h))))
    return image, mask


def train_dataset(sampler, batch_size, start=0, parallel=None, policy=None, teacher=None,
                  distill=0.0, num_shards=1, shard_index=0, temporal=None):
    """Infinite batched `tf.data.Dataset` of training samples `start, start + 1, ...`.

    With `num_shards` > 1 (multi-worker training) this worker draws samples `start + shard_index`,
    `start + shard_index + num_shards`, ... and tf.data's auto-sharding is turned off: the
    strategy splits each `batch_size` (global) batch so the workers together see every sample once.

    `policy` (the model being trained) turns on-policy samples into model inputs
    (`on_policy_priors`), and with `temporal` > 0 (default: the sampler's `augment.temporal`)
    pulls their targets towards that prior on steady pixels (`temporal_targets`); `teacher` with
    `distill` > 0 mixes the teacher's prediction on the RGB frame into the target
    (`distilled_targets`).

    Building the stream sets OpenCV to one thread for this process (not on import, so the runtime
    in the same process keeps OpenCV's threading): tf.data's parallel map already uses the cores
    and nested OpenCV threads only contend.
    """
    import tensorflow as tf

    cv2.setNumThreads(1)
    h, w = sampler.out_hw
    channels = sampler.stream_channels

    def load(i):
        x, y = tf.numpy_function(
            sampler.train_sample, [i], [tf.float32, tf.float32], stateful=False
        )
        x.set_shape((h, w, channels))
        y.set_shape((h, w, 1))
        return x, y

    ds = tf.data.Dataset.counter(start)
    if num_shards > 1:
        ds = ds.shard(num_shards, shard_index)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        ds = ds.with_options(options)
    ds = ds.map(load, num_parallel_calls=parallel or tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    if channels != sampler.channels:
        if policy is None:
            raise ValueError("on-policy priors (augment.on_policy > 0) need the model as `policy`")
        weight = sampler.config.temporal if temporal is None else temporal

        def priors(x, y):
            x4 = on_policy_priors(policy, x)
            return x4, (temporal_targets(x, x4, y, weight) if weight else y)

        ds = ds.map(priors)
    if teacher is not None and distill > 0:
        ds = ds.map(lambda x, y: (x, distilled_targets(teacher, x, y, distill)))
    return ds.prefetch(tf.data.AUTOTUNE)


def on_policy_priors(policy, x):
    """Batch [RGB, prior, previous RGB, flag] -> [RGB, prior'] where flagged samples get
    prior' = policy([previous RGB, prior]): the model's own prediction on the previous frame, as
    the runtime feeds it back. Gradients do not flow through the prior."""
    import tensorflow as tf

    rgb, prior, prev_rgb, flag = x[..., :3], x[..., 3:4], x[..., 4:7], x[..., 7:8]
    predicted = tf.stop_gradient(policy(tf.concat([prev_rgb, prior], axis=-1), training=False))
    return tf.concat([rgb, flag * predicted + (1.0 - flag) * prior], axis=-1)


def temporal_targets(x, x4, y, weight):
    """Targets of a batch after `on_policy_priors` (`x` the stream's channels, `x4` the model's):
    on the steady pixels of on-policy samples (the truth is the same in both frames) the target
    becomes (1 - weight) * truth + weight * the model's prediction on the previous frame. With a
    cross-entropy loss this adds weight x CE(prediction now, prediction before): a loss on
    frame-to-frame change where the truth does not change, which teaches the model to keep its
    fed-back prior there. Below 0.5 a steady pixel's target stays on the truth's side."""
    steady = x[..., 7:8] * x[..., 8:9]
    return y + weight * steady * (x4[..., 3:4] - y)


def distilled_targets(teacher, x, y, weight):
    """Soft targets (1 - weight) * truth + weight * teacher(RGB): with a cross-entropy loss this is
    the truth term plus a distillation term to the (frozen) teacher. A teacher of another input
    size sees the frame resized bilinearly, as the runtime would feed it."""
    import tensorflow as tf

    rgb = x[..., :3]
    size = tuple(teacher.input_shape[1:3])
    if None not in size and size != tuple(rgb.shape[1:3]):
        rgb = tf.image.resize(rgb, size, method="bilinear")
    t = tf.stop_gradient(teacher(rgb, training=False))
    if tuple(t.shape[1:3]) != tuple(y.shape[1:3]):
        t = tf.image.resize(t, y.shape[1:3], method="bilinear")
    return (1.0 - weight) * y + weight * t


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

