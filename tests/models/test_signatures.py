"""The exported signatures (models/signatures.py)."""

import numpy as np
import tensorflow as tf
import tf_keras

from models import signatures


def lopsided_model():
    """A small model whose output is not mirror-symmetric (random, seeded weights)."""
    tf_keras.utils.set_random_seed(3)
    inputs = tf_keras.Input([8, 8, 3])
    x = tf_keras.layers.Conv2D(3, 3, padding="same")(inputs)
    return tf_keras.Model(inputs, tf_keras.layers.Softmax()(x))


def test_flip_averaging_is_the_mean_with_the_mirror_and_mirrors_with_the_image():
    model = lopsided_model()
    images = np.random.default_rng(0).uniform(-1, 1, [2, 8, 8, 3]).astype(np.float32)
    mirror = lambda x: np.asarray(x)[:, :, ::-1]
    averaged = signatures.flip_averaged(model)(images).numpy()
    expected = (model(images).numpy() + mirror(model(mirror(images)))) / 2
    np.testing.assert_allclose(averaged, expected, rtol=1e-5, atol=1e-6)
    # A mirrored photo gets the mirrored prediction, which the plain model does not give.
    np.testing.assert_allclose(
        signatures.flip_averaged(model)(mirror(images)).numpy(), mirror(averaged), atol=1e-6
    )
    assert not np.allclose(model(mirror(images)).numpy(), mirror(model(images)), atol=1e-3)


def test_the_served_signature_uses_the_flip_averaged_model():
    model = lopsided_model()
    photo = np.random.default_rng(1).integers(0, 256, [8, 8, 3], dtype=np.uint8)
    encode = lambda rgb: tf.io.encode_png(tf.constant(np.ascontiguousarray(rgb))).numpy()
    serve = signatures.image_bytes_signature(signatures.flip_averaged(model), image_size=8)
    outputs = serve(tf.constant([encode(photo), encode(photo[:, ::-1])]))
    probabilities = outputs["probabilities"].numpy()
    np.testing.assert_allclose(probabilities[1], probabilities[0][:, ::-1], atol=1e-6)
