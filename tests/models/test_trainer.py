import numpy as np
import tensorflow as tf

from models import trainer


def one_bright_column(column, width=6):
    image = np.full([4, width, 3], -1.0, np.float32)
    image[:, column] = 1.0
    mask = np.zeros([4, width], np.int64)
    mask[:, column] = 2
    return tf.constant(image), tf.constant(mask)


def test_augmentation_moves_image_and_mask_together():
    image, mask = one_bright_column(1)
    columns = set()
    for seed in range(20):
        tf.random.set_seed(seed)
        augmented_image, augmented_mask = trainer.augment_example(image, mask)
        bright = int(np.argmax(augmented_image.numpy()[0, :, 0]))
        labelled = int(np.argmax(augmented_mask.numpy()[0]))
        assert bright == labelled
        assert float(augmented_image.numpy().min()) >= -1.0
        assert float(augmented_image.numpy().max()) <= 1.0
        columns.add(bright)
    assert columns == {1, 4}  # both unflipped and flipped cases happened


def test_training_batches_repeat_without_augmentation():
    examples = tf.data.Dataset.from_tensors(one_bright_column(2)).repeat(5)
    batches = trainer._batches(examples, batch_size=2, training=True, augment=False)
    # 5 examples, batch 2: more batches than one pass holds, all full.
    shapes = [tuple(images.shape) for images, _ in batches.take(6)]
    assert shapes == [(2, 4, 6, 3)] * 6


def test_eval_batches_are_one_pass_in_order():
    examples = tf.data.Dataset.from_tensors(one_bright_column(2)).repeat(5)
    batches = trainer._batches(examples, batch_size=2, training=False, augment=False)
    assert [int(images.shape[0]) for images, _ in batches] == [2, 2, 1]
