"""Data validation with a schema that is not inferred from the data it validates.

TFX's SchemaGen infers a schema from the statistics of every run's own examples, so
ExampleValidator, checking those statistics against it, never finds anything. Sources with
the Oxford-IIIT Pet features (pipeline.schema_gen_for) get the curated schema shipped with
the project instead, sources/oxford_pets_schema.pbtxt; other sources keep SchemaGen.

- CuratedSchemaGen: TFX's ImportSchemaGen, with the schema file named relative to the
  project (OXFORD_PETS_SCHEMA) and found where the task runs: in this checkout locally, in
  the installed package in the Kubeflow image (the file is package data, pyproject.toml).
  A path made absolute at compile time would name the compiling machine's checkout. A
  hash of the file and of the executor is an exec property, so an edit to the schema
  re-runs it and what reads its schema (TFX's cache key holds only the path otherwise).
- ExampleValidator: TFX's, then any anomaly fails it with every anomaly in the message
  (evaluation/data_validation.py reads them). The Transform waits for it
  (pipeline/pipeline.py), so nothing trains on examples that break their schema. With
  SchemaGen's schema there is never an anomaly, so only curated sources can stop here.

Both keep the component ids the pipeline has always had (pipeline/component_ids.py).
"""

import hashlib

from tfx import types
from tfx import v1 as tfx
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from components import component_specs as specs
from components.data_validation import executor
from pipeline.code_version import code_version

# The curated schema of Oxford-IIIT Pet examples, relative to the project's packages.
OXFORD_PETS_SCHEMA = "sources/oxford_pets_schema.pbtxt"


class CuratedSchemaGenSpec(standard_component_specs.ImportSchemaGenSpec):
    PARAMETERS = {
        **standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
        # The schema file's and the executor's hash: TFX's cache key.
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }


class CuratedSchemaGen(tfx.components.ImportSchemaGen):
    SPEC_CLASS = CuratedSchemaGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.SchemaFileExecutor)

    def __init__(self, schema_file: str = OXFORD_PETS_SCHEMA):
        """schema_file: relative to the project (resolved where the task runs), or absolute."""
        with open(executor.resolve_schema_file(schema_file), "rb") as file:
            schema_hash = hashlib.sha256(file.read()).hexdigest()[:16]
        spec = CuratedSchemaGenSpec(
            schema_file=schema_file,
            code_version=f"{schema_hash}-{code_version(executor.__name__)}",
            schema=types.Channel(type=standard_artifacts.Schema),
        )
        base_component.BaseComponent.__init__(self, spec=spec)


class ExampleValidatorSpec(standard_component_specs.ExampleValidatorSpec):
    PARAMETERS = {
        **standard_component_specs.ExampleValidatorSpec.PARAMETERS,
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }


class ExampleValidator(tfx.components.ExampleValidator):
    """The class keeps TFX's name, so the component id stays "ExampleValidator"."""

    SPEC_CLASS = ExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.ValidatorExecutor)

    def __init__(self, statistics, schema):
        spec = ExampleValidatorSpec(
            statistics=statistics,
            schema=schema,
            exclude_splits="[]",
            code_version=code_version(executor.__name__),
            anomalies=types.Channel(type=standard_artifacts.ExampleAnomalies),
        )
        base_component.BaseComponent.__init__(self, spec=spec)
