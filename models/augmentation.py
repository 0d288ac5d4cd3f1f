"""Where training examples are augmented: random changes applied to image and mask alike.

Examples arrive as the Transform made them: a float image [S, S, 3] in [-1, 1] and int64
class ids [S, S]. Geometry moves the image and its mask together; masks are resampled
with nearest-neighbour only, because class ids must never be interpolated.

- "none": examples as they are.
- "flip": horizontal flips and brightness/contrast jitter (the default). Enough for the
  synthetic scenes, whose pets are all about the same size and upright.
- "affine": "flip" plus a random zoom (0.8x to 1.4x), aspect change, small rotation and
  shift, and saturation jitter. Real photos frame pets at every scale and angle.
"""

import math

import tensorflow as tf

AUGMENTATIONS = ("none", "flip", "affine")

MAX_ZOOM_OUT = 0.8  # < 1 shows more of the scene: edges are filled by reflection
MAX_ZOOM_IN = 1.4
MAX_ASPECT_CHANGE = 1.15  # width over height, either way
MAX_ROTATION_DEGREES = 10.0
MAX_SHIFT = 0.1  # of the image side


def augment_fn(augmentation: str):
    """The per-example function of `augmentation` (one of AUGMENTATIONS), or None."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"Unknown augmentation {augmentation!r}; use one of {AUGMENTATIONS}.")
    return {"none": None, "flip": flip_and_jitter, "affine": affine_and_jitter}[augmentation]


def flip_and_jitter(image, mask):
    """A horizontal flip half of the time, and brightness/contrast jitter."""
    image, mask = _random_flip(image, mask)
    return _jitter_brightness_contrast(image), mask


def affine_and_jitter(image, mask):
    """`flip_and_jitter`, a random affine transform, and saturation jitter."""
    image, mask = _random_flip(image, mask)
    image, mask = random_affine(image, mask)
    image = _jitter_brightness_contrast(image)
    # Saturation works on [0, 1] RGB.
    saturated = tf.image.random_saturation((image + 1.0) / 2.0, 0.7, 1.3)
    return tf.clip_by_value(saturated * 2.0 - 1.0, -1.0, 1.0), mask


def random_affine(image, mask):
    """One random zoom, aspect change, rotation and shift, for the image and its mask."""
    transform = _random_affine_transform(tf.shape(image)[0], tf.shape(image)[1])
    return (
        _apply_transform(image, transform, "BILINEAR"),
        _apply_transform(mask[..., tf.newaxis], transform, "NEAREST")[..., 0],
    )


def _random_affine_transform(height, width):
    """The 8 projective parameters mapping output pixels to input pixels, about the centre."""
    log_uniform = lambda low, high: tf.exp(tf.random.uniform([], math.log(low), math.log(high)))
    zoom = log_uniform(MAX_ZOOM_OUT, MAX_ZOOM_IN)
    aspect = log_uniform(1 / MAX_ASPECT_CHANGE, MAX_ASPECT_CHANGE)
    angle = tf.random.uniform([], -1.0, 1.0) * MAX_ROTATION_DEGREES * math.pi / 180
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    shift_x = tf.random.uniform([], -MAX_SHIFT, MAX_SHIFT) * width
    shift_y = tf.random.uniform([], -MAX_SHIFT, MAX_SHIFT) * height
    # Output offset from the centre -> input offset: rotate, then undo the zoom per axis.
    scale_x, scale_y = 1.0 / (zoom * tf.sqrt(aspect)), tf.sqrt(aspect) / zoom
    cos, sin = tf.cos(angle), tf.sin(angle)
    a0, a1 = cos * scale_x, -sin * scale_x
    b0, b1 = sin * scale_y, cos * scale_y
    center_x, center_y = (width - 1) / 2, (height - 1) / 2
    a2 = center_x - a0 * center_x - a1 * center_y + shift_x
    b2 = center_y - b0 * center_x - b1 * center_y + shift_y
    return tf.stack([a0, a1, a2, b0, b1, b2, 0.0, 0.0])


def _apply_transform(image, transform, interpolation):
    """[H, W, C] through ImageProjectiveTransformV3 (the op Keras's RandomZoom uses)."""
    transformed = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[tf.newaxis],
        transforms=transform[tf.newaxis],
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode="REFLECT",
    )
    return tf.ensure_shape(transformed[0], image.shape)


def _random_flip(image, mask):
    flip = tf.random.uniform([]) < 0.5
    image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
    mask = tf.cond(
        flip, lambda: tf.image.flip_left_right(mask[..., tf.newaxis])[..., 0], lambda: mask
    )
    return image, mask


def _jitter_brightness_contrast(image):
    # Images are in [-1, 1]: jitter contrast and brightness there and clip back.
    contrast = tf.random.uniform([], 0.7, 1.3)
    brightness = tf.random.uniform([], -0.2, 0.2)
    mean = tf.reduce_mean(image)
    return tf.clip_by_value((image - mean) * contrast + mean + brightness, -1.0, 1.0)
