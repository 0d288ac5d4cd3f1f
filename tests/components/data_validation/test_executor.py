"""The curated schema against what the project's sources really write, through the
executors the pipeline runs: StatisticsGen, SchemaGen (for comparison), CuratedSchemaGen
and the ExampleValidator that stops a run on anomalies."""

import os

import pytest
import tensorflow as tf
from tensorflow_transform.tf_metadata import schema_utils
from tfx import types
from tfx.components.schema_gen import executor as schema_gen_executor
from tfx.components.statistics_gen import executor as statistics_gen_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components import examples_io
from components.data_validation import OXFORD_PETS_SCHEMA, CuratedSchemaGen, ExampleValidator
from components.data_validation import executor as validation_executor
from components.folder_example_gen import IngestionReport
from components.folder_example_gen import executor as folder_executor
from components.tfds_example_gen import executor as tfds_executor
from evaluation import data_validation
from models import features
from models.mask_convention import MaskFormat
from pipeline import configs
from sources import synthetic_pets

BEAM_ARGS = list(configs.PipelineConfig().beam_pipeline_args)
# What only the TFDS datasets have, and nothing reads: deprecated in the curated schema.
TFDS_ONLY = "head_bbox"


def artifact(kind, path):
    """An artifact whose URI is a new directory: path, or path-1, path-2, ... if taken."""
    uri, number = str(path), 0
    while os.path.exists(uri):
        number += 1
        uri = f"{path}-{number}"
    os.makedirs(uri)
    instance = kind()
    instance.uri = uri
    return instance


def tfds_examples(path):
    examples = artifact(standard_artifacts.Examples, path / "examples")
    tfds_executor.Executor().Do(
        {},
        {"examples": [examples]},
        {
            "dataset": "synthetic_pets/tiny",
            "data_dir": str(path / "tfds"),
            "train_split": "train[:8]",
            "eval_split": "test[:4]",
            "image_key": features.IMAGE_KEY,
            "mask_key": features.MASK_KEY,
        },
    )
    return examples


def oxford_folder_examples(path, first_species=None):
    """FolderExampleGen's examples of a generated Oxford-layout folder; first_species: the
    0-based species annotations/trainval.txt gives its first image instead of the real one."""
    root = str(path / "oxford")
    synthetic_pets.write_oxford_layout(root, num_trainval=8, min_side=64, max_side=80)
    if first_species is not None:
        list_path = os.path.join(root, "annotations", "trainval.txt")
        with open(list_path) as list_file:
            lines = list_file.readlines()
        name, class_id, _, breed_id = lines[0].split()
        lines[0] = f"{name} {class_id} {first_species + 1} {breed_id}\n"  # 1-based there
        with open(list_path, "w") as list_file:
            list_file.writelines(lines)
    examples = artifact(standard_artifacts.Examples, path / "examples")
    report = artifact(IngestionReport, path / "report")
    folder_executor.Executor().Do(
        {},
        {"examples": [examples], "report": [report]},
        {
            "layout": "oxford",
            "root": root,
            "image_dir": "",
            "mask_dir": "",
            "mask_format": MaskFormat.trimap().to_json(),
            "eval_fraction": 0.25,
            "seed": 0,
            "max_bad_fraction": 0.5,
        },
    )
    return examples


def statistics(examples, path):
    stats = artifact(standard_artifacts.ExampleStatistics, path / "statistics")
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=BEAM_ARGS)
    statistics_gen_executor.Executor(context).Do(
        {"examples": [examples]}, {"statistics": [stats]}, {"exclude_splits": "[]"}
    )
    return stats


def curated_schema(path):
    """CuratedSchemaGen's executor, with the exec properties the pipeline gives it."""
    schema = artifact(standard_artifacts.Schema, path / "curated_schema")
    component = CuratedSchemaGen()
    validation_executor.SchemaFileExecutor().Do(
        {}, {"schema": [schema]}, dict(component.exec_properties)
    )
    return schema


def inferred_schema(stats, path):
    """What SchemaGen made of the same statistics, as the pipeline had it before."""
    schema = artifact(standard_artifacts.Schema, path / "inferred_schema")
    schema_gen_executor.Executor().Do(
        {"statistics": [stats]},
        {"schema": [schema]},
        {"infer_feature_shape": 1, "exclude_splits": "[]"},
    )
    return schema


def validate(stats, schema, path):
    """Runs the ExampleValidator; returns the anomalies it wrote, and what it raised."""
    anomalies = artifact(standard_artifacts.ExampleAnomalies, path / "anomalies")
    component = ExampleValidator(
        statistics=types.Channel(type=standard_artifacts.ExampleStatistics),
        schema=types.Channel(type=standard_artifacts.Schema),
    )
    error = None
    try:
        validation_executor.ValidatorExecutor().Do(
            {"statistics": [stats], "schema": [schema]},
            {"anomalies": [anomalies]},
            dict(component.exec_properties),
        )
    except validation_executor.DataValidationError as raised:
        error = raised
    return data_validation.read_anomalies(anomalies.uri), error, anomalies


def feature_spec(schema):
    proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
    return schema_utils.schema_as_feature_spec(proto).feature_spec


@pytest.fixture(scope="module", params=["tfds", "oxford_folder"])
def clean_source(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param)
    make = tfds_examples if request.param == "tfds" else oxford_folder_examples
    stats = statistics(make(path), path)
    return request.param, stats, path


def test_the_curated_schema_gives_transform_the_feature_spec_schemagen_inferred(clean_source):
    name, stats, path = clean_source
    curated = feature_spec(curated_schema(path))
    inferred = feature_spec(inferred_schema(stats, path))

    raw = [features.IMAGE_KEY, features.MASK_KEY, features.LABEL_KEY, features.SPECIES_KEY]
    assert set(curated) == {*raw, features.FILE_NAME_KEY}
    assert all(isinstance(spec, tf.io.FixedLenFeature) for spec in curated.values())
    assert (TFDS_ONLY in inferred) == (name == "tfds")
    inferred.pop(TFDS_ONLY, None)
    assert curated == inferred


def test_clean_examples_match_it(clean_source):
    _, stats, path = clean_source
    anomalies, error, artifact_ = validate(stats, curated_schema(path), path)

    assert error is None
    assert anomalies == []
    # TFX's own record of it, on the artifact.
    assert artifact_.get_json_value_custom_property("blessed") == {"train": 1, "eval": 1}


def test_a_species_of_7_from_the_oxford_lists_stops_the_run(tmp_path):
    examples = oxford_folder_examples(tmp_path, first_species=7)
    anomalies, error, _ = validate(
        statistics(examples, tmp_path), curated_schema(tmp_path), tmp_path
    )

    ((split, feature, types),) = {(a.split, a.feature, a.types) for a in anomalies}
    assert (feature, types) == (features.SPECIES_KEY, ("INT_TYPE_BIG_INT",))
    assert split in ("train", "eval")
    assert anomalies[0].description == "Unexpectedly large value: 7."
    assert f"{split} split, species: Unexpectedly large value: 7. (INT_TYPE_BIG_INT)" in str(error)
    assert OXFORD_PETS_SCHEMA in str(error) and "--image-dir" in str(error)


def test_a_missing_mask_stops_the_run_and_each_anomaly_is_named(tmp_path):
    clean = oxford_folder_examples(tmp_path / "clean")
    good = list(examples_io.read_split(clean, "train"))
    no_mask = tf.train.Example()
    no_mask.CopyFrom(good[0])
    del no_mask.features.feature[features.MASK_KEY]
    two_labels = tf.train.Example()
    two_labels.CopyFrom(good[1])
    two_labels.features.feature[features.LABEL_KEY].int64_list.value.append(3)
    drifted = artifact(standard_artifacts.Examples, tmp_path / "drifted")
    counts = {
        "train": examples_io.write_split(drifted.uri, "train", good, "clean"),
        "eval": examples_io.write_split(drifted.uri, "eval", good + [no_mask, two_labels], "x"),
    }
    drifted.split_names = artifact_utils.encode_split_names(list(counts))

    anomalies, error, _ = validate(
        statistics(drifted, tmp_path), curated_schema(tmp_path), tmp_path
    )

    assert {(a.split, a.feature) for a in anomalies} == {
        ("eval", features.LABEL_KEY),
        ("eval", features.MASK_KEY),
    }
    by_feature = {a.feature: a for a in anomalies}
    assert "FEATURE_TYPE_LOW_FRACTION_PRESENT" in by_feature[features.MASK_KEY].types
    assert "fewer examples than expected" in by_feature[features.MASK_KEY].description
    assert "INVALID_FEATURE_SHAPE" in by_feature[features.LABEL_KEY].types
    message = str(error)
    assert message.startswith("The examples do not match their schema (2 anomalies)")
    assert "eval split, segmentation_mask: " in message and "eval split, label: " in message
    assert data_validation.by_split(anomalies) == {
        "eval": [
            f"label: {by_feature[features.LABEL_KEY].short_description}",
            f"segmentation_mask: {by_feature[features.MASK_KEY].short_description}",
        ]
    }


def test_the_schema_file_is_found_where_the_task_runs(tmp_path):
    schema = curated_schema(tmp_path)

    copied = io_utils.SchemaReader().read(os.path.join(schema.uri, "schema.pbtxt"))
    shipped = io_utils.SchemaReader().read(
        os.path.join(validation_executor.PROJECT_ROOT, OXFORD_PETS_SCHEMA)
    )
    assert copied == shipped
    assert schema.get_string_custom_property("schema_file") == OXFORD_PETS_SCHEMA
