import numpy as np
import tf_keras as keras

from models import unet


def test_output_shape_and_softmax():
    model = unet.build_unet(
        image_size=64,
        num_classes=3,
        alpha=0.35,
        encoder_weights="none",
        decoder_filters=(16, 16, 16, 16),
    )
    assert model.output_shape == (None, 64, 64, 3)
    probabilities = model(np.zeros([2, 64, 64, 3], np.float32), training=False).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_decoder_concatenates_every_encoder_skip():
    model = unet.build_unet(
        image_size=128,
        num_classes=2,
        alpha=0.35,
        encoder_weights="none",
        decoder_filters=(16, 16, 16, 16),
    )
    encoder = model.get_layer("mobilenet_v2_encoder")
    skip_shapes = [encoder.get_layer(name).output_shape[1:3] for name in unet.SKIP_LAYER_NAMES]
    assert skip_shapes == [(64, 64), (32, 32), (16, 16), (8, 8)]

    concatenations = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)
    ]
    assert len(concatenations) == len(unet.SKIP_LAYER_NAMES)
    # Each concatenation takes one of the encoder's skip outputs (outputs 1..4; output 0
    # is the bottleneck that starts the decoder), and every skip is used once.
    skip_indices = []
    for concatenation in concatenations:
        for tensor in concatenation.input:
            layer, _, tensor_index = tensor._keras_history
            if layer is encoder:
                skip_indices.append(tensor_index)
    assert sorted(skip_indices) == [1, 2, 3, 4]
    resolutions = sorted(c.output_shape[1] for c in concatenations)
    assert resolutions == [8, 16, 32, 64]


def test_batchnorm_momentum_is_applied_to_encoder_and_decoder():
    model = unet.build_unet(
        image_size=64,
        num_classes=3,
        alpha=0.35,
        encoder_weights="none",
        decoder_filters=(8, 8, 8, 8),
        batchnorm_momentum=0.8,
    )
    momenta = {
        layer.momentum
        for layer in unet._all_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    }
    assert momenta == {0.8}


def test_missing_weights_file_is_a_clear_error(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="encoder_weights file"):
        unet.build_unet(image_size=64, encoder_weights=str(tmp_path / "missing.h5"))
