import dataclasses
import logging

import numpy as np
import pytest
import tf_keras as keras

from models import unet
from tests.models.weights_files import write_encoder_weights

# Every backbone, and MobileNetV2 at the widths the project uses.
BACKBONES = [
    ("mobilenet_v2", 0.35),
    ("mobilenet_v2", 0.5),
    ("mobilenet_v2", 1.0),
    ("efficientnet_b0", 1.0),
]


def small_unet(backbone="mobilenet_v2", alpha=0.35, image_size=64, num_classes=3, **kwargs):
    kwargs.setdefault("decoder_filters", (8, 8, 8, 8))
    kwargs.setdefault("encoder_weights", "none")
    kwargs.setdefault("batchnorm_momentum", 0.9)
    return unet.build_unet(
        image_size=image_size, num_classes=num_classes, alpha=alpha, backbone=backbone, **kwargs
    )


def test_every_backbone_is_tested():
    assert {name for name, _ in BACKBONES} == set(unet.BACKBONES)


@pytest.mark.parametrize("backbone, alpha", BACKBONES)
def test_output_shape_and_softmax(backbone, alpha):
    model = small_unet(backbone, alpha, num_classes=3)
    assert model.output_shape == (None, 64, 64, 3)
    images = np.random.default_rng(0).uniform(-1, 1, [2, 64, 64, 3]).astype(np.float32)
    probabilities = model(images, training=False).numpy()
    assert probabilities.shape == (2, 64, 64, 3)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("backbone, alpha", BACKBONES)
def test_decoder_concatenates_every_encoder_skip(backbone, alpha):
    model = small_unet(backbone, alpha, image_size=128, num_classes=2)
    spec = unet.BACKBONES[backbone]
    encoder = model.get_layer(f"{backbone}_encoder")
    skip_shapes = [encoder.get_layer(name).output_shape[1:3] for name in spec.skip_layer_names]
    assert skip_shapes == [(64, 64), (32, 32), (16, 16), (8, 8)]
    assert encoder.get_layer(spec.bottleneck_layer_name).output_shape[1:3] == (4, 4)

    concatenations = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)
    ]
    assert len(concatenations) == len(spec.skip_layer_names)
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


def test_mobilenet_v2_takes_model_inputs_as_they_are():
    model = small_unet("mobilenet_v2")
    encoder_input = model.get_layer("mobilenet_v2_encoder").get_input_at(0)
    assert encoder_input._keras_history.layer is model.get_layer(index=0)  # the InputLayer


def test_efficientnet_input_adapter_maps_model_inputs_to_0_255():
    model = small_unet("efficientnet_b0", alpha=1.0)
    adapter = model.get_layer("input_adapter")
    encoder_input = model.get_layer("efficientnet_b0_encoder").get_input_at(0)
    assert encoder_input._keras_history.layer is adapter
    images = np.repeat(np.array([-1.0, -0.5, 0.0, 1.0], np.float32)[None, None, :, None], 3, -1)
    adapted = adapter(images).numpy()
    np.testing.assert_allclose(adapted[0, 0, :, 0], [0.0, 63.75, 127.5, 255.0], rtol=1e-6)
    # EfficientNet's own first layer, Rescaling(1/255), then sees [0, 1] as in ImageNet
    # training.
    encoder = model.get_layer("efficientnet_b0_encoder")
    rescaling = next(layer for layer in encoder.layers if isinstance(layer, keras.layers.Rescaling))
    np.testing.assert_allclose(
        rescaling(adapted).numpy()[0, 0, :, 0], [0.0, 0.25, 0.5, 1.0], rtol=1e-6
    )


def test_input_adapter_is_linear_onto_the_range():
    adapter = unet.input_adapter((-2.0, 6.0))
    values = np.array([[[[-1.0, 0.0, 1.0]]]], np.float32)
    np.testing.assert_allclose(adapter(values).numpy(), [[[[-2.0, 2.0, 6.0]]]])
    assert unet.input_adapter((-1.0, 1.0)) is None


@pytest.mark.parametrize("backbone, alpha", [("mobilenet_v2", 0.35), ("efficientnet_b0", 1.0)])
def test_batchnorm_momentum_is_applied_to_encoder_and_decoder(backbone, alpha):
    model = small_unet(backbone, alpha, batchnorm_momentum=0.8)
    momenta = {
        layer.momentum
        for layer in unet._all_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    }
    assert momenta == {0.8}


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(
        ValueError, match=r"Unknown backbone 'vgg16'; use one of \['efficientnet_b0', 'mobil"
    ):
        small_unet("vgg16")


def test_mobilenet_v2_alpha_without_imagenet_weights_is_rejected():
    with pytest.raises(ValueError, match=r"alpha=0.6 for mobilenet_v2; use one of \(0.35,"):
        small_unet("mobilenet_v2", alpha=0.6)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="encoder_weights file .* EfficientNetB0 no-top"):
        small_unet("efficientnet_b0", 1.0, encoder_weights=str(tmp_path / "missing.h5"))


def test_unavailable_imagenet_weights_fall_back_to_training_from_scratch(monkeypatch, caplog):
    # Stands in for Keras failing to download the weights (no internet, nothing cached).
    spec = unet.BACKBONES["efficientnet_b0"]

    def offline_constructor(weights, **kwargs):
        if weights == "imagenet":
            raise Exception("URL fetch failure")
        return spec.constructor(weights=weights, **kwargs)

    offline_constructor.__name__ = spec.constructor.__name__
    offline = dataclasses.replace(spec, constructor=offline_constructor)
    monkeypatch.setitem(unet.BACKBONES, "efficientnet_b0", offline)
    with caplog.at_level(logging.WARNING):
        model = small_unet("efficientnet_b0", alpha=1.0, encoder_weights="imagenet")
    assert model.output_shape == (None, 64, 64, 3)
    assert (
        "EfficientNetB0 ImageNet weights unavailable (URL fetch failure). Training the "
        "encoder from scratch with weights=None." in caplog.text
    )


def assert_encoder_has(model, expected):
    encoder = unet.encoder_of(model)
    compared = 0
    for layer in encoder.layers:
        if not layer.weights:
            continue  # input layers' names differ
        for loaded, written in zip(layer.get_weights(), expected[layer.name], strict=True):
            np.testing.assert_array_equal(loaded, written)
            compared += 1
    assert compared > 200  # every conv kernel and BatchNorm statistic up to the bottleneck


def test_encoder_weights_are_loaded_from_a_file(tmp_path):
    path = tmp_path / "weights.h5"
    expected = write_encoder_weights(path)
    model = small_unet(image_size=128, encoder_weights=str(path))
    assert_encoder_has(model, expected)
    assert model.pretrained_encoder == str(path)


def test_imagenet_weights_are_read_from_keras_home_without_a_download(tmp_path, monkeypatch):
    # Keras's own file name for alpha 0.35 at 128 px, in $KERAS_HOME/models/.
    path = (
        tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_128_no_top.h5"
    )
    expected = write_encoder_weights(path)
    spec = unet.BACKBONES["mobilenet_v2"]

    def offline_constructor(weights, **kwargs):
        assert weights != "imagenet", "Keras was asked to find or download the weights"
        return spec.constructor(weights=weights, **kwargs)

    offline_constructor.__name__ = spec.constructor.__name__
    monkeypatch.setitem(
        unet.BACKBONES, "mobilenet_v2", dataclasses.replace(spec, constructor=offline_constructor)
    )
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    model = small_unet(image_size=128, encoder_weights="imagenet")
    assert_encoder_has(model, expected)
    assert model.pretrained_encoder == "imagenet"


def test_keras_names_mobilenet_v2_weights_by_width_and_trained_size():
    name = unet.BACKBONES["mobilenet_v2"].imagenet_file
    assert name(0.5, 160) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_160_no_top.h5"
    assert name(1, 256) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def test_an_encoder_from_scratch_is_not_pretrained():
    assert small_unet(encoder_weights="none").pretrained_encoder is None
