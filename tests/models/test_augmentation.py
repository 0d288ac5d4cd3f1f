import numpy as np
import pytest
import tensorflow as tf

from models import augmentation


def one_bright_column(column, width=6):
    image = np.full([4, width, 3], -1.0, np.float32)
    image[:, column] = 1.0
    mask = np.zeros([4, width], np.int64)
    mask[:, column] = 2
    return tf.constant(image), tf.constant(mask)


def test_flips_move_image_and_mask_together():
    image, mask = one_bright_column(1)
    columns = set()
    for seed in range(20):
        tf.random.set_seed(seed)
        augmented_image, augmented_mask = augmentation.flip_and_jitter(image, mask)
        bright = int(np.argmax(augmented_image.numpy()[0, :, 0]))
        labelled = int(np.argmax(augmented_mask.numpy()[0]))
        assert bright == labelled
        assert float(augmented_image.numpy().min()) >= -1.0
        assert float(augmented_image.numpy().max()) <= 1.0
        columns.add(bright)
    assert columns == {1, 4}  # both unflipped and flipped cases happened


def shapes_scene():
    """A mask of three classes, and an image whose pixels spell the mask's class."""
    mask = np.zeros([128, 128], np.int64)
    mask[30:90, 40:100] = 1
    mask[50:60, :] = 2
    image = np.repeat((mask * 0.5 - 0.5)[..., np.newaxis], 3, axis=-1).astype(np.float32)
    return tf.constant(image), tf.constant(mask)


def test_affine_moves_image_and_mask_together_and_never_mixes_classes():
    image, mask = shapes_scene()
    for seed in range(10):
        tf.random.set_seed(seed)
        moved_image, moved_mask = augmentation.random_affine(image, mask)
        assert moved_image.shape == (128, 128, 3) and moved_mask.shape == (128, 128)
        assert moved_mask.dtype == tf.int64
        # Nearest-neighbour only: no value between classes appears.
        assert set(np.unique(moved_mask.numpy())) <= {0, 1, 2}
        assert not np.array_equal(moved_mask.numpy(), mask.numpy())  # it did move
        # The image's class read back agrees with the mask but for bilinear edge pixels.
        read_back = np.clip(np.round((moved_image.numpy()[..., 0] + 0.5) / 0.5), 0, 2)
        assert (read_back == moved_mask.numpy()).mean() > 0.98


def test_affine_and_jitter_keeps_the_input_range():
    image, mask = shapes_scene()
    tf.random.set_seed(0)
    augmented, _ = augmentation.affine_and_jitter(image, mask)
    assert -1.0 <= float(tf.reduce_min(augmented)) and float(tf.reduce_max(augmented)) <= 1.0


def test_unknown_augmentation_names_the_choices():
    with pytest.raises(ValueError, match=r"Unknown augmentation 'rotate'; use one of \('none'"):
        augmentation.augment_fn("rotate")
    assert augmentation.augment_fn("none") is None
