"""Writing TFX `Examples` artifacts: shared by the project's ExampleGen components.

Splits are gzipped TFRecords of tf.train.Example in TFX's layout (`Split-train/`,
`Split-eval/`), so every standard component downstream reads them as a stock
ExampleGen's. A split's file appears under its final name only once it is complete.
"""

import os
import time

import tensorflow as tf
from absl import logging
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

PROGRESS_EVERY = 500
# Custom properties of the Examples artifact: a readable description of the data source,
# and 1 when it is generated (not real photos).
SOURCE_PROPERTY = "source"
SYNTHETIC_PROPERTY = "synthetic"
FILE_NAME = "data_tfrecord-00000-of-00001.gz"


def write_split(examples_uri: str, split: str, tf_examples, description: str) -> int:
    """Writes an iterable of tf.train.Example as one split; returns how many it wrote."""
    split_dir = os.path.join(examples_uri, f"Split-{split}")
    tf.io.gfile.makedirs(split_dir)
    final_path = os.path.join(split_dir, FILE_NAME)
    partial_path = final_path + ".partial"
    started = time.time()
    count = 0
    try:
        with tf.io.TFRecordWriter(partial_path, options="GZIP") as writer:
            for example in tf_examples:
                writer.write(example.SerializeToString())
                count += 1
                if count % PROGRESS_EVERY == 0:
                    logging.info(
                        "%s: %d examples written (%.0f s).",
                        description,
                        count,
                        time.time() - started,
                    )
    except BaseException:
        tf.io.gfile.remove(partial_path)  # Never leave a half-written split behind.
        raise
    if count == 0:
        tf.io.gfile.remove(partial_path)
        raise ValueError(f"{description} has no examples to write.")
    tf.io.gfile.rename(partial_path, final_path, overwrite=True)
    logging.info(
        "%s: %d examples in %s (%.0f s).", description, count, split_dir, time.time() - started
    )
    return count


def finish_artifact(examples, counts: dict[str, int], source: str, synthetic: bool = False):
    """Records the splits, their sizes and where they came from on the Examples artifact
    (visible in MLMD; the model card and the end-of-run summary read them from there).
    synthetic: generated scenes, not photos (sources/synthetic_pets.py)."""
    examples.split_names = artifact_utils.encode_split_names(list(counts))
    examples.set_string_custom_property(SOURCE_PROPERTY, source)
    examples.set_int_custom_property(SYNTHETIC_PROPERTY, int(synthetic))
    for split, count in counts.items():
        examples.set_int_custom_property(f"num_examples_{split}", count)
    examples.set_string_custom_property(
        "payload_format", example_gen_pb2.PayloadFormat.Name(example_gen_pb2.FORMAT_TF_EXAMPLE)
    )
    examples.set_string_custom_property("file_format", "tfrecords_gzip")


def bytes_feature(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def int_feature(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def read_split(examples, split: str, limit: int | None = None):
    """Yields up to `limit` tf.train.Example of a split of an Examples artifact, in order."""
    split_dir = artifact_utils.get_split_uri([examples], split)
    files = sorted(tf.io.gfile.glob(os.path.join(split_dir, "*.gz")))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if limit is not None:
        records = records.take(limit)
    for record in records:
        yield tf.train.Example.FromString(record.numpy())
