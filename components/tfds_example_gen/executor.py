"""TFDSExampleGen's executor: prepare a TFDS dataset, write TFX splits of tf.Examples."""

import os
import time

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

import sources.synthetic_pets  # noqa: F401  Registers the embedded default with TFDS.
from models import features

SPLITS = ("train", "eval")
PROGRESS_EVERY = 500


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        data_dir = exec_properties.get("data_dir") or None
        builder = tfds.builder(exec_properties["dataset"], data_dir=data_dir)
        logging.info("Preparing TFDS dataset %s in %s.", builder.info.full_name, builder.data_dir)
        builder.download_and_prepare()

        renames = {
            exec_properties.get("image_key") or features.IMAGE_KEY: features.IMAGE_KEY,
            exec_properties.get("mask_key") or features.MASK_KEY: features.MASK_KEY,
        }
        _check_features(builder, renames)
        split_expressions = {
            "train": exec_properties["train_split"],
            "eval": exec_properties["eval_split"],
        }
        for split, expression in split_expressions.items():
            count = write_split(
                builder,
                expression,
                renames,
                os.path.join(examples.uri, f"Split-{split}"),
            )
            examples.set_int_custom_property(f"num_examples_{split}", count)

        examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
        examples.set_string_custom_property(
            "payload_format", example_gen_pb2.PayloadFormat.Name(example_gen_pb2.FORMAT_TF_EXAMPLE)
        )
        examples.set_string_custom_property("file_format", "tfrecords_gzip")
        examples.set_string_custom_property("tfds_dataset", builder.info.full_name)


def write_split(builder, split_expression, renames, split_dir) -> int:
    """Writes one split; the file appears under its final name only once complete."""
    tf.io.gfile.makedirs(split_dir)
    final_path = os.path.join(split_dir, "data_tfrecord-00000-of-00001.gz")
    partial_path = final_path + ".partial"
    # Keep images and masks as the encoded bytes TFDS stores: Transform decodes them.
    decoders = {name: tfds.decode.SkipDecoding() for name in renames}
    dataset = builder.as_dataset(split=split_expression, decoders=decoders, shuffle_files=False)
    started = time.time()
    count = 0
    with tf.io.TFRecordWriter(partial_path, options="GZIP") as writer:
        for record in tfds.as_numpy(dataset):
            writer.write(to_tf_example(record, renames).SerializeToString())
            count += 1
            if count % PROGRESS_EVERY == 0:
                logging.info(
                    "%s: %d examples written (%.0f s).",
                    split_expression,
                    count,
                    time.time() - started,
                )
    if count == 0:
        tf.io.gfile.remove(partial_path)
        raise ValueError(f"TFDS split {split_expression!r} of {builder.info.full_name} is empty.")
    tf.io.gfile.rename(partial_path, final_path, overwrite=True)
    logging.info(
        "%s: %d examples in %s (%.0f s).", split_expression, count, split_dir, time.time() - started
    )
    return count


def to_tf_example(record, renames) -> tf.train.Example:
    """One TFDS record (numpy values) -> tf.train.Example; scalars and flat lists only."""
    example = tf.train.Example()
    for name, value in record.items():
        feature = example.features.feature[renames.get(name, name)]
        values = np.asarray(value).reshape(-1)
        if values.dtype.kind in "SUO":
            feature.bytes_list.value.extend(
                v.encode() if isinstance(v, str) else bytes(v) for v in values
            )
        elif values.dtype.kind in "iub":
            feature.int64_list.value.extend(values.astype(np.int64).tolist())
        elif values.dtype.kind == "f":
            feature.float_list.value.extend(values.astype(np.float32).tolist())
        else:
            raise TypeError(f"Feature {name!r} has unsupported dtype {values.dtype}.")
    return example


def _check_features(builder, renames):
    available = set(builder.info.features.keys())
    for source_name, project_name in renames.items():
        if source_name not in available:
            raise ValueError(
                f"TFDS dataset {builder.info.full_name} has no feature {source_name!r} "
                f"(it has {sorted(available)}). Set the {project_name} key of the data "
                "source config to the dataset's own feature name."
            )
