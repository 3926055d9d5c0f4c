"""Segmentation losses: soft Jaccard (`IOU_calc_loss`, real intersection over union, not Dice) and
BCE + IoU. Registered under package "bgseg", so `.keras` files load without `custom_objects`.

The soft IoU of one sample is `(sum(t * p) + smooth) / (sum(t) + sum(p) - sum(t * p) + smooth)` over
its pixels, with `p` probabilities; the batch value is the mean over samples. `smooth` (1 pixel by
default) makes two empty masks an IoU of 1 instead of NaN.
"""

import keras
from keras import ops

SMOOTH = 1.0


def soft_iou(y_true, y_pred, smooth=SMOOTH):
    """Per-sample soft Jaccard index, shape (batch,)."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    batch = ops.shape(y_true)[0]
    t = ops.reshape(y_true, (batch, -1))
    p = ops.reshape(y_pred, (batch, -1))
    intersection = ops.sum(t * p, axis=1)
    union = ops.sum(t, axis=1) + ops.sum(p, axis=1) - intersection
    return (intersection + smooth) / (union + smooth)


@keras.saving.register_keras_serializable(package="bgseg")
def IOU_calc(y_true, y_pred):  # noqa: N802 - the name Keras logs, after the greenScreen recipe
    """Soft Jaccard index (mean over the batch), the metric behind `IOU_calc_loss`."""
    return ops.mean(soft_iou(y_true, y_pred))


@keras.saving.register_keras_serializable(package="bgseg")
def IOU_calc_loss(y_true, y_pred):  # noqa: N802
    """1 - soft Jaccard index. As a metric, Keras logs it as `IOU_calc_loss` /
    `val_IOU_calc_loss`."""
    return 1.0 - IOU_calc(y_true, y_pred)


@keras.saving.register_keras_serializable(package="bgseg")
class IoULoss(keras.losses.Loss):
    """1 - soft IoU with a configurable `smooth`, optionally plus `bce_weight` x binary
    cross-entropy.

    `IoULoss()` equals `IOU_calc_loss`; `IoULoss(bce_weight=1.0)` is the combined BCE + IoU loss.
    """

    def __init__(
        self, smooth=SMOOTH, bce_weight=0.0, name="IOU_calc_loss", reduction="sum_over_batch_size"
    ):
        super().__init__(name=name, reduction=reduction)
        self.smooth = float(smooth)
        self.bce_weight = float(bce_weight)

    def call(self, y_true, y_pred):
        loss = 1.0 - soft_iou(y_true, y_pred, self.smooth)
        if self.bce_weight:
            y_true = ops.cast(y_true, "float32")
            bce = keras.losses.binary_crossentropy(y_true, ops.cast(y_pred, "float32"))
            loss = loss + self.bce_weight * ops.mean(
                ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=1
            )
        return loss

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth, "bce_weight": self.bce_weight}


def bce_iou_loss(bce_weight=1.0, smooth=SMOOTH):
    """The combined loss: binary cross-entropy (weighted) + (1 - soft IoU)."""
    return IoULoss(smooth=smooth, bce_weight=bce_weight, name="bce_iou_loss")
