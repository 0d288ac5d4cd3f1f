"""The Trainer component's run_fn: input pipeline, training loop and export.

The trained model is exported with the signatures of models/signatures.py (its docstring
lists them), and the model's classes, image size and training settings are written beside
it (`write_model_metadata`).

Devices (`distribution_strategy`): with more than one visible GPU the model trains under a
`tf.distribute.MirroredStrategy`, one replica per GPU; otherwise under the default strategy,
on one device, exactly as without any strategy. `batch_size` is the batch of one replica:
each step takes batch_size x replicas examples (`global_batch_size`).
"""

import contextlib
import datetime
import json
import math
import os

import tensorflow as tf
import tf_keras
from absl import logging

from models import augmentation as augmentation_lib
from models import features, losses, preprocessing, signatures, training_metrics, unet

# TFX, tf.Transform and tfx-bsl are imported where they are used, by run_fn: train_model
# (the tests, bench/cross_validate.py) needs none of them, and importing TFX takes 30 s.


def run_fn(fn_args):
    """TFX's Trainer calls it with a tfx.components.FnArgs."""
    import tensorflow_transform as tft

    config = dict(fn_args.custom_config or {})
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    image_shape = tf_transform_output.transformed_feature_spec()[
        features.TRANSFORMED_IMAGE_KEY
    ].shape
    image_size = int(image_shape[0])
    convention = preprocessing.mask_convention_from_config(config)
    class_names = convention.class_names
    tf_keras.utils.set_random_seed(int(config["seed"]))
    strategy = distribution_strategy()
    batch_size = global_batch_size(config, strategy)

    train_examples = _load_examples(fn_args.train_files, fn_args.data_accessor, tf_transform_output)
    eval_examples = _load_examples(fn_args.eval_files, fn_args.data_accessor, tf_transform_output)
    num_train = _count(train_examples)
    epochs = int(config["epochs"])
    steps = epoch_steps(num_train, batch_size, epochs, fn_args.train_steps)
    logging.info(
        "Training on %d examples: %d epochs of %d steps, batch %d (%s), image %dx%d, classes %s.",
        num_train,
        epochs,
        steps,
        batch_size,
        describe_replicas(strategy, config),
        image_size,
        image_size,
        class_names,
    )

    eval_dataset = _batches(eval_examples, batch_size, training=False)
    model = train_model(
        config,
        train_examples,
        image_size=image_size,
        num_classes=len(class_names),
        epochs=epochs,
        steps_per_epoch=steps,
        strategy=strategy,
        validation_data=eval_dataset,
        callbacks=[
            tf_keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")
        ],
    )
    test_time_flip = bool(config["test_time_flip"])
    signatures.export_model(
        model, tf_transform_output, image_size, fn_args.serving_model_dir, test_time_flip
    )
    write_model_metadata(
        fn_args.serving_model_dir,
        image_size,
        convention,
        test_time_flip,
        # The settings as run: the model card reports them (components/provenance.py).
        training={k: v for k, v in config.items() if k not in NOT_TRAINING_SETTINGS},
        pretrained_encoder=model.pretrained_encoder,
    )


def distribution_strategy(devices=None):
    """The strategy the Trainer trains under.

    devices=None: a MirroredStrategy over every visible GPU when there are several, else the
    default strategy (one device, the GPU if there is one: what Keras does with no strategy).
    devices: a MirroredStrategy over these logical devices' names (the tests' two CPUs).
    """
    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) < 2:
            return tf.distribute.get_strategy()
        devices = [gpu.name for gpu in gpus]
    return tf.distribute.MirroredStrategy(devices)


def global_batch_size(config, strategy=None):
    """The examples of one training step: `batch_size` (one replica's) x replicas."""
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    return int(config["batch_size"]) * replicas


def epoch_steps(num_examples, batch_size, epochs, train_steps=None):
    """Steps of one epoch: one pass over the examples in batches of batch_size (the global
    batch), or an explicit step budget (train_steps) split into the epochs."""
    if train_steps:
        return max(1, math.ceil(train_steps / epochs))
    return max(1, math.ceil(num_examples / batch_size))


def describe_replicas(strategy, config):
    """For the log: "one device", or "8 on each of 2 replicas: /job:.../GPU:0, ..."."""
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return "one device"
    devices = ", ".join(strategy.extended.worker_devices)
    return f"{int(config['batch_size'])} on each of {replicas} replicas: {devices}"


def train_model(
    config,
    train_examples,
    *,
    image_size,
    num_classes,
    epochs,
    steps_per_epoch,
    strategy=None,
    **fit_args,
):
    """Builds the U-Net of `config` (the Trainer's custom_config) and fits it.

    train_examples: unbatched (image, class ids) pairs, as the Transform makes them.
    strategy: a tf.distribute strategy (`distribution_strategy`) whose scope holds the
    model, its optimizer and metrics; each step takes `batch_size` examples per replica,
    which fit splits among them. Each replica's loss is its own batch's (soft Dice over
    batch_size images, as on one device); Keras divides it by the replicas and sums the
    gradients, so a step follows their mean. None: no strategy scope at all.
    fit_args go to Keras's fit (validation_data, callbacks). With a pretrained encoder,
    `freeze_encoder_epochs` first trains the decoder alone, so that its random start does
    not wreck the ImageNet features; the encoder then joins in.
    """
    batches = _batches(
        train_examples,
        global_batch_size(config, strategy),
        training=True,
        augmentation=config["augmentation"],
    )
    # Variables made in the scope (the model's, the optimizer's, the metrics', also those
    # of the metrics that recompiling makes) are the strategy's: a copy on every replica.
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        return _fit(config, batches, image_size, num_classes, epochs, steps_per_epoch, fit_args)


def _fit(config, batches, image_size, num_classes, epochs, steps_per_epoch, fit_args):
    model = build_compiled_model(config, image_size, num_classes, epochs * steps_per_epoch)
    frozen_epochs = min(int(config["freeze_encoder_epochs"]), epochs)
    if frozen_epochs and not model.pretrained_encoder:
        logging.warning(
            "freeze_encoder_epochs=%d ignored: the encoder has no pretrained weights to keep.",
            frozen_epochs,
        )
        frozen_epochs = 0
    fit = lambda first, last: model.fit(
        batches,
        initial_epoch=first,
        epochs=last,
        steps_per_epoch=steps_per_epoch,
        verbose=2,
        **fit_args,
    )
    if frozen_epochs:
        logging.info("Encoder frozen for the first %d epochs.", frozen_epochs)
        # Built for every variable before any is frozen, the optimizer keeps its state and
        # step count (so the learning-rate schedule) across the unfreezing.
        model.optimizer.build(model.trainable_variables)
        set_encoder_trainable(model, False)
        fit(0, frozen_epochs)
        set_encoder_trainable(model, True)
    if frozen_epochs < epochs:
        fit(frozen_epochs, epochs)
    return model


def set_encoder_trainable(model, trainable: bool):
    """Freezes or unfreezes the encoder, and recompiles so that training sees the change.

    A frozen encoder's BatchNormalization layers run in inference mode (Keras 2 does so for
    non-trainable BatchNormalization), keeping their ImageNet statistics.
    """
    unet.encoder_of(model).trainable = trainable
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=_metrics(model))


def build_compiled_model(config, image_size, num_classes, total_steps):
    """The U-Net of the Trainer's custom_config, compiled for training over total_steps."""
    model = unet.build_unet(
        image_size=image_size,
        num_classes=num_classes,
        backbone=config["backbone"],
        alpha=float(config["alpha"]),
        encoder_weights=config["encoder_weights"],
        decoder_filters=tuple(config["decoder_filters"]),
        batchnorm_momentum=float(config["batchnorm_momentum"]),
    )
    learning_rate = tf_keras.optimizers.schedules.CosineDecay(
        float(config["learning_rate"]), decay_steps=total_steps, alpha=0.05
    )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate),
        loss=losses.get_loss(config["loss"]),
        metrics=_metrics(model, num_classes),
    )
    return model


def _metrics(model, num_classes=None):
    num_classes = num_classes or int(model.output.shape[-1])
    return [
        tf_keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
        training_metrics.MeanDice(num_classes=num_classes),
    ]


def _load_examples(file_pattern, data_accessor, tf_transform_output):
    """Raw examples through the Transform graph, one by one, transformed once and cached.

    The Transform component does not write transformed examples (pipeline/pipeline.py says
    why), so the first pass over a split decodes and resizes its images here, with the
    very graph that Transform exported; later epochs read the in-memory cache.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tfx_bsl.public import tfxio

    raw_schema = schema_pb2.Schema()
    raw_schema.CopyFrom(tf_transform_output.raw_metadata.schema)
    # Parse only what the preprocessing_fn reads (not labels, file names, boxes).
    kept = [f for f in raw_schema.feature if f.name in (features.IMAGE_KEY, features.MASK_KEY)]
    del raw_schema.feature[:]
    raw_schema.feature.extend(kept)
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=32, num_epochs=1, shuffle=False),
        raw_schema,
    )
    transform_layer = tf_transform_output.transform_features_layer()

    def transform(raw_batch):
        transformed = transform_layer(raw_batch)
        return (
            transformed[features.TRANSFORMED_IMAGE_KEY],
            transformed[features.TRANSFORMED_MASK_KEY],
        )

    dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.unbatch().cache()


def _count(dataset):
    # Reading the split once also fills the cache.
    return int(dataset.reduce(0, lambda count, _: count + 1))


def _batches(examples, batch_size, training, augmentation="none"):
    """Batches of examples; for training, shuffled, repeated and augmented
    (models/augmentation.py AUGMENTATIONS)."""
    if training:
        examples = examples.shuffle(2048, reshuffle_each_iteration=True).repeat()
        augment = augmentation_lib.augment_fn(augmentation)
        if augment:
            examples = examples.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return examples.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)


# Keys of the Trainer's custom_config that are not training settings.
NOT_TRAINING_SETTINGS = ("mask_convention", "code_version")


def write_model_metadata(
    serving_model_dir,
    image_size,
    convention,
    test_time_flip=False,
    training=None,
    pretrained_encoder=False,
):
    """The classes and image size beside the SavedModel, for tools that load it later, and
    how it was trained: the settings, and whether the encoder started from pretrained
    weights (they may have been asked for and not be had)."""
    path = os.path.join(serving_model_dir, features.MODEL_METADATA_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    metadata = {
        "image_size": image_size,
        "mask_convention": convention.to_json_dict(),
        "test_time_flip": test_time_flip,
        "training": dict(training or {}),
        "pretrained_encoder": bool(pretrained_encoder),
        "trained_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with tf.io.gfile.GFile(path, "w") as metadata_file:
        metadata_file.write(json.dumps(metadata, indent=2))
