import dataclasses
import json
import logging
import os
import pathlib
import subprocess
import sys

import numpy as np
import tensorflow as tf
import tf_keras

from models import signatures, trainer, unet
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


def train_tiny(config, epochs, steps_per_epoch=2, strategy=None):
    """train_model on 8 random 64 px examples: (model, Snapshots)."""
    snapshots = Snapshots()
    model = trainer.train_model(
        config,
        tiny_examples(),
        image_size=64,
        num_classes=3,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        strategy=strategy,
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


def test_epoch_steps_and_the_global_batch():
    class TwoReplicas:
        num_replicas_in_sync = 2

    config = training_config(batch_size=8)
    assert trainer.global_batch_size(config) == 8
    assert trainer.global_batch_size(config, tf.distribute.get_strategy()) == 8
    assert trainer.global_batch_size(config, TwoReplicas()) == 16
    # One pass over 100 examples in global batches of 16; or a step budget over the epochs.
    assert trainer.epoch_steps(100, 16, epochs=3) == 7
    assert trainer.epoch_steps(100, 16, epochs=3, train_steps=10) == 4
    assert trainer.epoch_steps(3, 16, epochs=1) == 1


def test_without_several_gpus_training_is_what_it_was_without_any_strategy():
    # This machine has no GPU: the default strategy, one device.
    strategy = trainer.distribution_strategy()
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    # Random augmentation in a parallel map is not repeatable; without it a run is.
    config = training_config(encoder_weights="none", augmentation="none")
    weights = []
    for strategy_or_none in (None, strategy):
        tf_keras.backend.clear_session()
        tf_keras.utils.set_random_seed(0)
        model, _ = train_tiny(config, epochs=1, strategy=strategy_or_none)
        assert int(model.optimizer.iterations) == 2
        weights.append([weight.numpy() for weight in model.weights])
    without, default = weights
    assert not any(changed(without, default))


def test_mirrored_training_on_two_devices_keeps_the_replicas_in_sync_and_exports(tmp_path):
    # In a process of its own (tests/models/mirrored_training.py says why).
    root = pathlib.Path(__file__).resolve().parents[2]
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": path}
    run = subprocess.run(
        [sys.executable, str(root / "tests/models/mirrored_training.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        env=environment,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    facts = json.loads(run.stdout.splitlines()[-1])
    assert facts["strategy"] == "MirroredStrategy"
    assert facts["replicas"] == 2
    assert facts["global_batch_size"] == 4  # batch_size 2 on each replica
    assert facts["logged"] == (
        "2 on each of 2 replicas: /job:localhost/replica:0/task:0/device:CPU:0, "
        "/job:localhost/replica:0/task:0/device:CPU:1"
    )
    assert facts["values_per_weight"] == [2]  # every weight has a copy on each device
    assert facts["mirrored_agree"]
    assert facts["on_read"] == ["moving_mean", "moving_variance"]
    assert facts["on_read_is_the_mean"]
    # One step with the encoder frozen, one after unfreezing (recompiled in the scope).
    assert facts["iterations"] == 2
    assert facts["encoder_changed_while_frozen"] == 0
    assert facts["encoder_changed_after"] > 0.9 * facts["encoder_weights"]
    # The same signatures as a model trained on one device, serving the trained model.
    assert facts["signatures"] == sorted(
        [
            "serving_default",
            signatures.MASK_PNG_SIGNATURE,
            signatures.CLASS_IDS_SIGNATURE,
            "segment_image",
            "serving_examples",
            "transform_features",
        ]
    )
    assert facts["served_minus_model"] < 1e-5
