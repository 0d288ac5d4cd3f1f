"""SegmentationReport's executor: predict the eval split, gather metrics and curves, draw."""

import dataclasses
import datetime
import io
import os

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components import component_specs as specs
from components import examples_io, provenance
from evaluation import model_card, report, tfma_metrics
from evaluation.metrics import SetMetrics, WorstKept
from models import features, mask_convention
from models.mask_convention import mask_class_ids
from sources import oxford_layout

# Readable names of the slicing features of Oxford-shaped data, and of their values.
SLICE_NAMES = {features.SPECIES_KEY: "species", features.LABEL_KEY: "breed"}
SLICE_VALUE_NAMES = {
    features.SPECIES_KEY: dict(enumerate(oxford_layout.SPECIES)),
    features.LABEL_KEY: dict(enumerate(oxford_layout.BREEDS)),
}
CURVES = {"epoch_loss": "loss", "epoch_mean_dice": "mean_dice"}  # TensorBoard tag -> name


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict[specs.EXAMPLES_KEY])
        model = artifact_utils.get_single_instance(input_dict[specs.MODEL_KEY])
        evaluation = artifact_utils.get_single_instance(input_dict[specs.EVALUATION_KEY])
        blessing = _optional(input_dict, specs.BLESSING_KEY)
        pushed = _optional(input_dict, specs.PUSHED_MODEL_KEY)
        model_run = _optional(input_dict, specs.MODEL_RUN_KEY)
        output = artifact_utils.get_single_instance(output_dict[specs.REPORT_KEY])

        card = provenance.build_model_card(
            exec_properties[specs.MODEL_NAME_KEY], model, examples, evaluation, blessing
        )
        model_dir = path_utils.serving_model_path(model.uri)
        convention = mask_convention.MaskConvention.from_json_dict(
            provenance.read_model_metadata(model)["mask_convention"]
        )
        predicted = predict_eval_split(
            tf.saved_model.load(model_dir),
            examples_io.read_split(examples, "eval", int(exec_properties[specs.MAX_EXAMPLES_KEY])),
            convention,
            int(exec_properties[specs.NUM_SAMPLES_KEY]),
            int(exec_properties[specs.NUM_WORST_KEY]),
        )
        by_model = tfma_metrics.metrics_by_model(evaluation.uri)
        data = report.ReportData(
            title=f"Segmentation report: {card.model['name']}",
            class_names=convention.class_names,
            metrics=card.evaluation["metrics"],
            slices=named_slices(by_model[tfma_metrics.CANDIDATE]),
            curves=training_curves(model_run),
            sample_rows=predicted.sample_rows,
            worst_rows=predicted.worst_rows,
            facts=facts(card, model, blessing, pushed),
            baseline_metrics=card.evaluation["baseline_metrics"],
            baseline_slices=named_slices(by_model[tfma_metrics.BASELINE]),
            checks=card.evaluation["checks"],
            confusion=predicted.metrics.confusion.tolist(),
            confusion_images=len(predicted.metrics.per_image),
            caveats=card.caveats,
            links=links(examples, model, evaluation, model_run, pushed),
            tensorboard_dir=model_run.uri if model_run else None,
        )
        index = report.write_report(data, output.uri)
        model_card.write(card, output.uri)
        output.set_string_custom_property("index", index)
        output.set_int_custom_property("synthetic_data", int(card.data["synthetic"]))
        output.set_int_custom_property("pretrained_encoder", int(card.encoder["pretrained"]))
        logging.info("Visual report: %s", index)


def _optional(input_dict, key):
    artifacts = input_dict.get(key)
    return artifact_utils.get_single_instance(artifacts) if artifacts else None


def facts(card, model, blessing, pushed) -> dict[str, str]:
    """The table at the top of the report: what, from what, and what became of it."""
    encoder = card.encoder
    data = card.data
    examples = ", ".join(f"{count} {split}" for split, count in data["examples"].items())
    return {
        "model": f"{model.uri} (ML Metadata artifact {model.id})",
        "trained": card.model["trained_at"],
        "data": f"{data['source']}: {examples} examples"
        + (" (generated scenes, not photos)" if data["synthetic"] else ""),
        "encoder": f"{encoder['backbone']} (width {encoder['alpha']}), started from "
        + ("ImageNet weights" if encoder["pretrained"] else "scratch")
        + f" (asked for: {encoder['weights']})",
        "blessed": blessing_decision(blessing),
        "pushed": pushed_decision(pushed),
        "classes": ", ".join(card.model["classes"]),
        "model card": f"{model_card.MARKDOWN_FILE}, {model_card.JSON_FILE} (beside this page)",
        "written": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def links(examples, model, evaluation, model_run, pushed) -> dict[str, str]:
    """The artifacts the report is about, by name; each with its ML Metadata id."""
    found = {
        f"examples (id {examples.id})": examples.uri,
        f"model (id {model.id})": path_utils.serving_model_path(model.uri),
        f"evaluation (id {evaluation.id})": evaluation.uri,
    }
    if model_run is not None:
        found[f"training logs (id {model_run.id})"] = model_run.uri
    if pushed is not None and pushed.get_int_custom_property("pushed") == 1:
        found[f"pushed model (id {pushed.id})"] = pushed.get_string_custom_property(
            "pushed_destination"
        )
    return found


@dataclasses.dataclass
class Predicted:
    sample_rows: list
    worst_rows: list
    metrics: SetMetrics  # over every predicted example, with its confusion matrix


def predict_eval_split(saved_model, tf_examples, convention, num_samples, num_worst):
    """Predicts each example at its own size: the sample rows, the worst rows, the sums."""
    segment_image = saved_model.signatures["segment_image"]
    accumulator = SetMetrics(convention.class_names, convention.background)
    sample_rows, worst = [], WorstKept(num_worst)
    for index, example in enumerate(tf_examples):
        feature = example.features.feature
        image_bytes = feature[features.IMAGE_KEY].bytes_list.value[0]
        mask_bytes = feature[features.MASK_KEY].bytes_list.value[0]
        names = feature[features.FILE_NAME_KEY].bytes_list.value
        name = names[0].decode() if names else f"example {index}"
        image = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
        true_ids = mask_class_ids(np.asarray(Image.open(io.BytesIO(mask_bytes))), convention)
        predicted = segment_image(image=tf.constant(image_bytes))
        predicted_ids = predicted[features.CLASS_IDS_OUTPUT].numpy()
        score = accumulator.add(name, true_ids, predicted_ids)
        row = (f"{name}  mean Dice {score:.3f}", image, true_ids, predicted_ids)
        if index < num_samples:
            sample_rows.append(row)
        worst.add(score, name, row)
    worst_rows = [row for _, _, row in worst.rows()]
    return Predicted(sample_rows, worst_rows, accumulator)


def named_slices(by_slice) -> dict[str, dict[str, dict[str, float]]]:
    """{feature: {readable value: metrics}} for the single-feature slices, species first."""
    slices = {}
    for slice_key, values in by_slice.items():
        if len(slice_key) != 1:
            continue
        ((feature, value),) = slice_key
        name = SLICE_VALUE_NAMES.get(feature, {}).get(value, str(value))
        slices.setdefault(SLICE_NAMES.get(feature, feature), {})[name] = values
    return dict(sorted(slices.items(), key=lambda item: (item[0] != "species", item[0])))


def training_curves(model_run) -> dict:
    """{"loss": {"train": [(epoch, value)], "validation": [...]}, "mean_dice": {...}}."""
    if model_run is None:
        return {}
    root = model_run.uri
    curves = {}
    for split in ("train", "validation"):
        for path in tf.io.gfile.glob(os.path.join(root, split, "events.out.tfevents*")):
            for event in tf.compat.v1.train.summary_iterator(path):
                for value in event.summary.value:
                    if value.tag in CURVES:
                        number = float(tf.make_ndarray(value.tensor))
                        curves.setdefault(CURVES[value.tag], {}).setdefault(split, []).append(
                            (event.step, number)
                        )
    return {name: {s: sorted(p) for s, p in by_split.items()} for name, by_split in curves.items()}


def blessing_decision(blessing) -> str:
    if blessing is None:
        return "not evaluated for blessing"
    return "yes" if blessing.get_int_custom_property("blessed") == 1 else "no"


def pushed_decision(pushed) -> str:
    if pushed is None:
        return "no push step"
    if pushed.get_int_custom_property("pushed") != 1:
        return "no (not blessed)"
    version = pushed.get_string_custom_property("pushed_version")
    destination = pushed.get_string_custom_property("pushed_destination")
    return f"version {version}, {destination} (ML Metadata artifact {pushed.id})"
