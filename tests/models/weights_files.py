"""Encoder weights files written by tests: nothing is downloaded."""

import numpy as np
import tf_keras as keras


def write_encoder_weights(path, alpha=0.35, image_size=128):
    """A MobileNetV2 no-top weights file with seeded random values, like Keras's files."""
    encoder = keras.applications.MobileNetV2(
        input_shape=[image_size, image_size, 3], include_top=False, weights=None, alpha=alpha
    )
    rng = np.random.default_rng(7)
    for variable in encoder.weights:
        values = rng.normal(0.0, 0.1, variable.shape)
        if variable.name.split("/")[-1].startswith(("gamma", "moving_variance")):
            values = 1.0 + np.abs(values)  # scales and variances are positive
        variable.assign(values.astype(variable.dtype.as_numpy_dtype))
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder.save_weights(str(path))
    return {layer.name: layer.get_weights() for layer in encoder.layers}
