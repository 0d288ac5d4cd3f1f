"""A model's model card, gathered from the artifacts of the run that made it.

The SegmentationReport shows it and the Pusher pushes it with the model
(components/pusher): both build it here, from the same inputs.
- the model: segmentation.json beside the SavedModel (written by the Trainer: classes,
  image size, training settings, whether the encoder started from pretrained weights);
- the data: the Examples artifact's properties (components/examples_io.py);
- the scores: the Evaluator's evaluation (TFMA's metrics and validation result) and its
  blessing.
"""

import json
import os

import tensorflow as tf
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components import examples_io
from evaluation import model_card, tfma_metrics
from models import features


def read_model_metadata(model) -> dict:
    """segmentation.json of a Model artifact (models/trainer.py write_model_metadata)."""
    path = os.path.join(path_utils.serving_model_path(model.uri), features.MODEL_METADATA_FILE)
    with tf.io.gfile.GFile(path) as file:
        return json.load(file)


def build_model_card(pipeline_name, model, examples, evaluation, blessing=None):
    """The ModelCard of a trained model; blessing may be None (not evaluated for it)."""
    metadata = read_model_metadata(model)
    training = dict(metadata.get("training", {}))
    encoder = {
        "backbone": training.get("backbone"),
        "alpha": training.get("alpha"),
        "weights": training.get("encoder_weights"),
        "pretrained": bool(metadata.get("pretrained_encoder", False)),
    }
    data = {
        "source": examples.get_string_custom_property(examples_io.SOURCE_PROPERTY) or "unknown",
        "synthetic": bool(examples.get_int_custom_property(examples_io.SYNTHETIC_PROPERTY)),
        "examples": {
            split: examples.get_int_custom_property(f"num_examples_{split}")
            for split in artifact_utils.decode_split_names(examples.split_names)
        },
        "uri": examples.uri,
        "mlmd_id": examples.id,
    }
    return model_card.ModelCard(
        model={
            "name": pipeline_name,
            "classes": metadata["mask_convention"]["class_names"],
            "image_size": metadata["image_size"],
            "test_time_flip": bool(metadata.get("test_time_flip", False)),
            "trained_at": metadata.get("trained_at", "unknown"),
            "uri": model.uri,
            "mlmd_id": model.id,
        },
        data=data,
        encoder=encoder,
        training=training,
        evaluation=evaluation_summary(evaluation, blessing),
        caveats=model_card.caveats_for(data, encoder),
    )


def evaluation_summary(evaluation, blessing) -> dict:
    """The whole split's scores, the baseline's, the blessing checks and the decision."""
    by_model = tfma_metrics.metrics_by_model(evaluation.uri)
    overall = {name: by_slice.get((), {}) for name, by_slice in by_model.items()}
    checks, _ = tfma_metrics.blessing_checks(evaluation.uri)
    return {
        "metrics": _counts_as_ints(overall[tfma_metrics.CANDIDATE]),
        "baseline_metrics": _counts_as_ints(overall[tfma_metrics.BASELINE]),
        "changes": _counts_as_ints(overall[tfma_metrics.DIFF]),
        "checks": [
            {"description": c.description, "value": c.value, "passed": c.passed} for c in checks
        ],
        "blessed": None if blessing is None else bool(blessing.get_int_custom_property("blessed")),
        "uri": evaluation.uri,
        "mlmd_id": evaluation.id,
    }


def _counts_as_ints(metrics: dict) -> dict:
    """TFMA stores ExampleCount as a double; it is a count."""
    return {
        name: int(value) if name == "example_count" else value
        for name, value in sorted(metrics.items())
    }
