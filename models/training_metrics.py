"""Metrics shown while training (Keras logs and TensorBoard), not used for blessing.

`MeanDice` sums per-class intersections and sizes over the whole epoch, then divides, as
the Evaluator does (evaluation/metrics.py), so training and evaluation curves mean the
same thing. It is computed on argmax predictions, not on the soft Dice of the loss.
"""

import tensorflow as tf
import tf_keras


class MeanDice(tf_keras.metrics.Metric):
    def __init__(self, num_classes: int, name: str = "mean_dice", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        # Rows: intersection, true size, predicted size; one column per class.
        self.counts = self.add_weight(name="counts", shape=[3, num_classes], initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        del sample_weight  # every pixel counts once, as in the Evaluator
        true_ids = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        predicted_ids = tf.reshape(tf.argmax(y_pred, axis=-1, output_type=tf.int32), [-1])
        count = lambda ids: tf.math.bincount(
            ids, minlength=self.num_classes, maxlength=self.num_classes, dtype=tf.float32
        )
        matches = tf.boolean_mask(true_ids, tf.equal(true_ids, predicted_ids))
        self.counts.assign_add(tf.stack([count(matches), count(true_ids), count(predicted_ids)]))

    def result(self):
        intersection, true_size, predicted_size = tf.unstack(self.counts)
        denominator = true_size + predicted_size
        defined = denominator > 0  # a class in neither labels nor predictions is left out
        dice = tf.boolean_mask(2.0 * intersection / tf.maximum(denominator, 1.0), defined)
        return tf.reduce_mean(dice)

    def reset_state(self):
        self.counts.assign(tf.zeros_like(self.counts))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
