"""The model card: what a model is, what it was trained on, how it scored, and its limits.

Written as model_card.md and model_card.json, beside the SavedModel the Pusher pushes
(assets.extra/) and into the visual report. `ModelCard` holds plain data; the pipeline's
components gather it from their artifacts (components/provenance.py).
"""

import dataclasses
import json
import math
import os

from evaluation import templates

MARKDOWN_FILE = "model_card.md"
JSON_FILE = "model_card.json"


@dataclasses.dataclass
class ModelCard:
    # The model: uri, mlmd_id, classes, image_size, test_time_flip, trained_at.
    model: dict
    # The data it was trained and evaluated on: source, synthetic, examples per split, uri,
    # mlmd_id.
    data: dict
    # backbone, alpha, weights (what was asked for), pretrained (whether the encoder really
    # started from pretrained weights).
    encoder: dict
    training: dict  # the Trainer's settings (pipeline/configs.py TrainingConfig)
    # The Evaluator's results on the eval split: metrics, baseline_metrics (empty when there
    # was no baseline), checks ([{description, value, passed}]) and blessed.
    evaluation: dict
    caveats: list[str] = dataclasses.field(default_factory=list)

    def to_json_dict(self) -> dict:
        return _json_safe(dataclasses.asdict(self))


def caveats_for(data: dict, encoder: dict) -> list[str]:
    """The warnings a reader must not miss, one sentence each."""
    caveats = []
    if data.get("synthetic"):
        caveats.append(
            "Trained and evaluated on generated scenes (the embedded synthetic set), not on "
            "photos: its scores say nothing about real photos, where such a model does "
            "poorly. Train on real photos (--oxford-dir, --dataset oxford_iiit_pet) with "
            "--recipe photos."
        )
    if encoder.get("weights") == "imagenet" and not encoder.get("pretrained"):
        caveats.append(
            "ImageNet weights were asked for but could not be had (offline?): the encoder "
            "was trained from scratch."
        )
    return caveats


def write(card: ModelCard, directory: str) -> tuple[str, str]:
    """Writes model_card.md and model_card.json into directory; returns their paths."""
    import tensorflow as tf  # gfile: the directory may be on cloud storage

    tf.io.gfile.makedirs(directory)
    paths = os.path.join(directory, MARKDOWN_FILE), os.path.join(directory, JSON_FILE)
    with tf.io.gfile.GFile(paths[0], "w") as file:
        file.write(to_markdown(card))
    with tf.io.gfile.GFile(paths[1], "w") as file:
        file.write(json.dumps(card.to_json_dict(), indent=2) + "\n")
    return paths


def to_markdown(card: ModelCard) -> str:
    return templates.render("model_card.md", card=card.to_json_dict(), number=number)


def number(value) -> str:
    """A value as the card and the report print it: counts whole, scores to 4 places."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}"


def _json_safe(value):
    """NaN (an absent class) becomes None: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value
