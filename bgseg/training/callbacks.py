"""Training callbacks: the resumable `last` checkpoint + state file, and the per-epoch plots."""

import csv
import json
import time
from pathlib import Path

import cv2
import keras
import numpy as np

from bgseg import io

MONITOR = "val_IOU_calc_loss"  # what checkpoints and the run state track (lower is better)


def write_json(path, data):
    """Write JSON atomically (a killed process leaves the old file or the new one, never half)."""
    io.write_bytes(path, json.dumps(data, indent=1).encode(), overwrite=True)


class RunState(keras.callbacks.Callback):
    """After each epoch: save `last.keras` (weights + optimizer) atomically, then `state.json` with
    the number of finished epochs, the best monitored value and the training speed."""

    def __init__(self, run_dir, state, images_per_epoch, monitor=MONITOR, log=print):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.state = state
        self.images_per_epoch = images_per_epoch
        self.monitor = monitor
        self.log = log

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._t0
        with io.atomic_output(self.run_dir / "last.keras", overwrite=True) as tmp:
            self.model.save(tmp)
        value = (logs or {}).get(self.monitor)
        best = self.state.get("best")
        if value is not None and (best is None or value < best):
            self.state["best"], self.state["best_epoch"] = float(value), epoch + 1
        self.state["epoch"] = epoch + 1
        self.state.setdefault("epoch_seconds", []).append(round(seconds, 2))
        write_json(self.run_dir / "state.json", self.state)
        self.log(f"epoch {epoch + 1}: {self.images_per_epoch / seconds:.1f} img/s (train + val), "
                 f"{self.monitor} {value if value is None else round(float(value), 4)}, "
                 f"best {self.state.get('best')} (epoch {self.state.get('best_epoch')})")


def _to_rgb8(a):
    a = np.clip(a, 0, 1)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return (a * 255).astype(np.uint8)


def prediction_grid(x, y, pred):
    """uint8 RGB grid, one row per sample: input RGB | previous mask (4-channel inputs) | truth |
    prediction, with a header naming the columns."""
    names = ["input", *(["prev mask"] if x.shape[-1] == 4 else []), "truth", "prediction"]
    rows = []
    for i in range(len(x)):
        cols = [x[i, ..., :3], *([x[i, ..., 3:4]] if x.shape[-1] == 4 else []), y[i], pred[i]]
        rows.append(np.concatenate([_to_rgb8(c) for c in cols], axis=1))
    grid = np.concatenate(rows, axis=0)
    w = x.shape[2]
    header = np.full((20, grid.shape[1], 3), 255, np.uint8)
    for j, name in enumerate(names):
        cv2.putText(header, name, (j * w + 4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    return np.concatenate([header, grid], axis=0)


def plot_log(csv_path, png_path):
    """Plot the curves of a Keras CSV log (each metric with its `val_` twin) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    metrics = [
        k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")
    ]
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for key in (m, f"val_{m}"):
            if key in rows[0]:
                ax.plot(epochs, [float(r[key]) for r in rows], marker=".", label=key)
        ax.set_xlabel("epoch")
        ax.set_title(m)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)


class Plots(keras.callbacks.Callback):
    """Each epoch: `plots/loss.png` (curves from the CSV log) and `plots/epoch_NNN.png` (input,
    truth and prediction on fixed validation images)."""

    def __init__(self, plot_dir, csv_path, x, y):
        super().__init__()
        self.plot_dir = Path(plot_dir)
        self.csv_path = Path(csv_path)
        self.x, self.y = x, y

    def on_epoch_end(self, epoch, logs=None):
        self.plot_dir.mkdir(parents=True, exist_ok=True)
        if len(self.x):  # plot_images = 0: loss curves only
            pred = self.model.predict(self.x, verbose=0)
            grid = prediction_grid(self.x, self.y, pred)
            cv2.imwrite(str(self.plot_dir / f"epoch_{epoch + 1:03d}.png"), grid[..., ::-1])
        if self.csv_path.is_file():
            plot_log(self.csv_path, self.plot_dir / "loss.png")
