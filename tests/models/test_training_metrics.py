import numpy as np
import pytest

from models.training_metrics import MeanDice


def one_hot(class_ids, num_classes=3):
    return np.eye(num_classes, dtype=np.float32)[class_ids]


def test_mean_dice_sums_over_batches_before_dividing():
    metric = MeanDice(num_classes=3)
    # Batch 1: true [0, 0], predicted [0, 1]. Batch 2: true [1, 1], predicted [1, 1].
    metric.update_state(np.array([[0, 0]]), one_hot(np.array([[0, 1]])))
    metric.update_state(np.array([[1, 1]]), one_hot(np.array([[1, 1]])))
    # Summed: class 0: I 1, |T| 2, |P| 1 -> 2/3; class 1: I 2, |T| 2, |P| 3 -> 4/5;
    # class 2 absent from both: left out. Mean (2/3 + 4/5) / 2 = 11/15.
    assert float(metric.result()) == pytest.approx(11 / 15)
    # A mean of the two batches' own scores would be ((2/3 + 0) / 2 + 1) / 2 = 2/3.
    metric.reset_state()
    metric.update_state(np.array([[2]]), one_hot(np.array([[2]])))
    assert float(metric.result()) == pytest.approx(1.0)
