"""Where the model is built: a U-Net on an ImageNet encoder (the backbone), chosen by name.

The encoder is one of tf.keras.applications (ImageNet-pretrained when the weights can be
had); the decoder upsamples step by step back to the input resolution and, at each step,
concatenates the encoder feature map of the same resolution (the skip connections that let
a U-Net draw sharp outlines). Every backbone goes through the same decoder.
"""

import dataclasses
import os
from collections.abc import Callable

import tf_keras as keras
from absl import logging

from models import features


@dataclasses.dataclass(frozen=True)
class Backbone:
    """How the U-Net uses one tf.keras.applications encoder."""

    constructor: Callable[..., keras.Model]
    # Activations used as skips at strides 2, 4, 8 and 16 (for a 128 px input: 64, 32, 16
    # and 8 px), fine to coarse; the stride-32 bottleneck (4 px) starts the decoder.
    skip_layer_names: tuple[str, str, str, str]
    bottleneck_layer_name: str
    # The input range the pretrained weights expect, counting the preprocessing layers the
    # constructor builds in. Model inputs are in [-1, 1] (models/preprocessing.py); any
    # other range gets a rescaling layer in front of the encoder.
    input_range: tuple[float, float] = (-1.0, 1.0)
    has_alpha: bool = False  # takes MobileNetV2's width multiplier `alpha`
    # The name Keras gives the no-top ImageNet weights file, from (alpha, image_size), for
    # backbones whose model is the same whether built with weights="imagenet" or with a
    # path to that file: they are then also read from $KERAS_HOME/models/.
    imagenet_file: Callable[[float, int], str] | None = None


BACKBONES = {
    "mobilenet_v2": Backbone(
        keras.applications.MobileNetV2,
        skip_layer_names=(
            "block_1_expand_relu",
            "block_3_expand_relu",
            "block_6_expand_relu",
            "block_13_expand_relu",
        ),
        bottleneck_layer_name="block_16_project",
        has_alpha=True,
        imagenet_file=lambda alpha, image_size: (
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"
            # Keras has weights trained at these sizes, and takes the 224 px ones otherwise.
            f"{float(alpha)}_{image_size if image_size in (96, 128, 160, 192, 224) else 224}"
            "_no_top.h5"
        ),
    ),
    # Starts with its own Rescaling(1/255) and ImageNet Normalization layers. Keras adds
    # the input scaling its ImageNet weights need only for weights="imagenet": to use them
    # offline, put the file in ~/.keras/models/ (tf_keras ignores KERAS_HOME) rather than
    # passing its path.
    "efficientnet_b0": Backbone(
        keras.applications.EfficientNetB0,
        skip_layer_names=(
            "block2a_expand_activation",
            "block3a_expand_activation",
            "block4a_expand_activation",
            "block6a_expand_activation",
        ),
        bottleneck_layer_name="block7a_project_bn",
        input_range=(0.0, 255.0),
    ),
}

# Input sides must be multiples of this: the encoder halves them five times, and each
# decoder stage concatenates its upsampled input with a skip of exactly twice the size.
IMAGE_SIZE_MULTIPLE = 32

# The MobileNetV2 widths Keras has ImageNet weights for.
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


def get_backbone(name):
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; use one of {sorted(BACKBONES)}.")
    return BACKBONES[name]


def check_alpha(backbone: str, alpha: float):
    """MobileNetV2 has ImageNet weights at a few widths only; other backbones ignore it."""
    if get_backbone(backbone).has_alpha and alpha not in MOBILENET_V2_ALPHAS:
        raise ValueError(f"alpha={alpha} for {backbone}; use one of {MOBILENET_V2_ALPHAS}.")


def build_unet(
    *,
    image_size,
    num_classes,
    backbone,
    alpha,
    encoder_weights,
    decoder_filters,
    batchnorm_momentum,
):
    """Returns a Keras model: float [N, size, size, 3] in [-1, 1] -> softmax [N, size, size, C].

    Every argument is required: the defaults are pipeline/configs.py TrainingConfig's, and
    the Trainer passes them from its config, so no other model can be built by accident.

    backbone: a key of BACKBONES. alpha: MobileNetV2's width, one of MOBILENET_V2_ALPHAS;
    other backbones have no width multiplier and ignore it.
    encoder_weights: "imagenet" (Keras's cache, or a download), a path to the backbone's
    no-top weights file, or "none" (or None) to train from scratch.
    batchnorm_momentum: Keras's encoders use 0.99 or 0.999, whose moving statistics need
    thousands of steps to settle; with a short training run the model then works in
    training mode and predicts garbage in inference mode. 0.9 settles within ~50 steps.
    """
    check_alpha(backbone, alpha)
    spec = get_backbone(backbone)
    encoder, pretrained = _build_encoder(spec, image_size, alpha, encoder_weights)
    layer_names = [spec.bottleneck_layer_name, *spec.skip_layer_names]
    feature_extractor = keras.Model(
        encoder.input,
        [encoder.get_layer(name).output for name in layer_names],
        name=encoder_name(backbone),
    )

    inputs = keras.Input([image_size, image_size, 3], name=features.TRANSFORMED_IMAGE_KEY)
    adapter = input_adapter(spec.input_range)
    x, *skips = feature_extractor(adapter(inputs) if adapter else inputs)
    probabilities = build_decoder(x, skips, num_classes, decoder_filters)
    model = keras.Model(inputs, probabilities, name=f"unet_{backbone}")

    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = batchnorm_momentum
    # Where the encoder's weights came from ("imagenet", a file), None from scratch.
    model.pretrained_encoder = pretrained
    return model


def encoder_name(backbone: str) -> str:
    return f"{backbone}_encoder"


def encoder_of(model):
    """The encoder (a nested Model) of a build_unet model."""
    return model.get_layer(encoder_name(model.name.removeprefix("unet_")))


def input_adapter(input_range):
    """A layer mapping [-1, 1] linearly onto `input_range`, or None when they are the same."""
    low, high = input_range
    if (low, high) == (-1.0, 1.0):
        return None
    return keras.layers.Rescaling((high - low) / 2, offset=(high + low) / 2, name="input_adapter")


def build_decoder(x, skips, num_classes, decoder_filters):
    """Bottleneck (stride 32) and skips (strides 2 to 16, fine to coarse) -> softmax."""
    for filters, skip in zip(decoder_filters, reversed(skips), strict=True):
        x = _upsample_block(x, filters)
        x = keras.layers.Concatenate()([x, skip])
        x = _conv_block(x, filters)
    # The finest skip is at half resolution: one more upsampling reaches the input size.
    logits = keras.layers.Conv2DTranspose(num_classes, 3, strides=2, padding="same", name="logits")(
        x
    )
    return keras.layers.Softmax(name=features.PROBABILITIES_OUTPUT)(logits)


def _build_encoder(spec, image_size, alpha, encoder_weights):
    name = spec.constructor.__name__  # "MobileNetV2", "EfficientNetB0"
    width = {"alpha": alpha} if spec.has_alpha else {}

    def build(weights):
        return spec.constructor(
            input_shape=[image_size, image_size, 3], include_top=False, weights=weights, **width
        )

    if encoder_weights is None or encoder_weights == "none":
        logging.info("%s encoder: weights=None (training from scratch, as configured).", name)
        return build(None), None
    if encoder_weights != "imagenet":
        if not os.path.exists(encoder_weights):
            raise FileNotFoundError(
                f"encoder_weights file {encoder_weights!r} does not exist; give the path of "
                f"a {name} no-top .h5 file, 'imagenet', or 'none'."
            )
        logging.info("%s encoder: weights from %s.", name, encoder_weights)
        return build(encoder_weights), encoder_weights
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home and spec.imagenet_file:
        # tf_keras itself only looks in ~/.keras/models/ (Keras 3 reads KERAS_HOME).
        cached = os.path.join(keras_home, "models", spec.imagenet_file(alpha, image_size))
        if os.path.isfile(cached):
            logging.info("%s encoder: ImageNet weights from %s.", name, cached)
            return build(cached), "imagenet"
    try:
        encoder = build("imagenet")
        detail = f" (alpha={alpha})" if spec.has_alpha else ""
        logging.info("%s encoder: ImageNet weights%s.", name, detail)
        return encoder, "imagenet"
    except Exception as error:  # No network, no cached file: train from scratch.
        logging.warning(
            "%s ImageNet weights unavailable (%s). Training the encoder from "
            "scratch with weights=None. To use them offline, place the Keras weights file "
            "in ~/.keras/models/ (or $KERAS_HOME/models/) or set encoder_weights to its path.",
            name,
            error,
        )
        return build(None), None


def _upsample_block(x, filters):
    x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def _conv_block(x, filters):
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer
