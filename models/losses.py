"""Segmentation losses, chosen by name in the Trainer config.

Every loss takes y_true as int class ids [N, H, W] (or [N, H, W, 1]) and y_pred as softmax
probabilities [N, H, W, C], and returns one scalar for the batch.
"""

import tensorflow as tf

# Probabilities are clipped to [EPSILON, 1] before a log: a confidently wrong pixel then
# costs at most -log(1e-7) ~ 16 instead of inf (and a NaN gradient).
EPSILON = 1e-7


def soft_dice_loss(y_true, y_pred, smooth=1.0):
    """1 - mean over classes of the soft Dice coefficient, summed over the whole batch.

    Summing over the batch (not per image) keeps the loss well defined for images in
    which a class is absent, and `smooth` keeps an absent class at a loss near 0.
    """
    y_true, y_pred = _one_hot(y_true, y_pred), tf.cast(y_pred, tf.float32)
    pixel_axes = [0, 1, 2]
    intersection = tf.reduce_sum(y_true * y_pred, axis=pixel_axes)
    sizes = tf.reduce_sum(y_true, axis=pixel_axes) + tf.reduce_sum(y_pred, axis=pixel_axes)
    dice_per_class = (2.0 * intersection + smooth) / (sizes + smooth)
    return 1.0 - tf.reduce_mean(dice_per_class)


def cross_entropy_loss(y_true, y_pred):
    """Sparse categorical cross-entropy, averaged over every pixel of the batch."""
    return tf.reduce_mean(-tf.math.log(_true_class_probability(y_true, y_pred)))


def dice_ce_loss(y_true, y_pred, dice_weight=1.0, ce_weight=1.0):
    """Soft Dice + cross-entropy (as in nnU-Net).

    Dice optimizes the overlap the Evaluator measures and is insensitive to class
    imbalance; cross-entropy gives every pixel a smooth gradient, which Dice alone lacks
    early in training and for thin structures such as the border band.
    """
    dice = soft_dice_loss(y_true, y_pred)
    return dice_weight * dice + ce_weight * cross_entropy_loss(y_true, y_pred)


def focal_loss(y_true, y_pred, gamma=2.0, alpha=None):
    """Multi-class focal loss (Lin et al., 2017): mean of -alpha_t (1 - p_t)^gamma log(p_t).

    The (1 - p_t)^gamma factor down-weights pixels the model already gets right (most of
    the background), so training concentrates on hard pixels such as outlines. gamma=0
    and alpha=None is cross-entropy. alpha: None, or one weight per class.
    """
    p_true = _true_class_probability(y_true, y_pred)
    loss = -((1.0 - p_true) ** gamma) * tf.math.log(p_true)
    if alpha is not None:
        class_ids = tf.cast(tf.reshape(y_true, tf.shape(p_true)), tf.int32)
        loss *= tf.gather(tf.constant(alpha, tf.float32), class_ids)
    return tf.reduce_mean(loss)


def _one_hot(y_true, y_pred):
    """Class ids [N, H, W] or [N, H, W, 1] -> float one-hot [N, H, W, C] like y_pred."""
    class_ids = tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:-1]), tf.int32)
    return tf.one_hot(class_ids, tf.shape(y_pred)[-1])


def _true_class_probability(y_true, y_pred):
    """The predicted probability of each pixel's true class, clipped for a safe log."""
    p_true = tf.reduce_sum(_one_hot(y_true, y_pred) * tf.cast(y_pred, tf.float32), axis=-1)
    return tf.clip_by_value(p_true, EPSILON, 1.0)


LOSSES = {"dice": soft_dice_loss, "dice_ce": dice_ce_loss, "focal": focal_loss}


def get_loss(name):
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; use one of {sorted(LOSSES)}.")
    return LOSSES[name]
