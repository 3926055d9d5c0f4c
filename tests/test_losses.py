import numpy as np
import pytest

pytest.importorskip("keras")

from bgseg import losses, metrics  # noqa: E402


def _np(x):
    return float(np.asarray(x))


T = np.array([[1, 1, 0, 0]], "float32").reshape(1, 2, 2, 1)
P = np.array([[1, 0.5, 0.5, 0]], "float32").reshape(1, 2, 2, 1)


def test_soft_iou_golden_values_is_jaccard_not_dice():
    # intersection 1.5, union 2 + 2 - 1.5 = 2.5; with smooth 1: 2.5 / 3.5
    assert _np(losses.IOU_calc(T, P)) == pytest.approx(2.5 / 3.5)
    assert _np(losses.IOU_calc_loss(T, P)) == pytest.approx(1 - 2.5 / 3.5)
    assert _np(losses.IoULoss(smooth=0)(T, P)) == pytest.approx(1 - 1.5 / 2.5)
    dice = 2 * 1.5 / (2 + 2)
    assert _np(losses.IoULoss(smooth=0)(T, P)) != pytest.approx(1 - dice)


def test_perfect_and_disjoint_predictions():
    assert _np(losses.IoULoss(smooth=0)(T, T)) == pytest.approx(0.0)
    assert _np(losses.IoULoss(smooth=0)(T, 1 - T)) == pytest.approx(1.0)


def test_empty_masks_give_no_nan():
    empty = np.zeros((2, 4, 4, 1), "float32")
    assert _np(losses.IOU_calc(empty, empty)) == pytest.approx(1.0)
    assert _np(losses.IOU_calc_loss(empty, empty)) == pytest.approx(0.0)
    m = metrics.BinaryIoU()
    m.update_state(empty, empty)
    assert _np(m.result()) == pytest.approx(1.0)


def test_iou_is_the_mean_over_samples():
    t = np.stack([T[0], np.zeros_like(T[0])])
    p = np.stack([T[0], np.ones_like(T[0])])
    # sample 1 perfect (IoU 1), sample 2: intersection 0, union 4 -> 0
    assert _np(losses.IoULoss(smooth=0)(t, p)) == pytest.approx(0.5)


def test_binary_iou_thresholds_predictions():
    m = metrics.BinaryIoU(threshold=0.5)
    m.update_state(T, P)  # P > 0.5 -> [1, 0, 0, 0]: IoU 1/2
    assert _np(m.result()) == pytest.approx(0.5, abs=1e-5)
    assert metrics.BinaryIoU.from_config(m.get_config()).threshold == 0.5


def test_bce_iou_adds_cross_entropy():
    import keras

    combined = _np(losses.bce_iou_loss(bce_weight=2.0)(T, P))
    bce = _np(keras.losses.BinaryCrossentropy()(T, P))
    assert combined == pytest.approx(_np(losses.IOU_calc_loss(T, P)) + 2 * bce, rel=1e-4)
    restored = losses.IoULoss.from_config(losses.bce_iou_loss(2.0).get_config())
    assert restored.bce_weight == 2.0


def test_keras_logs_val_IOU_calc_loss():
    import keras

    from bgseg.models import build_model

    model = build_model("unet", input_shape=(16, 16, 3), base_filters=2, depth=1)
    model.compile(optimizer="rmsprop", loss=losses.IOU_calc_loss, metrics=metrics.default_metrics())
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    y = (x[..., :1] > 0.5).astype("float32")
    history = model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert {"val_IOU_calc_loss", "val_IOU_calc", "val_binary_iou"} <= set(history.history)
    assert keras.saving.get_registered_name(losses.IoULoss) == "bgseg>IoULoss"
