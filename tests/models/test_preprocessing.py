import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models import features, mask_convention, preprocessing


def encode(array, fmt):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def run_preprocessing(images, masks, image_size=8, class_mode="trimap", convention=None):
    inputs = {
        features.IMAGE_KEY: tf.constant([[encode(i, "PNG")] for i in images]),
        features.MASK_KEY: tf.constant([[encode(m, "PNG")] for m in masks]),
    }
    convention = convention or mask_convention.trimap_convention(class_mode)
    outputs = preprocessing.preprocessing_fn(
        inputs, {"image_size": image_size, "mask_convention": convention.to_json_dict()}
    )
    return (
        outputs[features.TRANSFORMED_IMAGE_KEY].numpy(),
        outputs[features.TRANSFORMED_MASK_KEY].numpy(),
    )


def test_shapes_dtypes_and_normalization():
    black = np.zeros([20, 30, 3], np.uint8)
    white = np.full([10, 12, 3], 255, np.uint8)
    masks = [np.full([20, 30], 2, np.uint8), np.full([10, 12], 1, np.uint8)]
    images, class_ids = run_preprocessing([black, white], masks)
    assert images.shape == (2, 8, 8, 3) and images.dtype == np.float32
    assert class_ids.shape == (2, 8, 8) and class_ids.dtype == np.int64
    np.testing.assert_allclose(images[0], -1.0)
    np.testing.assert_allclose(images[1], 1.0)
    # trimap: 1 = pet -> 0, 2 = background -> 1.
    assert (class_ids[0] == 1).all() and (class_ids[1] == 0).all()


def test_masks_are_resized_with_nearest_neighbour():
    # A checkerboard of 1s and 3s: any interpolation would create the value 2.
    mask = np.where(np.indices([16, 16]).sum(axis=0) % 2 == 0, 1, 3).astype(np.uint8)
    image = np.zeros([16, 16, 3], np.uint8)
    _, class_ids = run_preprocessing([image], [mask], image_size=8)
    assert set(np.unique(class_ids)) <= {0, 2}  # pet and border only, never background
    # Upsampling by 2 repeats each source pixel in a 2x2 block.
    _, upsampled = run_preprocessing([image], [mask], image_size=32)
    expected = np.kron(np.where(mask == 1, 0, 2), np.ones([2, 2], np.int64))
    np.testing.assert_array_equal(upsampled[0], expected)


@pytest.mark.parametrize(
    "class_mode, expected",
    [
        ("trimap", [0, 1, 2]),
        ("binary_border_as_pet", [1, 0, 1]),
        ("binary_border_as_background", [1, 0, 0]),
    ],
)
def test_class_modes_map_trimap_values(class_mode, expected):
    mask = np.array([[1, 2, 3]], np.uint8).repeat(3, axis=0)
    _, class_ids = run_preprocessing(
        [np.zeros([3, 3, 3], np.uint8)], [mask], image_size=3, class_mode=class_mode
    )
    np.testing.assert_array_equal(class_ids[0][0], expected)


def test_unknown_mask_values_fail_with_a_message():
    mask = np.full([4, 4], 7, np.uint8)
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"outside the mask convention \[1, 2, 3\] \(pet, background, border\)",
    ):
        run_preprocessing([np.zeros([4, 4, 3], np.uint8)], [mask], image_size=4)


def test_mask_of_another_size_fails_with_a_message():
    with pytest.raises(tf.errors.InvalidArgumentError, match="differ in size"):
        run_preprocessing([np.zeros([4, 4, 3], np.uint8)], [np.ones([5, 4], np.uint8)])


def test_images_are_decoded_by_content_not_by_name():
    rgb = np.random.default_rng(0).integers(0, 255, [6, 6, 3], dtype=np.uint8)
    gray = rgb[..., 0]
    decoded_jpeg = preprocessing.decode_image(encode(rgb, "JPEG")).numpy()
    decoded_gray = preprocessing.decode_image(encode(gray, "PNG")).numpy()
    assert decoded_jpeg.shape == (6, 6, 3)
    np.testing.assert_array_equal(decoded_gray, np.repeat(gray[..., None], 3, axis=-1))


def test_a_declared_convention_maps_any_values():
    # Binary masks saved as 0 / 255, a common format of users' folders.
    convention = mask_convention.MaskConvention(("background", "object"), ((0,), (255,)))
    mask = np.array([[0, 255, 255]], np.uint8).repeat(3, axis=0)
    _, class_ids = run_preprocessing(
        [np.zeros([3, 3, 3], np.uint8)], [mask], image_size=3, convention=convention
    )
    np.testing.assert_array_equal(class_ids[0][0], [0, 1, 1])


def test_the_mask_convention_is_required_not_guessed():
    # create_pipeline always passes it; a config without it would train on a guess.
    with pytest.raises(ValueError, match="custom_config has no mask_convention"):
        preprocessing.mask_convention_from_config({"image_size": 128})
    convention = mask_convention.trimap_convention("binary_border_as_pet")
    config = {"mask_convention": convention.to_json_dict()}
    assert preprocessing.mask_convention_from_config(config) == convention
