"""The Trainer component's run_fn: input pipeline, training loop and exported signatures.

The exported SavedModel has three signatures:
- `serving_default`: a batch of encoded images (JPEG, PNG, GIF or BMP bytes) ->
  `probabilities` [N, S, S, C] and `class_ids` [N, S, S] at the model's resolution
  S x S (the Transform image size), plus each image's original `height` and `width`.
- `segment_image`: one encoded image -> `probabilities` [H, W, C] and `class_ids` [H, W]
  at the image's own resolution (probabilities resized bilinearly, then argmax).
- `serving_examples` / `transform_features`: serialized tf.Examples in the ingestion
  schema -> predictions / transformed features, for the Evaluator.
`serving_default` and `segment_image` refuse bad input with InvalidArgumentError and a
message (`decode_served_image`): empty bytes, another format, a corrupt or truncated file,
more than features.MAX_IMAGE_PIXELS pixels, an empty batch.
"""

import json
import math
import os

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from absl import logging
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from models import augmentation as augmentation_lib
from models import features, losses, preprocessing, training_metrics, unet


def run_fn(fn_args: tfx.components.FnArgs):
    config = dict(fn_args.custom_config or {})
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    image_shape = tf_transform_output.transformed_feature_spec()[
        features.TRANSFORMED_IMAGE_KEY
    ].shape
    image_size = int(image_shape[0])
    convention = preprocessing.mask_convention_from_config(config)
    class_names = convention.class_names
    batch_size = int(config["batch_size"])
    tf_keras.utils.set_random_seed(int(config["seed"]))

    train_examples = _load_examples(fn_args.train_files, fn_args.data_accessor, tf_transform_output)
    eval_examples = _load_examples(fn_args.eval_files, fn_args.data_accessor, tf_transform_output)
    num_train = _count(train_examples)
    epochs = int(config["epochs"])
    steps_per_epoch = max(1, math.ceil(num_train / batch_size))
    if fn_args.train_steps:  # An explicit step budget wins; it is split into the epochs.
        steps_per_epoch = max(1, math.ceil(fn_args.train_steps / epochs))
    logging.info(
        "Training on %d examples: %d epochs of %d steps, batch %d, image %dx%d, classes %s.",
        num_train,
        epochs,
        steps_per_epoch,
        batch_size,
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
        steps_per_epoch=steps_per_epoch,
        validation_data=eval_dataset,
        callbacks=[
            tf_keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch")
        ],
    )
    test_time_flip = bool(config["test_time_flip"])
    export_model(model, tf_transform_output, image_size, fn_args.serving_model_dir, test_time_flip)
    write_model_metadata(fn_args.serving_model_dir, image_size, convention, test_time_flip)


def train_model(
    config, train_examples, *, image_size, num_classes, epochs, steps_per_epoch, **fit_args
):
    """Builds the U-Net of `config` (the Trainer's custom_config) and fits it.

    train_examples: unbatched (image, class ids) pairs, as the Transform makes them.
    fit_args go to Keras's fit (validation_data, callbacks). With a pretrained encoder,
    `freeze_encoder_epochs` first trains the decoder alone, so that its random start does
    not wreck the ImageNet features; the encoder then joins in.
    """
    batches = _batches(
        train_examples,
        int(config["batch_size"]),
        training=True,
        augmentation=config["augmentation"],
    )
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


def export_model(model, tf_transform_output, image_size, serving_model_dir, test_time_flip=False):
    """Saves the model with its signatures. test_time_flip: every signature averages the
    prediction of each image and of its mirror image (twice the model's work)."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_feature_spec = tf_transform_output.raw_feature_spec()
    predict = flip_averaged(model) if test_time_flip else model
    serve_image_bytes = image_bytes_signature(predict, image_size)

    @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="image")])
    def segment_image(image):
        decoded = decode_served_image(image)
        model_input = preprocessing.image_to_model_input(decoded, image_size)
        probabilities = predict(model_input[tf.newaxis], training=False)
        full_size = tf.image.resize(probabilities, tf.shape(decoded)[:2], method="bilinear")[0]
        return model_outputs(full_size)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized_examples):
        image_spec = {features.IMAGE_KEY: raw_feature_spec[features.IMAGE_KEY]}
        parsed = tf.io.parse_example(serialized_examples, image_spec)
        return serve_image_bytes(tf.reshape(parsed[features.IMAGE_KEY], [-1]))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized_examples):
        parsed = tf.io.parse_example(serialized_examples, raw_feature_spec)
        return model.tft_layer(parsed)

    signatures = {
        "serving_default": serve_image_bytes,
        "segment_image": segment_image,
        "serving_examples": serve_examples,
        "transform_features": transform_features,
    }
    model.save(serving_model_dir, save_format="tf", signatures=signatures)
    logging.info(
        "Exported the model with signatures %s to %s.", sorted(signatures), serving_model_dir
    )


def flip_averaged(model):
    """model, with the horizontal mirror of each image averaged in: the same call
    signature, one model call on the images and their mirrors together."""

    def predict(images, training=False):
        mirrors = tf.reverse(images, axis=[2])
        both = model(tf.concat([images, mirrors], axis=0), training=training)
        count = tf.shape(images)[0]
        return (both[:count] + tf.reverse(both[count:], axis=[2])) / 2

    return predict


def model_outputs(probabilities):
    """What every signature answers: the class probabilities and the class ids."""
    return {
        features.PROBABILITIES_OUTPUT: probabilities,
        features.CLASS_IDS_OUTPUT: tf.argmax(probabilities, axis=-1, output_type=tf.int32),
    }


def served_image_to_model_input(encoded, image_size):
    """Encoded bytes -> (model input [S, S, 3] float32, the image's [height, width])."""
    decoded = decode_served_image(encoded)
    return preprocessing.image_to_model_input(decoded, image_size), tf.shape(decoded)[:2]


def image_bytes_signature(
    model, image_size, decode_one=served_image_to_model_input, parallel_iterations=None
):
    """serving_default: a batch of encoded images -> outputs at the model's size, and each
    image's height and width. bench/serving.py builds variants with another decode_one
    (bytes, image_size -> model input, size) or parallel_iterations."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def serve_image_bytes(images):
        # The model cannot run on an empty batch (a depthwise convolution fails obscurely).
        not_empty = tf.debugging.assert_positive(
            tf.size(images), message="no images: serving_default needs at least one"
        )
        with tf.control_dependencies([not_empty]):
            images = tf.identity(images)
        model_inputs, sizes = tf.map_fn(
            lambda encoded: decode_one(encoded, image_size),
            images,
            parallel_iterations=parallel_iterations,
            fn_output_signature=(
                tf.TensorSpec([image_size, image_size, 3], tf.float32),
                tf.TensorSpec([2], tf.int32),
            ),
        )
        outputs = model_outputs(model(model_inputs, training=False))
        outputs.update(height=sizes[:, 0], width=sizes[:, 1])
        return outputs

    return serve_image_bytes


def decode_served_image(encoded):
    """Encoded bytes from a client -> uint8 [H, W, 3], or InvalidArgumentError with a reason.

    The size comes from the file's header, so that an image too large is refused before
    its pixels are allocated; decode_image then reports corrupt or truncated data.
    """
    height, width = image_header_size(encoded)
    checks = [
        tf.debugging.assert_positive(tf.strings.length(encoded), message="empty image bytes"),
        tf.debugging.assert_non_negative(height, message="not a JPEG, PNG, GIF or BMP image"),
        tf.debugging.assert_less_equal(
            height * width,
            tf.constant(features.MAX_IMAGE_PIXELS, tf.int64),
            message=f"image too large to serve: more than {features.MAX_IMAGE_PIXELS} pixels; "
            "downscale it first",
        ),
    ]
    with tf.control_dependencies(checks):
        return preprocessing.decode_image(encoded)


def image_header_size(encoded):
    """(height, width), int64, from a JPEG, PNG, GIF or BMP header; (-1, -1) for others.

    A header cut too short to hold the size reads as 0 x 0 (decoding then fails).
    """
    # Padded, so that reading a field never runs past the end of a short input.
    header = tf.strings.join([tf.strings.substr(encoded, 0, 32), tf.constant(b"\0" * 32)])

    def field(offset, size, byte_order):
        digits = tf.io.decode_raw(tf.strings.substr(header, offset, size), tf.uint8)
        powers = 256 ** tf.range(size, dtype=tf.int64)
        powers = powers if byte_order == "little" else tf.reverse(powers, [0])
        return tf.reduce_sum(tf.cast(digits, tf.int64) * powers)

    def jpeg():
        shape = tf.io.extract_jpeg_shape(encoded, output_type=tf.int64)
        return shape[0], shape[1]

    def bmp():
        height = field(22, 4, "little")  # a signed int32, negative for top-down rows
        return tf.where(height >= 2**31, 2**32 - height, height), field(18, 4, "little")

    def starts_with(magic):
        return tf.equal(tf.strings.substr(header, 0, len(magic)), magic)

    return tf.case(
        [
            (tf.io.is_jpeg(encoded), jpeg),
            (starts_with(b"\x89PNG"), lambda: (field(20, 4, "big"), field(16, 4, "big"))),
            (starts_with(b"GIF8"), lambda: (field(8, 2, "little"), field(6, 2, "little"))),
            (starts_with(b"BM"), bmp),
        ],
        default=lambda: (tf.constant(-1, tf.int64), tf.constant(-1, tf.int64)),
    )


def write_model_metadata(serving_model_dir, image_size, convention, test_time_flip=False):
    """The classes and image size beside the SavedModel, for tools that load it later."""
    path = os.path.join(serving_model_dir, features.MODEL_METADATA_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    metadata = {
        "image_size": image_size,
        "mask_convention": convention.to_json_dict(),
        "test_time_flip": test_time_flip,
    }
    with tf.io.gfile.GFile(path, "w") as metadata_file:
        metadata_file.write(json.dumps(metadata, indent=2))
