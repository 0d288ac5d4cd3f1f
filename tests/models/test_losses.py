import numpy as np
import pytest

from models import losses


def test_soft_dice_loss_matches_hand_computed_value():
    # One image, 2x2 pixels, 2 classes.
    y_true = np.array([[[0, 1], [1, 1]]])
    y_pred = np.array([[[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.0, 1.0]]]], np.float32)
    # class 0: intersection 1, |true| 1, sum(pred) 1.5 -> (2*1 + 1) / (2.5 + 1) = 3/3.5
    # class 1: intersection 2.5, |true| 3, sum(pred) 2.5 -> (5 + 1) / (5.5 + 1) = 6/6.5
    expected = 1 - (3 / 3.5 + 6 / 6.5) / 2
    assert float(losses.soft_dice_loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-6)


def test_perfect_prediction_has_zero_loss_and_wrong_one_is_high():
    y_true = np.array([[[0, 1], [2, 2]]])
    perfect = np.eye(3, dtype=np.float32)[y_true]
    wrong = np.eye(3, dtype=np.float32)[(y_true + 1) % 3]
    assert float(losses.soft_dice_loss(y_true, perfect)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.soft_dice_loss(y_true, wrong)) > 0.7


def test_unknown_loss_name():
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get_loss("hinge")
