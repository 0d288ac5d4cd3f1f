"""Mirrored training on two logical CPU devices, run by tests/models/test_trainer.py in a
process of its own: a device configuration must be set before TensorFlow initialises its
devices, which any earlier test in the same process will have done.

`python tests/models/mirrored_training.py WORK_DIR` trains the tiny U-Net of test_trainer.py
under trainer.distribution_strategy(the two CPUs) for 2 steps, one with the encoder frozen
and one after unfreezing it (which recompiles), exports it with signatures.export_model to
WORK_DIR/export, loads it back, and prints what the test checks as one line of JSON.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import json
import os
import sys

import numpy as np
import tensorflow as tf

IMAGE_SIZE = 64


def main(work_dir):
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import pathlib

    from models import preprocessing, signatures, trainer
    from tests.models.test_signatures import FakeTransformOutput, encoded, photo
    from tests.models.test_trainer import changed, train_tiny, training_config
    from tests.models.weights_files import write_encoder_weights

    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    strategy = trainer.distribution_strategy(devices)
    weights = pathlib.Path(work_dir) / "encoder.h5"
    write_encoder_weights(weights, image_size=IMAGE_SIZE)
    config = training_config(encoder_weights=str(weights), freeze_encoder_epochs=1)
    model, snapshots = train_tiny(config, epochs=2, steps_per_epoch=1, strategy=strategy)

    # Mirrored variables (the trained weights) hold one value on every replica. BatchNorm's
    # moving statistics are synchronised on read: each replica keeps its own, and reading
    # them (as saving does) gives their mean.
    read_synced = lambda w: w.synchronization == tf.VariableSynchronization.ON_READ
    on_read = [weight for weight in model.weights if read_synced(weight)]
    mirrored = [weight for weight in model.weights if not read_synced(weight)]
    start, frozen, unfrozen = snapshots.encoder

    export_dir = os.path.join(work_dir, "export")
    signatures.export_model(model, FakeTransformOutput(), IMAGE_SIZE, export_dir)
    loaded = tf.saved_model.load(export_dir)
    image = photo(IMAGE_SIZE, IMAGE_SIZE, seed=0)
    served = loaded.signatures["serving_default"](images=tf.constant([encoded(image, "PNG")]))
    model_input = preprocessing.image_to_model_input(tf.constant(image), IMAGE_SIZE)
    predicted = model(model_input[tf.newaxis], training=False)
    facts = {
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "global_batch_size": trainer.global_batch_size(config, strategy),
        "logged": trainer.describe_replicas(strategy, config),
        "values_per_weight": sorted({len(weight.values) for weight in model.weights}),
        "mirrored_agree": all(
            np.array_equal(value.numpy(), weight.values[0].numpy())
            for weight in mirrored
            for value in weight.values
        ),
        "on_read": sorted({weight.name.split("/")[-1].split(":")[0] for weight in on_read}),
        "on_read_is_the_mean": all(
            np.allclose(weight.numpy(), np.mean([v.numpy() for v in weight.values], axis=0))
            for weight in on_read
        ),
        "encoder_changed_while_frozen": sum(changed(start, frozen)),
        "encoder_changed_after": sum(changed(frozen, unfrozen)),
        "encoder_weights": len(start),
        "iterations": int(model.optimizer.iterations.numpy()),
        "signatures": sorted(loaded.signatures),
        "served_minus_model": float(np.abs(served["probabilities"] - predicted).max()),
    }
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1])
