"""Shared test helpers: the tiny models, generated folder data and recipes, the sample photo."""

import json
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "astronaut.jpg"  # public domain, in no training set

# the smallest hourglass that exercises every block (4 stages, a 2-layer head)
TINY_HOURGLASS = {"encoder_filters": (8, 16, 16, 32), "decoder_filters": 8, "head_layers": 2,
                  "head_growth": 4}


def tiny_hourglass(size=64, channels=4, **overrides):
    """A fresh tiny hourglass `build_model("hourglass", ...)` of `size` x `size` x `channels`."""
    from bgseg.models import build_model

    return build_model("hourglass", input_shape=(size, size, channels),
                       **{**TINY_HOURGLASS, **overrides})


def tiny_recipe_model(size=32, channels=4):
    """`model_kwargs` of a recipe training `tiny_hourglass` (JSON-ready)."""
    return {"input_shape": [size, size, channels],
            **{k: list(v) if isinstance(v, tuple) else v for k, v in TINY_HOURGLASS.items()}}


def folder_dataset(root, n=40):
    """A `folder` source of `n` noise images with a warm disc (the 'person') and its mask."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        image = rng.integers(0, 80, (48, 40, 3), dtype=np.uint8)
        mask = np.zeros((48, 40), np.uint8)
        cx, cy = rng.integers(10, 30), rng.integers(10, 38)
        cv2.circle(mask, (int(cx), int(cy)), 9, 255, -1)
        image[mask > 0] = (200, 150, 120)
        cv2.imwrite(str(root / "images" / f"{i:03d}.jpg"), image)
        cv2.imwrite(str(root / "masks" / f"{i:03d}.png"), mask)
    return root


def recipe_file(path, data, **fields):
    """A 2-epoch recipe of the tiny hourglass on `data` (a folder source), written to `path`."""
    recipe = {"name": "tiny", "model": "hourglass_256", "model_kwargs": tiny_recipe_model(),
              "epochs": 2, "images_per_epoch": 16, "batch_size": 8, "val_images": 6,
              "plot_images": 2, "sources": [{"type": "folder", "path": str(data), "weight": 1}],
              **fields}
    path.write_text(json.dumps(recipe))
    return path


def noise_clip(path, frames=20, size=(80, 48), fps=12.0):
    """An MJPG .avi of `frames` random frames of `size` (width, height); returns `path`."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (size[1], size[0], 3), np.uint8))
    writer.release()
    return path


def noise_frame(height, width, seed=0):
    """A random RGB uint8 frame."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


def record_inputs(segmenter):
    """Wrap the segmenter's model's set_input and run_pair to keep a copy of every input tensor,
    in order: the list."""
    seen = []
    model = segmenter.model
    original, pair = model.set_input, model.run_pair
    model.set_input = lambda x: (seen.append(x.copy()), original(x))[1]

    def run_pair(first, second):
        seen.extend([first.copy(), second.copy()])
        set_input, model.set_input = model.set_input, original  # its fallback: not twice
        try:
            return pair(first, second)
        finally:
            model.set_input = set_input

    model.run_pair = run_pair
    return seen
