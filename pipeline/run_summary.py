"""What a run produced, read back from ML Metadata: eval Dice, blessing, pushed model."""

import dataclasses
import math

import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2


@dataclasses.dataclass
class RunSummary:
    metrics: dict[str, float]  # overall slice, e.g. {"mean_dice": 0.93, "dice_pet": ...}
    evaluation_uri: str | None
    blessed: bool | None
    pushed_model_dir: str | None


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def latest_artifacts(store, pipeline_name: str) -> dict[str, metadata_store_pb2.Artifact]:
    """The newest artifact of each type that this pipeline has recorded."""
    context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if context is None:
        return {}
    type_names = {t.id: t.name for t in store.get_artifact_types()}
    newest = {}
    for artifact in store.get_artifacts_by_context(context.id):
        type_name = type_names[artifact.type_id]
        if type_name not in newest or artifact.id > newest[type_name].id:
            newest[type_name] = artifact
    return newest


def overall_metrics(evaluation_uri: str) -> dict[str, float]:
    """The metrics of the overall (unsliced) slice of a TFMA evaluation."""
    metrics = {}
    for metrics_for_slice in tfma.load_metrics(evaluation_uri):
        if metrics_for_slice.slice_key.single_slice_keys:
            continue
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            value = key_and_value.value
            if value.HasField("double_value"):
                metrics[key_and_value.key.name] = value.double_value.value
    return metrics


def summarize(metadata_path: str, pipeline_name: str) -> RunSummary:
    store = open_store(metadata_path)
    artifacts = latest_artifacts(store, pipeline_name)
    evaluation = artifacts.get("ModelEvaluation")
    blessing = artifacts.get("ModelBlessing")
    pushed = artifacts.get("PushedModel")
    pushed_dir = None
    if pushed is not None and pushed.custom_properties["pushed"].int_value == 1:
        pushed_dir = pushed.custom_properties["pushed_destination"].string_value
    return RunSummary(
        metrics=overall_metrics(evaluation.uri) if evaluation else {},
        evaluation_uri=evaluation.uri if evaluation else None,
        blessed=bool(blessing.custom_properties["blessed"].int_value) if blessing else None,
        pushed_model_dir=pushed_dir,
    )


def format_summary(summary: RunSummary) -> str:
    lines = ["", "Evaluation on the eval split (exact over all pixels):"]
    for name, value in sorted(summary.metrics.items()):
        shown = "n/a (class absent)" if math.isnan(value) else f"{value:.4f}"
        lines.append(f"  {name:<24} {shown}")
    if summary.blessed is None:
        lines.append("Blessing: no evaluation recorded.")
    else:
        lines.append(f"Blessed: {'yes' if summary.blessed else 'no'}")
    if summary.pushed_model_dir:
        lines.append(f"Pushed model: {summary.pushed_model_dir}")
    else:
        lines.append("Pushed model: none (the model was not blessed, so nothing was pushed)")
    return "\n".join(lines)
