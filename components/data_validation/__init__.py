"""The schema the examples must match, and an ExampleValidator that stops a run on anomalies."""

from components.data_validation.component import (
    OXFORD_PETS_SCHEMA,
    CuratedSchemaGen,
    ExampleValidator,
)

__all__ = ["OXFORD_PETS_SCHEMA", "CuratedSchemaGen", "ExampleValidator"]
