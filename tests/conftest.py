"""Test set-up shared by the suite."""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import dataclasses

import pytest

# The components upstream of the Trainer: what a rerun that changes nothing in the data
# takes from TFX's cache (the e2e, inspect and reliability tests all check it).
DATA_COMPONENTS = ("TFDSExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform")


@pytest.fixture
def component_ids():
    """Every node of create_pipeline(), as its tests and the end-to-end test expect it."""
    return {
        *DATA_COMPONENTS,
        "Trainer",
        "latest_blessed_model_resolver",
        "Evaluator",
        "SegmentationReport",
        "Pusher",
    }


def tiny_pipeline_config(root):
    """The whole pipeline in about two minutes: the tiny dataset, 64 px, three steps.

    Three steps make a poor model, so anything is blessed (blessing_min 0).
    """
    from pipeline import configs  # after the environment above is set

    return configs.PipelineConfig(
        output_dir=str(root / "outputs"),
        data=dataclasses.replace(
            configs.DATASETS["synthetic_pets_tiny"], data_dir=str(root / "tfds")
        ),
        training=dataclasses.replace(
            configs.TrainingConfig(), image_size=64, epochs=1, train_steps=3, encoder_weights="none"
        ),
        evaluation=configs.EvaluationConfig(blessing_min=0.0),
    )


def tiny_runner_flags(data_dir, train_steps=3, epochs=1) -> list[str]:
    """local_runner.py flags for the same tiny run as tiny_pipeline_config, from the CLI."""
    return [
        "--dataset=synthetic_pets_tiny",
        f"--data-dir={data_dir}",
        "--image-size=64",
        f"--train-steps={train_steps}",
        f"--epochs={epochs}",
        "--encoder-weights=none",
        "--blessing-min=0",
    ]
