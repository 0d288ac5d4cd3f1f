"""Where the model is built: a U-Net with a MobileNetV2 encoder.

The encoder is tf.keras.applications.MobileNetV2 (ImageNet-pretrained when the weights
can be had); the decoder upsamples step by step back to the input resolution and, at each
step, concatenates the encoder feature map of the same resolution (the skip connections
that let a U-Net draw sharp outlines).
"""

import os

import tf_keras as keras
from absl import logging

from models import features

# Encoder activations used as skips, from fine to coarse; for a 128x128 input they are
# 64x64, 32x32, 16x16 and 8x8. The deepest output (4x4) starts the decoder.
SKIP_LAYER_NAMES = (
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
)
BOTTLENECK_LAYER_NAME = "block_16_project"


def build_unet(
    image_size=features.DEFAULT_IMAGE_SIZE,
    num_classes=3,
    alpha=1.0,
    encoder_weights="imagenet",
    decoder_filters=(256, 128, 64, 32),
    batchnorm_momentum=0.9,
):
    """Returns a Keras model: float [N, size, size, 3] in [-1, 1] -> softmax [N, size, size, C].

    encoder_weights: "imagenet" (Keras's cache, or a download), a path to a MobileNetV2
    no-top weights file, or None to train from scratch.
    batchnorm_momentum: Keras's MobileNetV2 uses 0.999, whose moving statistics need
    thousands of steps to settle; with a short training run the model then works in
    training mode and predicts garbage in inference mode. 0.9 settles within ~50 steps.
    """
    inputs = keras.Input([image_size, image_size, 3], name=features.TRANSFORMED_IMAGE_KEY)
    encoder = _mobilenet_v2_encoder(image_size, alpha, encoder_weights)
    skips = [encoder.get_layer(name).output for name in SKIP_LAYER_NAMES]
    encoder_outputs = encoder.get_layer(BOTTLENECK_LAYER_NAME).output
    feature_extractor = keras.Model(
        encoder.input, [encoder_outputs] + skips, name="mobilenet_v2_encoder"
    )

    x, *skip_outputs = feature_extractor(inputs)
    for filters, skip in zip(decoder_filters, reversed(skip_outputs), strict=True):
        x = _upsample_block(x, filters)
        x = keras.layers.Concatenate()([x, skip])
        x = _conv_block(x, filters)
    # block_1 is at half resolution: one more upsampling reaches the input size.
    logits = keras.layers.Conv2DTranspose(num_classes, 3, strides=2, padding="same", name="logits")(
        x
    )
    probabilities = keras.layers.Softmax(name=features.PROBABILITIES_OUTPUT)(logits)
    model = keras.Model(inputs, probabilities, name="unet_mobilenet_v2")

    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = batchnorm_momentum
    return model


def _mobilenet_v2_encoder(image_size, alpha, encoder_weights):
    def build(weights):
        return keras.applications.MobileNetV2(
            input_shape=[image_size, image_size, 3],
            include_top=False,
            weights=weights,
            alpha=alpha,
        )

    if encoder_weights is None or encoder_weights == "none":
        logging.info("MobileNetV2 encoder: weights=None (training from scratch, as configured).")
        return build(None)
    if encoder_weights != "imagenet":
        if not os.path.exists(encoder_weights):
            raise FileNotFoundError(
                f"encoder_weights file {encoder_weights!r} does not exist; give the path of "
                "a MobileNetV2 no-top .h5 file, 'imagenet', or 'none'."
            )
        logging.info("MobileNetV2 encoder: weights from %s.", encoder_weights)
        return build(encoder_weights)
    try:
        encoder = build("imagenet")
        logging.info("MobileNetV2 encoder: ImageNet weights (alpha=%s).", alpha)
        return encoder
    except Exception as error:  # No network, no cached file: train from scratch.
        logging.warning(
            "MobileNetV2 ImageNet weights unavailable (%s). Training the encoder from "
            "scratch with weights=None. To use them offline, place the Keras weights file "
            "in ~/.keras/models/ or set encoder_weights to its path.",
            error,
        )
        return build(None)


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
