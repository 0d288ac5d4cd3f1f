"""Which schema the examples are validated against: the curated one shipped with the project
for sources with the Oxford-IIIT Pet features, SchemaGen's inference for the others; and
nothing trains before the ExampleValidator has passed them."""

import json

import pytest
import yaml
from tfx import v1 as tfx

from components.data_validation import OXFORD_PETS_SCHEMA, CuratedSchemaGen
from components.data_validation import executor as validation_executor
from orchestration.kubeflow import compiler
from pipeline import component_ids, configs
from pipeline.pipeline import create_pipeline

OXFORD_SHAPED = {
    "synthetic_pets": configs.DATASETS["synthetic_pets"],
    "synthetic_pets_tiny": configs.DATASETS["synthetic_pets_tiny"],
    "synthetic_pets_full": configs.DATASETS["synthetic_pets_full"],
    "oxford_iiit_pet": configs.DATASETS["oxford_iiit_pet"],
    "oxford_iiit_pet pinned": configs.TFDSSource(dataset="oxford_iiit_pet:4.0.0"),
    "oxford_folder": configs.OxfordFolderSource(root="/data/oxford"),
}
OTHERS = {
    "image_folder": configs.ImageFolderSource(
        image_dir="/data/images", mask_dir="/data/masks", mask_values="background=0,pet=1"
    ),
    "another_tfds_dataset": configs.TFDSSource(
        dataset="my_segmentation/small", mask_values="background=0,person=1"
    ),
    # A name that only begins like an Oxford-shaped one.
    "synthetic_pets_lookalike": configs.TFDSSource(dataset="synthetic_pets_v2"),
}


def nodes(source):
    pipeline = create_pipeline(configs.PipelineConfig(output_dir="/tmp/unused", data=source))
    return {component.id: component for component in pipeline.components}


@pytest.mark.parametrize("source", OXFORD_SHAPED.values(), ids=OXFORD_SHAPED.keys())
def test_oxford_shaped_sources_import_the_shipped_schema(source):
    by_id = nodes(source)
    schema_gen = by_id[component_ids.SCHEMA_GEN]

    assert isinstance(schema_gen, CuratedSchemaGen)
    assert isinstance(schema_gen, tfx.components.ImportSchemaGen)
    assert schema_gen.exec_properties["schema_file"] == OXFORD_PETS_SCHEMA
    assert schema_gen.inputs == {}  # nothing inferred from the data it validates
    for consumer in (component_ids.EXAMPLE_VALIDATOR, component_ids.TRANSFORM, "Trainer"):
        assert by_id[consumer].inputs["schema"].producer_component_id == component_ids.SCHEMA_GEN


@pytest.mark.parametrize("source", OTHERS.values(), ids=OTHERS.keys())
def test_other_sources_keep_schemagen(source):
    schema_gen = nodes(source)[component_ids.SCHEMA_GEN]

    assert type(schema_gen) is tfx.components.SchemaGen
    statistics = schema_gen.inputs["statistics"]
    assert statistics.producer_component_id == component_ids.STATISTICS_GEN


@pytest.mark.parametrize("source", [*OXFORD_SHAPED.values(), *OTHERS.values()])
def test_transform_waits_for_the_example_validator(source):
    by_id = nodes(source)
    assert by_id[component_ids.EXAMPLE_VALIDATOR] in by_id[component_ids.TRANSFORM].upstream_nodes


def test_an_edit_to_the_schema_file_changes_the_cache_key(tmp_path):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "image" type: BYTES }\n')
    before = CuratedSchemaGen(str(schema)).exec_properties["code_version"]
    schema.write_text('feature { name: "image" type: BYTES }\nfeature { name: "x" type: INT }\n')
    assert CuratedSchemaGen(str(schema)).exec_properties["code_version"] != before


@pytest.mark.parametrize("target", compiler.TARGETS)
def test_the_compiled_spec_names_the_schema_in_the_project_not_on_this_machine(tmp_path, target):
    config = configs.PipelineConfig(output_dir="gs://bucket/pets", data=configs.TFDSSource())
    spec_path = tmp_path / compiler.DEFAULT_SPECS[target]
    compiler.compile_pipeline(config, "registry.example/pets:1", str(spec_path), target)
    text = spec_path.read_text()
    spec = yaml.safe_load(text) if target == "kubeflow" else json.loads(text)["pipelineSpec"]

    task = spec["root"]["dag"]["tasks"][component_ids.SCHEMA_GEN]
    schema_file = task["inputs"]["parameters"]["schema_file"]["runtimeValue"]
    # The task resolves it where it runs: site-packages in the image (package data).
    assert OXFORD_PETS_SCHEMA in json.dumps(schema_file)
    assert validation_executor.PROJECT_ROOT not in text
    args = spec["deploymentSpec"]["executors"]["SchemaGen_executor"]["container"]["args"]
    assert args[args.index("--executor_class_path") + 1] == (
        "components.data_validation.executor.SchemaFileExecutor"
    )
    transform = spec["root"]["dag"]["tasks"][component_ids.TRANSFORM]
    assert component_ids.EXAMPLE_VALIDATOR in transform["dependentTasks"]
