"""The exported model's signatures: what a served or pushed model answers, and how.

`export_model` saves the trained Keras model as a SavedModel with these signatures:
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

import tensorflow as tf
from absl import logging

from models import features, preprocessing


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
