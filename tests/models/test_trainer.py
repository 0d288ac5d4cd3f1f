import dataclasses
import logging

import numpy as np
import tensorflow as tf
import tf_keras

from models import trainer, unet
from pipeline import configs
from tests.models.weights_files import write_encoder_weights


def one_example():
    return tf.zeros([4, 6, 3]), tf.zeros([4, 6], tf.int64)


def test_training_batches_repeat_without_augmentation():
    examples = tf.data.Dataset.from_tensors(one_example()).repeat(5)
    batches = trainer._batches(examples, batch_size=2, training=True, augmentation="none")
    # 5 examples, batch 2: more batches than one pass holds, all full.
    shapes = [tuple(images.shape) for images, _ in batches.take(6)]
    assert shapes == [(2, 4, 6, 3)] * 6


def test_eval_batches_are_one_pass_in_order():
    examples = tf.data.Dataset.from_tensors(one_example()).repeat(5)
    batches = trainer._batches(examples, batch_size=2, training=False)
    assert [int(images.shape[0]) for images, _ in batches] == [2, 2, 1]


def training_config(**overrides):
    return {
        **dataclasses.asdict(configs.TrainingConfig(image_size=64, alpha=0.35, batch_size=2)),
        "decoder_filters": (8, 8, 8, 8),
        **overrides,
    }


class Snapshots(tf_keras.callbacks.Callback):
    """The encoder's and the decoder's weights at the start of training and after each epoch."""

    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = [], []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 0:
            self.on_epoch_end(epoch)

    def on_epoch_end(self, epoch, logs=None):
        encoder = {id(w) for w in unet.encoder_of(self.model).weights}
        self.encoder.append([w.numpy().copy() for w in self.model.weights if id(w) in encoder])
        self.decoder.append([w.numpy().copy() for w in self.model.weights if id(w) not in encoder])


def tiny_examples():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, [8, 64, 64, 3]).astype(np.float32)
    masks = rng.integers(0, 3, [8, 64, 64])
    return tf.data.Dataset.from_tensor_slices((images, masks))


def train_tiny(config, epochs):
    """train_model on 8 random 64 px examples, 2 steps an epoch: (model, Snapshots)."""
    snapshots = Snapshots()
    model = trainer.train_model(
        config,
        tiny_examples(),
        image_size=64,
        num_classes=3,
        epochs=epochs,
        steps_per_epoch=2,
        callbacks=[snapshots],
    )
    return model, snapshots


def changed(before, after):
    return [not np.array_equal(b, a) for b, a in zip(before, after, strict=True)]


def test_a_frozen_pretrained_encoder_keeps_its_weights_and_statistics_then_trains(tmp_path):
    weights = tmp_path / "encoder.h5"
    write_encoder_weights(weights, image_size=64)
    config = training_config(encoder_weights=str(weights), freeze_encoder_epochs=1)
    model, snapshots = train_tiny(config, epochs=2)
    start, frozen, unfrozen = snapshots.encoder
    assert not any(changed(start, frozen))
    decoder_start, decoder_frozen, _ = snapshots.decoder
    assert sum(changed(decoder_start, decoder_frozen)) > 0.9 * len(decoder_start)
    # Epoch 2, unfrozen: the encoder trains, its BatchNorm statistics move too.
    assert sum(changed(frozen, unfrozen)) > 0.9 * len(start)
    assert unet.encoder_of(model).trainable
    # One optimizer throughout: its step count (the learning-rate schedule) carried on.
    assert int(model.optimizer.iterations) == 4


def test_freezing_an_encoder_trained_from_scratch_is_skipped_with_a_warning(caplog):
    config = training_config(encoder_weights="none", freeze_encoder_epochs=1)
    with caplog.at_level(logging.WARNING):
        _, snapshots = train_tiny(config, epochs=1)
    assert "freeze_encoder_epochs=1 ignored: the encoder has no pretrained weights" in caplog.text
    start, first_epoch = snapshots.encoder
    assert sum(changed(start, first_epoch)) > 0.9 * len(start)  # the encoder trained
