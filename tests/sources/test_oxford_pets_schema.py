"""The curated schema of Oxford-IIIT Pet examples agrees with the project's definitions, and
ships with the package (the Kubeflow image's tasks read it from there)."""

import fnmatch
import os
import tomllib

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.data_validation import OXFORD_PETS_SCHEMA
from components.data_validation.executor import PROJECT_ROOT, resolve_schema_file
from models import features
from pipeline import configs
from sources import oxford_layout

REQUIRED = {
    features.IMAGE_KEY: schema_pb2.BYTES,
    features.MASK_KEY: schema_pb2.BYTES,
    features.LABEL_KEY: schema_pb2.INT,
    features.SPECIES_KEY: schema_pb2.INT,
    features.FILE_NAME_KEY: schema_pb2.BYTES,
}


def shipped_schema():
    with open(os.path.join(configs.PROJECT_DIR, OXFORD_PETS_SCHEMA)) as file:
        return text_format.Parse(file.read(), schema_pb2.Schema())


def test_label_and_species_ranges_are_the_oxford_layout_ids():
    by_name = {feature.name: feature for feature in shipped_schema().feature}
    label = by_name[features.LABEL_KEY].int_domain
    species = by_name[features.SPECIES_KEY].int_domain
    assert (label.min, label.max) == (0, len(oxford_layout.BREEDS) - 1)
    assert (species.min, species.max) == (0, len(oxford_layout.SPECIES) - 1)


def test_every_feature_read_downstream_is_required_once():
    schema = shipped_schema()
    live = {f.name: f for f in schema.feature if f.lifecycle_stage != schema_pb2.DEPRECATED}
    assert {name: feature.type for name, feature in live.items()} == REQUIRED
    for feature in live.values():
        assert (feature.presence.min_fraction, feature.presence.min_count) == (1.0, 1)
        assert [dim.size for dim in feature.shape.dim] == [1]  # one value, FixedLenFeature
    # Only what nothing reads is left out (TFDS's head box: the Oxford folders have none).
    assert {feature.name for feature in schema.feature} - set(live) == {"head_bbox"}


def test_the_schema_is_package_data_and_reaches_the_image():
    with open(os.path.join(configs.PROJECT_DIR, "pyproject.toml"), "rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    package, _, name = OXFORD_PETS_SCHEMA.partition("/")
    assert any(
        fnmatch.fnmatch(package, pattern) for pattern in setuptools["packages"]["find"]["include"]
    )
    assert any(fnmatch.fnmatch(name, pattern) for pattern in setuptools["package-data"][package])
    # The image is built from the context .dockerignore lets through.
    with open(os.path.join(configs.PROJECT_DIR, ".dockerignore")) as file:
        ignored = [line.strip() for line in file if line.strip() and not line.startswith("#")]
    assert not [pattern for pattern in ignored if fnmatch.fnmatch(OXFORD_PETS_SCHEMA, pattern)]
    assert not [pattern for pattern in ignored if fnmatch.fnmatch(package, pattern)]


def test_a_relative_schema_file_is_found_in_the_project_where_it_runs():
    assert resolve_schema_file(OXFORD_PETS_SCHEMA) == os.path.join(PROJECT_ROOT, OXFORD_PETS_SCHEMA)
    assert os.path.isfile(resolve_schema_file(OXFORD_PETS_SCHEMA))
    assert resolve_schema_file("/etc/schema.pbtxt") == "/etc/schema.pbtxt"
    assert resolve_schema_file("gs://bucket/schema.pbtxt") == "gs://bucket/schema.pbtxt"
