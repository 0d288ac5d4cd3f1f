"""The Transform component's preprocessing_fn: where images and masks are decoded.

Images are decoded by content (JPEG, PNG, GIF or BMP), resized with bilinear filtering
and scaled to [-1, 1], the input range MobileNetV2 was trained with. Masks are resized with
nearest-neighbour, because class labels must never be interpolated, and mapped from stored
values to class ids (models/mask_convention.py holds the convention).

The same image path serves raw bytes at inference time (see signatures.py), so training and
serving cannot drift apart.
"""

import tensorflow as tf

from models import features, mask_convention


def preprocessing_fn(inputs, custom_config):
    """tf.Transform callback. custom_config: image_size, mask_convention (see pipeline.py)."""
    image_size = int(custom_config.get("image_size", features.DEFAULT_IMAGE_SIZE))
    convention = mask_convention_from_config(custom_config)

    image_bytes = _flatten_strings(inputs[features.IMAGE_KEY])
    mask_bytes = _flatten_strings(inputs[features.MASK_KEY])

    def transform_one(encoded):
        image_bytes, mask_bytes = encoded
        image = decode_image(image_bytes)
        mask = decode_mask(mask_bytes)
        same_size = tf.debugging.assert_equal(
            tf.shape(image)[:2],
            tf.shape(mask)[:2],
            message="segmentation_mask and image differ in size; "
            "masks must have the image's height and width",
        )
        with tf.control_dependencies([same_size]):
            return (
                image_to_model_input(image, image_size),
                mask_to_class_ids(resize_mask(mask, image_size), convention),
            )

    images, masks = tf.map_fn(
        transform_one,
        (image_bytes, mask_bytes),
        fn_output_signature=(
            tf.TensorSpec([image_size, image_size, 3], tf.float32),
            tf.TensorSpec([image_size, image_size], tf.int64),
        ),
    )
    return {
        features.TRANSFORMED_IMAGE_KEY: images,
        features.TRANSFORMED_MASK_KEY: masks,
    }


def decode_image(image_bytes):
    """Any JPEG, PNG, GIF or BMP (by content, not name) -> uint8 [H, W, 3] RGB."""
    return tf.io.decode_image(image_bytes, channels=3, expand_animations=False)


def decode_mask(mask_bytes):
    """Encoded single-channel mask -> uint8 [H, W, 1] raw values."""
    return tf.io.decode_image(mask_bytes, channels=1, expand_animations=False)


def resize_image(image, image_size):
    resized = tf.image.resize(image, [image_size, image_size], method="bilinear", antialias=True)
    # Antialiased resizing can overshoot [0, 255] by rounding; keep the input range exact.
    return tf.ensure_shape(tf.clip_by_value(resized, 0.0, 255.0), [image_size, image_size, 3])


def normalize_image(image):
    """[0, 255] -> [-1, 1], as tf.keras.applications.mobilenet_v2.preprocess_input does."""
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def image_to_model_input(image, image_size):
    """Decoded uint8 image -> the model's input. Used by Transform and by serving."""
    return normalize_image(resize_image(image, image_size))


def resize_mask(mask, image_size):
    resized = tf.image.resize(mask, [image_size, image_size], method="nearest")
    return tf.cast(resized[..., 0], tf.int64)


def mask_convention_from_config(custom_config) -> mask_convention.MaskConvention:
    """The Transform's and the Trainer's custom_config carry the convention as JSON."""
    if not custom_config or "mask_convention" not in custom_config:
        raise ValueError(
            "custom_config has no mask_convention: build the pipeline with "
            "pipeline.pipeline.create_pipeline, which puts it there."
        )
    return mask_convention.MaskConvention.from_json_dict(custom_config["mask_convention"])


def mask_to_class_ids(mask_values, convention: mask_convention.MaskConvention):
    """Stored mask values -> class ids; any other value fails with a message naming the fix."""
    mapping = convention.class_of_value
    lookup = [-1] * 256
    for value, class_id in mapping.items():
        lookup[value] = class_id
    class_ids = tf.gather(tf.constant(lookup, tf.int64), mask_values)
    known_values = tf.debugging.assert_non_negative(
        class_ids,
        message=f"segmentation_mask has values outside the mask convention "
        f"{sorted(mapping)} ({', '.join(convention.class_names)}); convert the masks "
        "or declare their values in the data source config",
    )
    with tf.control_dependencies([known_values]):
        return tf.identity(class_ids)


def _flatten_strings(tensor):
    """Raw string features arrive as [batch, 1] dense or sparse tensors -> [batch]."""
    if isinstance(tensor, tf.SparseTensor):
        tensor = tf.sparse.to_dense(tensor, default_value=b"")
    return tf.reshape(tensor, [-1])
