"""Segmentation losses, chosen by name in the Trainer config."""

import tensorflow as tf


def soft_dice_loss(y_true, y_pred, smooth=1.0):
    """1 - mean over classes of the soft Dice coefficient, summed over the whole batch.

    y_true: int class ids [N, H, W]; y_pred: softmax probabilities [N, H, W, C].
    Summing over the batch (not per image) keeps the loss well defined for images in
    which a class is absent, and `smooth` keeps an absent class at a loss near 0.
    """
    num_classes = tf.shape(y_pred)[-1]
    y_true = tf.one_hot(tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:-1]), tf.int32), num_classes)
    y_pred = tf.cast(y_pred, tf.float32)
    pixel_axes = [0, 1, 2]
    intersection = tf.reduce_sum(y_true * y_pred, axis=pixel_axes)
    sizes = tf.reduce_sum(y_true, axis=pixel_axes) + tf.reduce_sum(y_pred, axis=pixel_axes)
    dice_per_class = (2.0 * intersection + smooth) / (sizes + smooth)
    return 1.0 - tf.reduce_mean(dice_per_class)


LOSSES = {"dice": soft_dice_loss}


def get_loss(name):
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; use one of {sorted(LOSSES)}.")
    return LOSSES[name]
