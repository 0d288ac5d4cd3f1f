import math

import numpy as np
import pytest

from models import losses

# One image of 1x2 pixels, 2 classes: pixel 0 is class 0, predicted 0.8 for it; pixel 1 is
# class 1, predicted 0.4 for it.
Y_TRUE = np.array([[[0, 1]]])
Y_PRED = np.array([[[[0.8, 0.2], [0.6, 0.4]]]], np.float32)


def loss_value(name, y_true=Y_TRUE, y_pred=Y_PRED, **kwargs):
    return float(losses.get_loss(name)(y_true, y_pred, **kwargs))


def test_soft_dice_loss_matches_hand_computed_value():
    # One image, 2x2 pixels, 2 classes.
    y_true = np.array([[[0, 1], [1, 1]]])
    y_pred = np.array([[[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.0, 1.0]]]], np.float32)
    # class 0: intersection 1, |true| 1, sum(pred) 1.5 -> (2*1 + 1) / (2.5 + 1) = 3/3.5
    # class 1: intersection 2.5, |true| 3, sum(pred) 2.5 -> (5 + 1) / (5.5 + 1) = 6/6.5
    expected = 1 - (3 / 3.5 + 6 / 6.5) / 2
    assert float(losses.soft_dice_loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-6)


def test_dice_ce_matches_hand_computed_value():
    # Dice, class 0: intersection 0.8, |true| 1, sum(pred) 1.4 -> (1.6 + 1) / (2.4 + 1)
    #       class 1: intersection 0.4, |true| 1, sum(pred) 0.6 -> (0.8 + 1) / (1.6 + 1)
    dice = 1 - (2.6 / 3.4 + 1.8 / 2.6) / 2
    cross_entropy = -(math.log(0.8) + math.log(0.4)) / 2
    assert loss_value("dice_ce") == pytest.approx(dice + cross_entropy, rel=1e-6)
    assert loss_value("dice_ce", ce_weight=0.0) == pytest.approx(dice, rel=1e-6)


def test_focal_matches_hand_computed_value():
    # (1 - p_t)^2: 0.2^2 = 0.04 and 0.6^2 = 0.36.
    expected = -(0.04 * math.log(0.8) + 0.36 * math.log(0.4)) / 2
    assert loss_value("focal") == pytest.approx(expected, rel=1e-6)
    weighted = -(0.25 * 0.04 * math.log(0.8) + 0.75 * 0.36 * math.log(0.4)) / 2
    assert loss_value("focal", alpha=(0.25, 0.75)) == pytest.approx(weighted, rel=1e-6)


def test_focal_with_gamma_zero_is_cross_entropy():
    cross_entropy = -(math.log(0.8) + math.log(0.4)) / 2
    assert loss_value("focal", gamma=0.0) == pytest.approx(cross_entropy, rel=1e-6)
    assert float(losses.cross_entropy_loss(Y_TRUE, Y_PRED)) == pytest.approx(
        cross_entropy, rel=1e-6
    )


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_perfect_prediction_has_zero_loss_and_wrong_one_is_high(name):
    y_true = np.array([[[0, 1], [2, 2]]])
    perfect = np.eye(3, dtype=np.float32)[y_true]
    wrong = np.eye(3, dtype=np.float32)[(y_true + 1) % 3]
    assert loss_value(name, y_true, perfect) == pytest.approx(0.0, abs=1e-6)
    assert loss_value(name, y_true, wrong) > 0.7
    # Labels with a trailing channel axis, as Keras may pass them, give the same loss.
    assert loss_value(name, y_true[..., None], wrong) == pytest.approx(
        loss_value(name, y_true, wrong)
    )


@pytest.mark.parametrize("name", ["dice_ce", "focal"])
def test_log_losses_stay_finite_on_zero_probabilities(name):
    # The true class gets probability 0: clipping keeps the loss (and gradient) finite.
    y_pred = np.array([[[[0.0, 1.0], [1.0, 0.0]]]], np.float32)
    assert np.isfinite(loss_value(name, Y_TRUE, y_pred))


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_keras_trains_with_every_loss(name):
    # The labels arrive as the Trainer feeds them: int64 class ids [N, H, W].
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input([2, 2, 3]), keras.layers.Dense(3, "softmax")])
    model.compile(keras.optimizers.SGD(0.1), loss=losses.get_loss(name))
    images = np.random.default_rng(0).normal(size=[4, 2, 2, 3]).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, 3, [4, 2, 2])
    first, second = (model.train_on_batch(images, labels) for _ in range(2))
    assert np.isfinite(first) and second < first


def test_unknown_loss_name():
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge'; use one of \['dice', 'dice_ce',"):
        losses.get_loss("hinge")
