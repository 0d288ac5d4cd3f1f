import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from components.tfds_example_gen import executor
from models import features, mask_convention

TINY = "synthetic_pets/tiny"  # 32 train / 16 test images


def run_executor(tmp_path, **overrides):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    exec_properties = {
        "dataset": TINY,
        "data_dir": str(tmp_path / "tfds"),
        "train_split": "train",
        "eval_split": "test[:50%]",
        "image_key": "image",
        "mask_key": "segmentation_mask",
    }
    exec_properties.update(overrides)
    executor.Executor().Do({}, {"examples": [examples]}, exec_properties)
    return examples


def read_split(examples, split):
    split_dir = artifact_utils.get_split_uri([examples], split)
    files = tf.io.gfile.glob(os.path.join(split_dir, "*"))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return files, [tf.train.Example.FromString(r.numpy()) for r in records]


def test_writes_tfx_splits_of_tf_examples(tmp_path):
    examples = run_executor(tmp_path)

    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval"]
    assert examples.get_int_custom_property("num_examples_train") == 32
    assert examples.get_int_custom_property("num_examples_eval") == 8
    train_files, train = read_split(examples, "train")
    _, evaluation = read_split(examples, "eval")
    assert [os.path.basename(f) for f in train_files] == ["data_tfrecord-00000-of-00001.gz"]
    assert (len(train), len(evaluation)) == (32, 8)

    feature_map = train[0].features.feature
    assert set(feature_map) >= {
        features.IMAGE_KEY,
        features.MASK_KEY,
        features.LABEL_KEY,
        features.SPECIES_KEY,
        features.FILE_NAME_KEY,
    }
    image = tf.io.decode_jpeg(feature_map[features.IMAGE_KEY].bytes_list.value[0]).numpy()
    mask = tf.io.decode_png(feature_map[features.MASK_KEY].bytes_list.value[0]).numpy()
    assert image.shape[:2] == mask.shape[:2] and mask.shape[2] == 1
    assert set(np.unique(mask)) <= set(mask_convention.TRIMAP_VALUES)
    assert feature_map[features.FILE_NAME_KEY].bytes_list.value[0].endswith(b".jpg")
    file_names = {e.features.feature[features.FILE_NAME_KEY].bytes_list.value[0] for e in train}
    assert len(file_names) == 32


def test_source_feature_names_are_renamed_to_the_project_keys():
    record = {"photo": b"jpeg-bytes", "trimap": b"png-bytes", "label": np.int64(3)}
    renames = {"photo": features.IMAGE_KEY, "trimap": features.MASK_KEY}
    example = executor.to_tf_example(record, renames)
    feature_map = example.features.feature
    assert feature_map[features.IMAGE_KEY].bytes_list.value == [b"jpeg-bytes"]
    assert feature_map[features.MASK_KEY].bytes_list.value == [b"png-bytes"]
    assert feature_map["label"].int64_list.value == [3]


def test_unknown_feature_key_names_the_fix(tmp_path):
    with pytest.raises(ValueError, match="has no feature 'trimap'.*mask key"):
        run_executor(tmp_path, mask_key="trimap")


def test_unknown_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="no_such_dataset"):
        run_executor(tmp_path, dataset="no_such_dataset")
