"""Tests for evaluation/metrics.py: whole-set scores from summed pixel counts."""

import json
import math

import numpy as np
import pytest

from evaluation import metrics

CLASSES = ("pet", "background", "border")  # ids 0, 1, 2


def test_iou_from_counts_by_hand():
    # Class 0: I 2, T 3, P 3 -> 2 / 4. Class 1: I 0, T 1, P 0 -> 0. Class 2: in neither.
    iou = metrics.iou_from_counts([2, 0, 0], [3, 1, 0], [3, 0, 0])
    np.testing.assert_allclose(iou[:2], [0.5, 0.0])
    assert math.isnan(iou[2])


def test_pixel_accuracy():
    assert metrics.pixel_accuracy([2, 3, 0], [4, 4, 2]) == pytest.approx(0.5)


def test_set_metrics_sums_counts_over_images_of_different_sizes():
    accumulator = metrics.SetMetrics(CLASSES, background="background")
    # Image 1 (1x2): true P B, predicted P P. Image 2 (2x3): true R R B / B B B, all B.
    score_1 = accumulator.add("one", [[0, 1]], [[0, 0]])
    score_2 = accumulator.add("two", [[2, 2, 1], [1, 1, 1]], [[1, 1, 1], [1, 1, 1]])
    # Per image: one: pet 2*1/3, background 0/1 -> mean 1/3 (border NaN, left out).
    #            two: pet NaN, background 2*4/10, border 0/2 -> mean 0.4.
    assert score_1 == pytest.approx(1 / 3) and score_2 == pytest.approx(0.4)
    # Set: pet I 1 T 1 P 2; background I 4 T 5 P 6; border I 0 T 2 P 0.
    result = accumulator.result()
    assert result["dice"] == pytest.approx({"pet": 2 / 3, "background": 8 / 11, "border": 0.0})
    assert result["mean_dice"] == pytest.approx((2 / 3 + 8 / 11) / 3)  # not (1/3 + 0.4) / 2
    assert result["iou"] == pytest.approx({"pet": 0.5, "background": 4 / 7, "border": 0.0})
    assert result["mean_iou"] == pytest.approx((0.5 + 4 / 7) / 3)
    assert result["pixel_accuracy"] == pytest.approx(5 / 8)
    # Foreground (pet + border): true {one 0} + {two 00, 01} = 3, predicted 2 + 0, both 1.
    assert result["foreground_dice"] == pytest.approx(2 * 1 / 5)
    assert (result["images"], result["pixels"]) == (2, 8)
    assert result["counts"]["true"] == {"pet": 1, "background": 5, "border": 2}
    assert accumulator.per_image["one"] == pytest.approx(1 / 3)
    # Rows true, columns predicted: pet -> pet 1; background -> pet 1, background 4;
    # border -> background 2.
    assert result["confusion_matrix"] == [[1, 0, 0], [1, 4, 0], [0, 2, 0]]


def test_confusion_matrix_agrees_with_the_counts():
    rng = np.random.default_rng(0)
    true_ids, predicted_ids = rng.integers(0, 3, (2, 7, 5))
    matrix = metrics.confusion_matrix(true_ids, predicted_ids, 3)
    intersection, true_size, predicted_size = metrics.confusion_counts(true_ids, predicted_ids, 3)
    np.testing.assert_array_equal(np.diag(matrix), intersection)
    np.testing.assert_array_equal(matrix.sum(axis=1), true_size)
    np.testing.assert_array_equal(matrix.sum(axis=0), predicted_size)
    assert matrix.sum() == 35
    with pytest.raises(ValueError, match="class ids must be in"):
        metrics.confusion_matrix([[3]], [[0]], 3)


def test_worst_kept_holds_the_lowest_scores_only_lowest_first():
    worst = metrics.WorstKept(2)
    for name, score in [("a", 0.9), ("b", 0.2), ("c", 0.5), ("d", 0.1), ("e", 0.7)]:
        worst.add(score, name, row={"image": name})
        assert len(worst.rows()) <= 2  # never more than n rows in memory
    assert worst.rows() == [(0.1, "d", {"image": "d"}), (0.2, "b", {"image": "b"})]
    none_kept = metrics.WorstKept(0)
    none_kept.add(0.1, "a", row=None)
    assert none_kept.rows() == []


def test_foreground_merges_classes_before_counting():
    """A pet pixel predicted as border is wrong for both classes, right for the foreground."""
    accumulator = metrics.SetMetrics(CLASSES, background="background")
    accumulator.add("x", [[0, 0, 1]], [[2, 0, 1]])
    result = accumulator.result()
    assert result["dice"]["pet"] == pytest.approx(2 / 3)
    assert result["dice"]["border"] == 0.0
    assert result["foreground_dice"] == 1.0


def test_undefined_scores_are_null_in_json():
    accumulator = metrics.SetMetrics(("background", "pet"), background=None)
    accumulator.add("all background", [[0, 0]], [[0, 0]])
    result = json.loads(json.dumps(accumulator.result(), allow_nan=False))
    assert result["dice"] == {"background": 1.0, "pet": None}
    assert result["mean_dice"] == 1.0  # the undefined class is left out
    assert result["foreground_dice"] is None  # no background class: nothing to merge against
