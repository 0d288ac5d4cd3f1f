"""The executors of CuratedSchemaGen and ExampleValidator: TFX's, with one change each."""

import os

from absl import logging
from tfx.components.example_validator import executor as tfx_example_validator
from tfx.components.schema_gen.import_schema_gen import executor as tfx_import_schema_gen
from tfx.types import artifact_utils, standard_component_specs

from evaluation import data_validation
from sources.image_files import SourceError

SCHEMA_FILE_KEY = standard_component_specs.SCHEMA_FILE_KEY
SCHEMA_KEY = standard_component_specs.SCHEMA_KEY
ANOMALIES_KEY = standard_component_specs.ANOMALIES_KEY
SCHEMA_FILE_PROPERTY = data_validation.SCHEMA_FILE_PROPERTY  # the file CuratedSchemaGen copied
# Where this project is installed: the checkout, or site-packages in the image. Both hold
# the packages side by side (components/, sources/, ...), and the files they ship.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DataValidationError(SourceError):
    """The examples do not match their schema. A SourceError: the local runner prints its
    message as one `Data error: ...`, like other data that cannot work."""


def resolve_schema_file(schema_file: str) -> str:
    """A path relative to the project (`sources/oxford_pets_schema.pbtxt`) -> the file in
    the project as installed where this runs; absolute paths and URIs as they are."""
    if "://" in schema_file or os.path.isabs(schema_file):
        return schema_file
    return os.path.join(PROJECT_ROOT, schema_file)


class SchemaFileExecutor(tfx_import_schema_gen.Executor):
    """ImportSchemaGen's executor; the schema file may be named relative to the project."""

    def Do(self, input_dict, output_dict, exec_properties):
        path = resolve_schema_file(exec_properties[SCHEMA_FILE_KEY])
        super().Do(input_dict, output_dict, {**exec_properties, SCHEMA_FILE_KEY: path})
        schema = artifact_utils.get_single_instance(output_dict[SCHEMA_KEY])
        schema.set_string_custom_property(SCHEMA_FILE_PROPERTY, exec_properties[SCHEMA_FILE_KEY])


class ValidatorExecutor(tfx_example_validator.Executor):
    """ExampleValidator's executor, then: any anomaly stops the run, every one named."""

    def Do(self, input_dict, output_dict, exec_properties):
        result = super().Do(input_dict, output_dict, exec_properties)
        anomalies_uri = artifact_utils.get_single_uri(output_dict[ANOMALIES_KEY])
        found = data_validation.read_anomalies(anomalies_uri)
        schema_artifact = artifact_utils.get_single_instance(input_dict[SCHEMA_KEY])
        schema = schema_description(schema_artifact)
        if found:
            message = data_validation.describe(found, schema)
            if schema_artifact.get_string_custom_property(SCHEMA_FILE_PROPERTY):
                message += (
                    " Fix the data; or, for images that are not Oxford-IIIT Pet photos, give "
                    "them as a plain folder (--image-dir, --mask-dir), which is validated "
                    "against a schema inferred from it."
                )
            raise DataValidationError(message)
        logging.info("Data validation: the examples match their schema, %s.", schema)
        return result


def schema_description(schema) -> str:
    """Where a Schema artifact came from, in words."""
    source_file = schema.get_string_custom_property(SCHEMA_FILE_PROPERTY)
    if source_file:
        return f"{source_file} of this project (a copy in {schema.uri})"
    return f"the one in {schema.uri}"
