"""Tests for the `synthetic_pets` TFDS builder (sources/synthetic_pets.py)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from sources import synthetic_pets

NUM_TRAIN, NUM_TEST, MIN_SIDE, MAX_SIDE = 6, 3, 64, 96


def _tiny_config():
    return synthetic_pets.make_config(NUM_TRAIN, NUM_TEST, MIN_SIDE, MAX_SIDE)


def _prepare(data_dir):
    builder = tfds.builder("synthetic_pets", config=_tiny_config(), data_dir=data_dir)
    builder.download_and_prepare()
    return builder


def _raw_examples(builder, split):
    """Examples by file name, with image and mask left as encoded bytes."""
    skip = {"image": tfds.decode.SkipDecoding(), "segmentation_mask": tfds.decode.SkipDecoding()}
    ds = builder.as_dataset(split=split, decoders=skip, shuffle_files=False)
    return {ex["file_name"].decode(): ex for ex in tfds.as_numpy(ds)}


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    return _prepare(tmp_path_factory.mktemp("tfds"))


def test_features_match_oxford_iiit_pet(tmp_path):
    ours = synthetic_pets.SyntheticPets(config=_tiny_config(), data_dir=tmp_path).info
    # Constructing the Oxford builder reads no data and downloads nothing.
    oxford = tfds.builder("oxford_iiit_pet", data_dir=tmp_path).info
    assert ours.features.to_json() == oxford.features.to_json()
    assert repr(ours.features) == repr(oxford.features)
    # to_json() only stores the number of classes, so compare the names too.
    for key in ("label", "species"):
        assert ours.features[key].names == oxford.features[key].names
    for key in ("image", "segmentation_mask"):
        assert ours.features[key].encoding_format == oxford.features[key].encoding_format
        assert ours.features[key].use_colormap == oxford.features[key].use_colormap
    assert ours.supervised_keys == oxford.supervised_keys


def test_config_names_follow_sizes(tmp_path):
    assert _tiny_config().name == f"n{NUM_TRAIN}_{NUM_TEST}_s{MIN_SIDE}_{MAX_SIDE}"
    assert synthetic_pets.make_config(7, 3).name != synthetic_pets.make_config(6, 3).name
    default = tfds.builder("synthetic_pets", data_dir=tmp_path).builder_config
    assert (default.name, default.num_train, default.num_test) == ("default", 1000, 250)
    assert (default.min_side, default.max_side) == (192, 320)


def test_split_sizes(builder):
    assert builder.info.splits["train"].num_examples == NUM_TRAIN
    assert builder.info.splits["test"].num_examples == NUM_TEST


@pytest.mark.parametrize("split", ["train", "test"])
def test_examples_look_like_oxford(builder, split):
    label_names = builder.info.features["label"].names
    species_names = builder.info.features["species"].names
    for ex in tfds.as_numpy(builder.as_dataset(split=split)):
        image, mask = ex["image"], ex["segmentation_mask"]
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert MIN_SIDE <= image.shape[0] <= MAX_SIDE
        assert MIN_SIDE <= image.shape[1] <= MAX_SIDE
        assert mask.dtype == np.uint8 and mask.shape == image.shape[:2] + (1,)
        # Trimap: pet, background and border all present, nothing else.
        assert set(np.unique(mask)) == {1, 2, 3}
        breed = label_names[ex["label"]]
        assert species_names[ex["species"]] == ("Cat" if breed[0].isupper() else "Dog")
        assert ex["file_name"].decode().startswith(breed + "_")
        assert ex["file_name"].decode().endswith(".jpg")
        ymin, xmin, ymax, xmax = ex["head_bbox"]
        assert 0 <= ymin <= ymax <= 1 and 0 <= xmin <= xmax <= 1


def test_file_names_unique(builder):
    names = [name for split in ("train", "test") for name in _raw_examples(builder, split)]
    assert len(names) == len(set(names)) == NUM_TRAIN + NUM_TEST


def test_masks_are_png_and_images_jpeg(builder):
    ex = next(iter(_raw_examples(builder, "test").values()))
    assert ex["image"][:3] == b"\xff\xd8\xff"  # JPEG magic
    assert ex["segmentation_mask"][:8] == b"\x89PNG\r\n\x1a\n"
    assert tf.io.decode_png(ex["segmentation_mask"]).shape[-1] == 1


def test_deterministic(builder, tmp_path):
    again = _prepare(tmp_path)
    for split in ("train", "test"):
        first, second = _raw_examples(builder, split), _raw_examples(again, split)
        assert first.keys() == second.keys()
        for name in first:
            assert first[name]["image"] == second[name]["image"]
            assert first[name]["segmentation_mask"] == second[name]["segmentation_mask"]
            assert first[name]["label"] == second[name]["label"]


def test_example_does_not_depend_on_generation_order():
    later = synthetic_pets.generate_example("train", 5, MIN_SIDE, MAX_SIDE)
    for index in range(5):
        synthetic_pets.generate_example("train", index, MIN_SIDE, MAX_SIDE)
    again = synthetic_pets.generate_example("train", 5, MIN_SIDE, MAX_SIDE)
    np.testing.assert_array_equal(later["image"], again["image"])
    np.testing.assert_array_equal(later["segmentation_mask"], again["segmentation_mask"])
