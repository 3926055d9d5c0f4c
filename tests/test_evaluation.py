"""bgseg.evaluation metrics on hand-computable arrays."""

import math

import numpy as np
import pytest

from bgseg import evaluation


def test_iou_counts_overlap_over_union():
    pred = np.array([[1, 1, 0, 0]], bool)
    truth = np.array([[0, 1, 1, 0]], bool)
    assert evaluation.iou(pred, truth) == pytest.approx(1 / 3)
    assert evaluation.iou(truth, truth) == 1.0
    assert evaluation.iou(pred, ~pred) == 0.0


def test_iou_of_two_empty_masks_is_one():
    empty = np.zeros((2, 2), bool)
    assert evaluation.iou(empty, empty) == 1.0
    assert evaluation.iou(empty, np.ones((2, 2), bool)) == 0.0


def test_iou_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        evaluation.iou(np.zeros((2, 2)), np.zeros((2, 3)))


def test_binarize_is_strictly_above_threshold():
    assert evaluation.binarize(np.array([0.2, 0.5, 0.51])).tolist() == [False, False, True]


def test_dtssd_matches_rvm_formula():
    truths = [np.zeros((1, 4)), np.array([[1.0, 1.0, 0.0, 0.0]])]
    # Prediction changes by 0.5 on the pixels that change truly by 1, and by 0.5 on a static pixel:
    # differences (-0.5, -0.5, 0.5, 0): mean square = 0.75 / 4, sqrt -> sqrt(3)/4, x100.
    alphas = [np.zeros((1, 4)), np.array([[0.5, 0.5, 0.5, 0.0]])]
    assert evaluation.dtssd(alphas, truths) == pytest.approx(100 * math.sqrt(3) / 4)
    # A prediction that changes exactly as the truth does has dtSSD 0, even when it is wrong.
    assert evaluation.dtssd(truths, truths) == 0.0
    assert evaluation.dtssd([t * 0 + 0.3 for t in truths], [t * 0 for t in truths]) == 0.0


def test_dtssd_averages_frame_pairs():
    truths = [np.zeros((2, 2))] * 3
    alphas = [np.zeros((2, 2)), np.ones((2, 2)), np.ones((2, 2))]
    # pair 1: sqrt(1) = 1; pair 2: 0 -> mean 0.5, x100.
    assert evaluation.dtssd(alphas, truths) == pytest.approx(50.0)


def test_flip_rate_counts_label_changes():
    alphas = [np.array([0.9, 0.9, 0.1, 0.1]),
              np.array([0.1, 0.9, 0.1, 0.6]),   # 2 of 4 flip
              np.array([0.1, 0.8, 0.2, 0.7])]   # none flip (values move, labels do not)
    assert evaluation.flip_rate(alphas) == pytest.approx((0.5 + 0.0) / 2)


def test_temporal_meter_unlabelled_and_labelled():
    meter = evaluation.TemporalMeter()
    for a in ([0.0, 1.0], [1.0, 1.0], [1.0, 0.5]):
        meter.update(np.array(a))
    assert meter.result() == pytest.approx({"flip_rate": (0.5 + 0.5) / 2,
                                            "mean_abs_change": (0.5 + 0.25) / 2})
    assert meter.per_pair["flip_rate"] == pytest.approx([0.5, 0.5])  # frame by frame
    assert meter.per_pair["mean_abs_change"] == pytest.approx([0.5, 0.25])

    meter = evaluation.TemporalMeter()
    truths = [np.array([0, 0, 1, 1]), np.array([1, 0, 1, 1])]
    alphas = [np.array([0.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0, 1.0])]
    for a, g in zip(alphas, truths):
        meter.update(a, g)
    result = meter.result()
    # Truth is stable on pixels 1-3; the prediction flips on pixels 1 and 2 of them.
    assert result["unstable_flip_rate"] == pytest.approx(2 / 3)
    assert result["flip_rate"] == pytest.approx(3 / 4)
    # Differences (1-1, 1-0, -1-0, 0-0): mean square 2/4.
    assert result["dtssd"] == pytest.approx(100 * math.sqrt(0.5))


def test_temporal_metrics_need_two_frames_and_matching_truths():
    with pytest.raises(ValueError, match="at least 2 frames"):
        evaluation.flip_rate([np.zeros(3)])
    with pytest.raises(ValueError, match="truth frames"):
        evaluation.dtssd([np.zeros(3)] * 3, [np.zeros(3)] * 2)
    assert evaluation.TemporalMeter().result() == {}
