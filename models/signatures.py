"""The exported model's signatures: what a served or pushed model answers, and how.

`export_model` saves the trained Keras model as a SavedModel with these signatures
(N images, S x S the model's resolution, the Transform image size; C classes):
- `serving_default`: `images`, a batch of encoded images (JPEG, PNG, GIF or BMP bytes)
  -> `probabilities` float32 [N, S, S, C] and `class_ids` int32 [N, S, S] at the model's
  resolution, plus each image's original `height` and `width` int32 [N].
- `serving_mask_png`: `images` -> `mask_png_bytes` string [N]: each image's class ids as a
  one-channel 8-bit PNG at the image's own size (as `segment_image` computes them). The
  `_bytes` suffix makes TF Serving's REST API answer it base64-encoded, `{"b64": ...}`.
- `serving_class_ids`: `images` -> `class_ids` uint8 [N, S, S], `height` and `width`:
  serving_default without its probabilities (the same ids).
- `segment_image`: one encoded image -> `probabilities` [H, W, C] and `class_ids` [H, W]
  at the image's own resolution (probabilities resized bilinearly, then argmax).
- `serving_examples` / `transform_features`: serialized tf.Examples in the ingestion
  schema -> predictions / transformed features, for the Evaluator.
Class id i is `class_names[i]` of the mask convention in `assets.extra/segmentation.json`
(features.MODEL_METADATA_FILE). The image signatures refuse bad input with
InvalidArgumentError and a message (`decode_served_image`): empty bytes, another format, a
corrupt or truncated file, more than features.MAX_IMAGE_PIXELS pixels, an empty batch.
docs/serving.md shows them served by TensorFlow Serving and on Vertex AI.
"""

import tensorflow as tf
from absl import logging

from models import features, preprocessing

# The signatures with light outputs (see the module's docstring).
MASK_PNG_SIGNATURE = "serving_mask_png"
CLASS_IDS_SIGNATURE = "serving_class_ids"
# Their input, as serving_default's: a batch of encoded images.
IMAGES_SPEC = tf.TensorSpec([None], tf.string, name="images")


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
        probabilities = predict(model_input[tf.newaxis], training=False)[0]
        return model_outputs(at_image_size(probabilities, tf.shape(decoded)[:2]))

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
        MASK_PNG_SIGNATURE: mask_png_signature(predict, image_size),
        CLASS_IDS_SIGNATURE: class_ids_signature(predict, image_size),
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
    """What serving_default and segment_image answer: the class probabilities and ids."""
    return {
        features.PROBABILITIES_OUTPUT: probabilities,
        features.CLASS_IDS_OUTPUT: class_ids_of(probabilities),
    }


def class_ids_of(probabilities):
    """The most probable class of each pixel, int32."""
    return tf.argmax(probabilities, axis=-1, output_type=tf.int32)


def at_image_size(probabilities, size):
    """[S, S, C] probabilities -> [height, width, C], resized bilinearly (size: [2] int32)."""
    return tf.image.resize(probabilities, size, method="bilinear")


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

    @tf.function(input_signature=[IMAGES_SPEC])
    def serve_image_bytes(images):
        probabilities, sizes = predict_batch(
            model, image_size, images, "serving_default", decode_one, parallel_iterations
        )
        return {**model_outputs(probabilities), **size_outputs(sizes)}

    return serve_image_bytes


def mask_png_signature(model, image_size):
    """serving_mask_png: a batch of encoded images -> each image's class ids as a PNG at
    the image's own size. Images of different sizes make PNGs of different sizes, hence
    one scalar string per image."""

    @tf.function(input_signature=[IMAGES_SPEC])
    def serve_mask_png(images):
        probabilities, sizes = predict_batch(model, image_size, images, MASK_PNG_SIGNATURE)

        def encode_one(probabilities_and_size):
            class_ids = class_ids_of(at_image_size(*probabilities_and_size))
            # uint8 holds every class id: a mask convention has at most 256 classes.
            return tf.io.encode_png(tf.cast(class_ids, tf.uint8)[..., tf.newaxis])

        masks = tf.map_fn(
            encode_one, (probabilities, sizes), fn_output_signature=tf.TensorSpec([], tf.string)
        )
        return {features.MASK_PNG_OUTPUT: masks}

    return serve_mask_png


def class_ids_signature(model, image_size):
    """serving_class_ids: serving_default's class ids (as uint8), height and width."""

    @tf.function(input_signature=[IMAGES_SPEC])
    def serve_class_ids(images):
        probabilities, sizes = predict_batch(model, image_size, images, CLASS_IDS_SIGNATURE)
        class_ids = tf.cast(class_ids_of(probabilities), tf.uint8)
        return {features.CLASS_IDS_OUTPUT: class_ids, **size_outputs(sizes)}

    return serve_class_ids


def predict_batch(
    model,
    image_size,
    images,
    signature_name,
    decode_one=served_image_to_model_input,
    parallel_iterations=None,
):
    """Encoded images [N] -> (probabilities [N, S, S, C], each image's [height, width])."""
    # The model cannot run on an empty batch (a depthwise convolution fails obscurely).
    not_empty = tf.debugging.assert_positive(
        tf.size(images), message=f"no images: {signature_name} needs at least one"
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
    return model(model_inputs, training=False), sizes


def size_outputs(sizes):
    """Each image's original height and width, int32 [N]."""
    return {features.HEIGHT_OUTPUT: sizes[:, 0], features.WIDTH_OUTPUT: sizes[:, 1]}


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
