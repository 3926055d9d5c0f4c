"""Segmentation metrics. `IOU_calc` (soft IoU) and `IOU_calc_loss` are re-exported from
`bgseg.losses`; `BinaryIoU` thresholds the prediction first (the IoU reported in benchmarks)."""

import keras
from keras import ops

from bgseg.losses import IOU_calc, IOU_calc_loss, soft_iou


@keras.saving.register_keras_serializable(package="bgseg")
class BinaryIoU(keras.metrics.Mean):
    """Mean over samples of the IoU of `y_pred > threshold` vs `y_true > 0.5`.

    Two empty masks count as IoU 1 (nothing to find, nothing found).
    """

    def __init__(self, threshold=0.5, name="binary_iou", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = ops.cast(ops.greater(y_true, 0.5), "float32")
        p = ops.cast(ops.greater(y_pred, self.threshold), "float32")
        return super().update_state(soft_iou(t, p, smooth=1e-6), sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def default_metrics():
    """Metrics for `compile`: Keras then logs `IOU_calc_loss`, `IOU_calc`, `binary_iou` and their
    `val_` twins, so `ModelCheckpoint(monitor="val_IOU_calc_loss", mode="min")` works."""
    return [keras.metrics.MeanMetricWrapper(IOU_calc_loss, name="IOU_calc_loss"),
            keras.metrics.MeanMetricWrapper(IOU_calc, name="IOU_calc"),
            BinaryIoU()]


__all__ = ["BinaryIoU", "IOU_calc", "IOU_calc_loss", "default_metrics"]
