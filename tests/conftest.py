"""Test set-up shared by the suite."""

import os

import pytest

# Before TensorFlow is imported anywhere: the project runs on Keras 2 (tf_keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def component_ids():
    """Every node of create_pipeline(), as its tests and the end-to-end test expect it."""
    return {
        "TFDSExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "ExampleValidator",
        "Transform",
        "Trainer",
        "latest_blessed_model_resolver",
        "Evaluator",
        "SegmentationReport",
        "Pusher",
    }
