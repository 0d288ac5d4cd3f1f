"""The exported signatures (models/signatures.py)."""

import base64
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from PIL import Image

from models import features, signatures


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


# A model exported by export_model, served as TF Serving serves it: the exact JSON body a
# client sends, mapped to the signature's inputs and the outputs back to JSON as TF
# Serving's REST API documents it (tensorflow_serving/g3doc/api_rest.md) and implements it
# (tensorflow_serving/util/json_tensor.cc).

IMAGE_SIZE = 16
NUM_CLASSES = 3


class FakeTransformOutput:
    """What export_model reads of a TFTransformOutput: the raw feature spec and a layer."""

    def raw_feature_spec(self):
        return {features.IMAGE_KEY: tf.io.FixedLenFeature([], tf.string)}

    def transform_features_layer(self):
        return tf_keras.layers.Lambda(lambda raw: {"length": tf.strings.length(raw["image"])})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(version dir, loaded SavedModel): a one-convolution model exported with
    test_time_flip, as the Pusher would push it."""
    tf_keras.utils.set_random_seed(5)
    inputs = tf_keras.Input([IMAGE_SIZE, IMAGE_SIZE, 3])
    logits = tf_keras.layers.Conv2D(NUM_CLASSES, 3, padding="same")(inputs)
    model = tf_keras.Model(inputs, tf_keras.layers.Softmax()(logits))
    version_dir = str(tmp_path_factory.mktemp("serving_model") / "1")
    signatures.export_model(
        model, FakeTransformOutput(), IMAGE_SIZE, version_dir, test_time_flip=True
    )
    return version_dir, tf.saved_model.load(version_dir)


def photo(height, width, seed):
    """An RGB image with smooth regions and edges, as uint8 [height, width, 3]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    disc = (y - rng.uniform(0.2, 0.8)) ** 2 + (x - rng.uniform(0.2, 0.8)) ** 2 < 0.08
    rgb = np.stack([255 * x, 255 * y, np.where(disc, 230, 40)], axis=-1)
    return rgb.astype(np.uint8)


def encoded(rgb, image_format):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=image_format)
    return buffer.getvalue()


def rest_body(signature_name, images):
    """The predict request a client sends: row format, each image base64 in {"b64": ...}."""
    instances = [{"b64": base64.b64encode(image).decode("ascii")} for image in images]
    return json.dumps({"signature_name": signature_name, "instances": instances})


def serve_rest(loaded, body):
    """The JSON response TF Serving's REST API gives for a row-format predict body.

    Request (json_tensor.cc FillTensorMapFromInstancesList): "signature_name" picks the
    signature (serving_default when absent); with one named input, each element of
    "instances" is one row of it, a {"b64": ...} object being a value (its bytes) and any
    other object naming the inputs; the rows are batched along a new first dimension.
    Response (MakeRowFormatJsonFromTensors): every output must have that batch size;
    "predictions" lists one entry per row: the bare value when the signature has one
    output, else an object of all outputs; a string output whose name ends in "_bytes" is
    written {"b64": ...}.
    """
    request = json.loads(body)
    signature = loaded.signatures[request.get("signature_name", "serving_default")]
    (input_name, spec), *others = signature.structured_input_signature[1].items()
    assert not others, "the image signatures have one input"

    def value(element):
        if isinstance(element, dict) and list(element) == ["b64"]:
            return base64.b64decode(element["b64"])
        if isinstance(element, dict):
            return value(element[input_name])
        return element

    rows = [value(element) for element in request["instances"]]
    outputs = signature(**{input_name: tf.constant(rows, spec.dtype)})

    arrays = {name: tensor.numpy() for name, tensor in outputs.items()}
    assert len({len(array) for array in arrays.values()}) == 1, "inconsistent batch size"

    def json_value(name, value):
        if isinstance(value, bytes):  # one DT_STRING value
            if name.endswith("_bytes"):
                return {"b64": base64.b64encode(value).decode("ascii")}
            return value.decode()
        return value.tolist()

    predictions = [
        {name: json_value(name, array[row]) for name, array in arrays.items()}
        for row in range(len(rows))
    ]
    if len(arrays) == 1:
        predictions = [next(iter(entry.values())) for entry in predictions]
    return {"predictions": predictions}


def serving_json(value):
    """JSON text as TF Serving writes it (compact, without its pretty-printing's line
    breaks): floats with 6 significant digits when they read back as the same float32,
    else 9 (json_tensor.cc WriteDecimal), ", " between the items of an array."""
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)}: {serving_json(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(serving_json(item) for item in value) + "]"
    if isinstance(value, float):
        text = f"{value:g}"
        if np.float32(text) != np.float32(value):
            text = f"{value:.9g}"
        return text if "." in text or "e" in text else text + ".0"
    return json.dumps(value)


def test_the_rest_mapping_reads_instances_as_tf_serving_does(exported):
    _, loaded = exported
    image = encoded(photo(20, 30, seed=0), "PNG")
    plain = serve_rest(loaded, rest_body("serving_mask_png", [image]))
    # The same image named by its input, and the default signature when none is named.
    named = {"signature_name": "serving_mask_png", "instances": [{"images": {"b64": ""}}]}
    named["instances"][0]["images"]["b64"] = base64.b64encode(image).decode("ascii")
    assert serve_rest(loaded, json.dumps(named)) == plain
    default = json.loads(rest_body("serving_default", [image]))
    del default["signature_name"]
    assert serve_rest(loaded, json.dumps(default)).keys() == {"predictions"}
    assert set(serve_rest(loaded, json.dumps(default))["predictions"][0]) == {
        "probabilities",
        "class_ids",
        "height",
        "width",
    }


def test_serving_mask_png_answers_a_png_per_image_at_its_own_size(exported):
    _, loaded = exported
    images = [encoded(photo(37, 53, seed=1), "JPEG"), encoded(photo(24, 18, seed=2), "PNG")]
    response = serve_rest(loaded, rest_body("serving_mask_png", images))

    # One output: each prediction is the bare {"b64": ...} value, one per image.
    assert list(response) == ["predictions"]
    assert [list(entry) for entry in response["predictions"]] == [["b64"], ["b64"]]
    for image, entry in zip(images, response["predictions"], strict=True):
        mask = Image.open(io.BytesIO(base64.b64decode(entry["b64"])))
        assert mask.format == "PNG" and mask.mode == "L"
        assert mask.size == Image.open(io.BytesIO(image)).size  # (width, height)
        class_ids = np.asarray(mask)
        assert class_ids.max() < NUM_CLASSES
        expected = loaded.signatures["segment_image"](image=tf.constant(image))["class_ids"]
        np.testing.assert_array_equal(class_ids, expected.numpy())
    assert len(np.unique(class_ids)) > 1  # a mask, not a blank


def test_serving_class_ids_answers_serving_defaults_ids_without_probabilities(exported):
    _, loaded = exported
    images = [encoded(photo(37, 53, seed=1), "JPEG"), encoded(photo(24, 18, seed=2), "PNG")]
    response = serve_rest(loaded, rest_body("serving_class_ids", images))
    full = serve_rest(loaded, rest_body("serving_default", images))

    assert list(response) == ["predictions"]
    for entry, full_entry, (height, width) in zip(
        response["predictions"], full["predictions"], [(37, 53), (24, 18)], strict=True
    ):
        assert sorted(entry) == ["class_ids", "height", "width"]
        assert (entry["height"], entry["width"]) == (height, width)
        assert np.shape(entry["class_ids"]) == (IMAGE_SIZE, IMAGE_SIZE)
        assert entry["class_ids"] == full_entry["class_ids"]
        assert np.shape(full_entry["probabilities"]) == (IMAGE_SIZE, IMAGE_SIZE, NUM_CLASSES)


def test_the_light_signatures_use_the_flip_averaged_model(exported):
    _, loaded = exported
    rgb = photo(20, 30, seed=3)
    images = tf.constant([encoded(rgb, "PNG"), encoded(np.ascontiguousarray(rgb[:, ::-1]), "PNG")])
    pngs = loaded.signatures["serving_mask_png"](images=images)[features.MASK_PNG_OUTPUT]
    masks = [np.asarray(Image.open(io.BytesIO(png))) for png in pngs.numpy()]
    np.testing.assert_array_equal(masks[1], masks[0][:, ::-1])
    class_ids = loaded.signatures["serving_class_ids"](images=images)["class_ids"].numpy()
    np.testing.assert_array_equal(class_ids[1], class_ids[0][:, ::-1])


@pytest.mark.parametrize("signature_name", ["serving_mask_png", "serving_class_ids"])
def test_the_light_signatures_refuse_what_serving_default_refuses(exported, signature_name):
    _, loaded = exported
    signature = loaded.signatures[signature_name]
    good = encoded(photo(8, 8, seed=4), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a JPEG, PNG, GIF or BMP"):
        signature(images=tf.constant([good, b"not an image"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"no images: {signature_name}"):
        signature(images=tf.constant([], tf.string))


def test_saved_model_cli_shows_the_light_signatures_as_tf_serving_reads_them(exported):
    version_dir, _ = exported
    saved_model_cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [saved_model_cli, "show", "--dir", version_dir, "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # {signature name: its SignatureDef as printed, on one line, tensor names left out}.
    sections = re.split(r"^signature_def\['(\w+)'\]:$", shown, flags=re.MULTILINE)
    defs = {
        name: " ".join(re.sub(r"name: \S+", "", text).split())
        for name, text in zip(sections[1::2], sections[2::2], strict=True)
    }
    images_input = (
        "The given SavedModel SignatureDef contains the following input(s): "
        "inputs['images'] tensor_info: dtype: DT_STRING shape: (-1) "
        "The given SavedModel SignatureDef contains the following output(s): "
    )
    predict = "Method name is: tensorflow/serving/predict"
    assert defs["serving_mask_png"] == (
        f"{images_input}outputs['mask_png_bytes'] tensor_info: dtype: DT_STRING shape: (-1) "
        f"{predict}"
    )
    assert defs["serving_class_ids"] == (
        f"{images_input}outputs['class_ids'] tensor_info: dtype: DT_UINT8 "
        f"shape: (-1, {IMAGE_SIZE}, {IMAGE_SIZE}) "
        "outputs['height'] tensor_info: dtype: DT_INT32 shape: (-1) "
        f"outputs['width'] tensor_info: dtype: DT_INT32 shape: (-1) {predict}"
    )
    assert {"serving_default", "segment_image"} < defs.keys()


def test_a_grpc_predict_request_as_docs_serving_md_builds_it(exported):
    """The gRPC request of docs/serving.md, through the signature as TF Serving's
    PredictionService runs it (inputs by key, tensors as TensorProtos both ways)."""
    from tensorflow_serving.apis import predict_pb2

    _, loaded = exported
    image = encoded(photo(21, 34, seed=5), "JPEG")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "segmentation"
    request.model_spec.signature_name = "serving_mask_png"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto([image]))

    signature = loaded.signatures[request.model_spec.signature_name]
    inputs = {key: tf.constant(tf.make_ndarray(proto)) for key, proto in request.inputs.items()}
    response = predict_pb2.PredictResponse()
    for key, tensor in signature(**inputs).items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(tensor.numpy()))

    png = response.outputs["mask_png_bytes"].string_val[0]  # raw PNG bytes, no base64
    assert Image.open(io.BytesIO(png)).size == (34, 21)
