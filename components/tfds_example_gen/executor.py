"""TFDSExampleGen's executor: prepare a TFDS dataset, write TFX splits of tf.Examples."""

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

import sources.synthetic_pets  # Registers the embedded default with TFDS.
from components import component_specs as specs
from components import examples_io
from models import features


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(output_dict[specs.EXAMPLES_KEY])
        data_dir = exec_properties.get(specs.DATA_DIR_KEY) or None
        builder = tfds.builder(exec_properties[specs.DATASET_KEY], data_dir=data_dir)
        logging.info("Preparing TFDS dataset %s in %s.", builder.info.full_name, builder.data_dir)
        builder.download_and_prepare()

        renames = {
            exec_properties.get(specs.IMAGE_FEATURE_KEY) or features.IMAGE_KEY: features.IMAGE_KEY,
            exec_properties.get(specs.MASK_FEATURE_KEY) or features.MASK_KEY: features.MASK_KEY,
        }
        _check_features(builder, renames)
        split_expressions = {
            "train": exec_properties[specs.TRAIN_SPLIT_KEY],
            "eval": exec_properties[specs.EVAL_SPLIT_KEY],
        }
        counts = {}
        for split, expression in split_expressions.items():
            counts[split] = examples_io.write_split(
                examples.uri,
                split,
                tf_examples(builder, expression, renames),
                f"TFDS {builder.info.full_name} {expression}",
            )
        examples_io.finish_artifact(
            examples,
            counts,
            source=f"TFDS {builder.info.full_name}",
            synthetic=builder.name == sources.synthetic_pets.SyntheticPets.name,
        )
        examples.set_string_custom_property("tfds_dataset", builder.info.full_name)


def tf_examples(builder, split_expression, renames):
    """The split's records as tf.train.Example, images and masks as TFDS stores them."""
    # Keep images and masks as the encoded bytes TFDS stores: Transform decodes them.
    decoders = {name: tfds.decode.SkipDecoding() for name in renames}
    dataset = builder.as_dataset(split=split_expression, decoders=decoders, shuffle_files=False)
    for record in tfds.as_numpy(dataset):
        yield to_tf_example(record, renames)


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
