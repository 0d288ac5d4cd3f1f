"""A fake pushed model and tiny labelled images whose scores can be computed by hand.

The fake model has the real one's `segment_image` signature (scalar string `image` ->
`probabilities` [H, W, C] float and `class_ids` [H, W] int32) and a rule instead of a
network: pet (class 0) where the red channel is above 128, background (class 1) elsewhere;
border (class 2) is never predicted.
"""

import io
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models import features, mask_convention

TRIMAP_METADATA = {
    "image_size": 128,
    "mask_convention": mask_convention.trimap_convention("trimap").to_json_dict(),
}

PET_RGB = (255, 0, 0)  # red > 128: predicted pet
BACKGROUND_RGB = (0, 0, 255)  # predicted background

# Two images of different sizes, as predicted-pet (1) / predicted-background (0) maps, and
# their true trimaps (1 = pet, 2 = background, 3 = border).
IMAGES = {
    "a": np.array([[1, 1], [0, 0]]),  # 2x2
    "b": np.array([[1, 1, 1, 1], [0, 0, 0, 0]]),  # 2 high, 4 wide
}
TRIMAPS = {
    "a": np.array([[1, 2], [2, 2]], np.uint8),
    "b": np.array([[1, 1, 3, 2], [3, 2, 2, 2]], np.uint8),
}


def save_fake_model(version_dir, num_classes=3, metadata=TRIMAP_METADATA):
    class FakeSegmenter(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="image")])
        def segment_image(self, image):
            rgb = tf.io.decode_image(image, channels=3, expand_animations=False)
            class_ids = tf.where(rgb[..., 0] > 128, 0, 1)
            return {
                features.PROBABILITIES_OUTPUT: tf.one_hot(class_ids, num_classes),
                features.CLASS_IDS_OUTPUT: class_ids,
            }

    module = FakeSegmenter()
    tf.saved_model.save(
        module, str(version_dir), signatures={"segment_image": module.segment_image}
    )
    if metadata is not None:
        path = os.path.join(version_dir, features.MODEL_METADATA_FILE)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as metadata_file:
            json.dump(metadata, metadata_file)
    return str(version_dir)


@pytest.fixture(scope="session")
def models_root(tmp_path_factory):
    """pet-segmentation/{7,12} (with metadata), and no-metadata/1 (a SavedModel alone)."""
    root = tmp_path_factory.mktemp("serving_model")
    seven = save_fake_model(root / "pet-segmentation" / "7")
    # 12 is the newest: numerically, although "7" > "12" as text.
    shutil.copytree(seven, root / "pet-segmentation" / "12")
    save_fake_model(root / "no-metadata" / "1", metadata=None)
    return root


def rgb_of(pet_map):
    """A predicted-pet map -> an RGB image the fake model segments back into that map."""
    return np.where(np.asarray(pet_map)[..., None] == 1, PET_RGB, BACKGROUND_RGB).astype(np.uint8)


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write(path, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)
    return str(path)


@pytest.fixture
def folder_data(tmp_path):
    """images/ + masks/: a, b; c whose image is corrupt; d, an image without a mask."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    for name in IMAGES:
        write(images / f"{name}.png", png_bytes(rgb_of(IMAGES[name])))
        write(masks / f"{name}.png", png_bytes(TRIMAPS[name]))
    write(images / "c.png", b"not an image")
    write(masks / "c.png", png_bytes(TRIMAPS["a"]))
    write(images / "d.png", png_bytes(rgb_of(IMAGES["a"])))
    return str(images), str(masks)


@pytest.fixture
def oxford_data(tmp_path):
    """The Oxford layout: images/NAME.jpg (PNG inside, to stay lossless), trimaps; c corrupt."""
    root = tmp_path / "oxford"
    for name in IMAGES:
        write(root / "images" / f"{name}.jpg", png_bytes(rgb_of(IMAGES[name])))
        write(root / "annotations" / "trimaps" / f"{name}.png", png_bytes(TRIMAPS[name]))
    write(root / "images" / "c.jpg", b"\xff\xd8\xff truncated")
    write(root / "annotations" / "trimaps" / "c.png", png_bytes(TRIMAPS["a"]))
    return str(root)
