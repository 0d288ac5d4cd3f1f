"""The end-of-run summary, read back from ML Metadata: eval Dice, blessing, pushed model."""

import dataclasses
import glob
import json
import math
import os

from tensorflow_metadata.proto.v0 import anomalies_pb2

from evaluation import model_card
from metadata import queries, store
from models import features
from pipeline import component_ids


@dataclasses.dataclass
class RunSummary:
    metrics: dict[str, float]  # overall slice, e.g. {"mean_dice": 0.93, "dice_pet": ...}
    evaluation_uri: str | None
    blessed: bool | None
    pushed_model_dir: str | None
    # ExampleValidator's findings: {split: ["feature: description", ...]}
    anomalies: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # Folder sources: how many files ingestion skipped, and its report listing them.
    num_skipped: int | None = None
    ingestion_report: str | None = None
    visual_report: str | None = None  # the SegmentationReport's index.html
    # Provenance (components/provenance.py): the data source, and whether it was generated.
    data_source: str | None = None
    synthetic_data: bool = False
    # Whether the encoder started from pretrained weights, and what was asked for.
    pretrained_encoder: bool | None = None
    encoder_weights: str | None = None
    model_card: str | None = None  # model_card.md: the pushed one, else the report's


def overall_metrics(evaluation_uri: str) -> dict[str, float]:
    """The candidate model's metrics on the whole eval split (no baseline, no diffs)."""
    # Imported here, not above: TFMA brings TensorFlow (half a minute), and the other
    # queries of this module (and `inspect runs`) need only ML Metadata.
    from evaluation import tfma_metrics

    return tfma_metrics.candidate_metrics_by_slice(evaluation_uri).get((), {})


def anomalies_by_split(anomalies_uri: str) -> dict[str, list[str]]:
    found = {}
    for path in sorted(glob.glob(os.path.join(anomalies_uri, "Split-*", "SchemaDiff.pb"))):
        split = os.path.basename(os.path.dirname(path))[len("Split-") :]
        anomalies = anomalies_pb2.Anomalies()
        with open(path, "rb") as file:
            anomalies.ParseFromString(file.read())
        found[split] = [
            f"{feature}: {info.short_description}"
            for feature, info in sorted(anomalies.anomaly_info.items())
        ]
    return found


def summarize(metadata_path: str, pipeline_name: str) -> RunSummary:
    outputs = queries.latest_outputs(store.open_store(metadata_path), pipeline_name)
    evaluation = outputs.get((component_ids.EVALUATOR, "evaluation"))
    blessing = outputs.get((component_ids.EVALUATOR, "blessing"))
    pushed = outputs.get((component_ids.PUSHER, "pushed_model"))
    anomalies = outputs.get((component_ids.EXAMPLE_VALIDATOR, "anomalies"))
    num_skipped, report_path = ingestion_skips(outputs)
    visual_report = outputs.get((component_ids.SEGMENTATION_REPORT, "report"))
    examples = newest_examples(outputs)
    training = model_metadata(outputs.get((component_ids.TRAINER, "model")))
    pushed_dir = card = None
    if pushed is not None and pushed.custom_properties["pushed"].int_value == 1:
        pushed_dir = pushed.custom_properties["pushed_destination"].string_value
        card = pushed.custom_properties["model_card"].string_value or None
    if card is None and visual_report is not None:
        card = os.path.join(visual_report.uri, model_card.MARKDOWN_FILE)
    return RunSummary(
        metrics=overall_metrics(evaluation.uri) if evaluation else {},
        evaluation_uri=evaluation.uri if evaluation else None,
        blessed=bool(blessing.custom_properties["blessed"].int_value) if blessing else None,
        pushed_model_dir=pushed_dir,
        anomalies=anomalies_by_split(anomalies.uri) if anomalies else {},
        num_skipped=num_skipped,
        ingestion_report=report_path,
        visual_report=(
            visual_report.custom_properties["index"].string_value if visual_report else None
        ),
        data_source=examples.custom_properties["source"].string_value if examples else None,
        synthetic_data=bool(examples and examples.custom_properties["synthetic"].int_value),
        pretrained_encoder=training.get("pretrained_encoder"),
        encoder_weights=training.get("training", {}).get("encoder_weights"),
        model_card=card,
    )


def newest_examples(outputs):
    """The Examples of the newest ingestion, from whichever ExampleGen made them."""
    candidates = [
        outputs.get((component, "examples"))
        for component in (component_ids.TFDS_EXAMPLE_GEN, component_ids.FOLDER_EXAMPLE_GEN)
    ]
    return max((c for c in candidates if c is not None), key=lambda a: a.id, default=None)


def model_metadata(model) -> dict:
    """The Trainer's segmentation.json beside its SavedModel ({} when it cannot be read)."""
    if model is None:
        return {}
    # TFX's path_utils.serving_model_path(model.uri), spelled out: importing TFX takes
    # half a minute, and `inspect` reads this module too.
    path = os.path.join(model.uri, "Format-Serving", features.MODEL_METADATA_FILE)
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return {}


def ingestion_skips(outputs) -> tuple[int | None, str | None]:
    """Skipped files and the report path, if the newest examples came from a folder."""
    report = outputs.get((component_ids.FOLDER_EXAMPLE_GEN, "report"))
    folder_examples = outputs.get((component_ids.FOLDER_EXAMPLE_GEN, "examples"))
    tfds_examples = outputs.get((component_ids.TFDS_EXAMPLE_GEN, "examples"))
    if report is None or (tfds_examples is not None and tfds_examples.id > folder_examples.id):
        return None, None
    return report.custom_properties["num_skipped"].int_value, os.path.join(
        report.uri, "report.json"
    )


def format_summary(summary: RunSummary) -> str:
    lines = [""]
    if summary.data_source:
        lines.append(f"Data: {summary.data_source}")
    if summary.synthetic_data:
        lines.append(
            "WARNING: trained on the embedded synthetic scenes, not photos: this model is "
            "not for real photos (train on them with --oxford-dir or --dataset "
            "oxford_iiit_pet, and --recipe photos)."
        )
    if summary.pretrained_encoder is not None:
        if summary.pretrained_encoder:
            lines.append(f"Encoder: started from pretrained weights ({summary.encoder_weights})")
        elif summary.encoder_weights == "none":
            lines.append("Encoder: trained from scratch, as configured (--encoder-weights none)")
        else:
            lines.append(
                f"Encoder: trained from scratch: the {summary.encoder_weights} weights asked "
                "for could not be had (docs/training.md says where to put them offline)"
            )
    if summary.num_skipped is not None:
        lines.append(
            f"Ingestion: {summary.num_skipped} file(s) skipped"
            + (f", listed in {summary.ingestion_report}" if summary.num_skipped else "")
        )
    for split, found in summary.anomalies.items():
        lines.append(f"Data validation, {split} split: " + ("; ".join(found) or "no anomalies"))
    lines.append("Evaluation on the eval split (exact over all pixels):")
    for name, value in sorted(summary.metrics.items()):
        if math.isnan(value):
            shown = "n/a (class absent)"
        elif name == "example_count":
            shown = f"{value:.0f}"
        else:
            shown = f"{value:.4f}"
        lines.append(f"  {name:<24} {shown}")
    if summary.blessed is None:
        lines.append("Blessing: no evaluation recorded.")
    else:
        lines.append(f"Blessed: {'yes' if summary.blessed else 'no'}")
    if summary.pushed_model_dir:
        lines.append(f"Pushed model: {summary.pushed_model_dir}")
    else:
        lines.append("Pushed model: none (the model was not blessed, so nothing was pushed)")
    if summary.model_card:
        lines.append(f"Model card: {summary.model_card}")
    if summary.visual_report:
        lines.append(f"Visual report: {summary.visual_report}")
    return "\n".join(lines)
