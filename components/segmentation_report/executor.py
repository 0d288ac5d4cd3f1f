"""SegmentationReport's executor: predict the eval split, gather metrics and curves, draw."""

import datetime
import io
import json
import os

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components import component_specs as specs
from components import examples_io
from evaluation import report, tfma_metrics
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
        output = artifact_utils.get_single_instance(output_dict[specs.REPORT_KEY])

        model_dir = path_utils.serving_model_path(model.uri)
        with tf.io.gfile.GFile(os.path.join(model_dir, features.MODEL_METADATA_FILE)) as file:
            convention = mask_convention.MaskConvention.from_json_dict(
                json.load(file)["mask_convention"]
            )
        sample_rows, worst_rows, num_predicted = predict_eval_split(
            tf.saved_model.load(model_dir),
            examples_io.read_split(examples, "eval", int(exec_properties[specs.MAX_EXAMPLES_KEY])),
            convention,
            int(exec_properties[specs.NUM_SAMPLES_KEY]),
            int(exec_properties[specs.NUM_WORST_KEY]),
        )
        by_slice = tfma_metrics.candidate_metrics_by_slice(evaluation.uri)
        data = report.ReportData(
            title="Segmentation report",
            class_names=convention.class_names,
            metrics=by_slice.get((), {}),
            slices=named_slices(by_slice),
            curves=training_curves(input_dict.get(specs.MODEL_RUN_KEY)),
            sample_rows=sample_rows,
            worst_rows=worst_rows,
            facts={
                "model": model.uri,
                "blessed": blessing_decision(input_dict.get(specs.BLESSING_KEY)),
                "eval examples in the pictures": num_predicted,
                "classes": ", ".join(convention.class_names),
                "written": datetime.datetime.now().isoformat(timespec="seconds"),
            },
        )
        index = report.write_report(data, output.uri)
        output.set_string_custom_property("index", index)
        logging.info("Visual report: %s", index)


def predict_eval_split(saved_model, tf_examples, convention, num_samples, num_worst):
    """Predicts each example at its own size; returns the sample rows and the worst rows."""
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
    return sample_rows, worst_rows, len(accumulator.per_image)


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


def training_curves(model_run_artifacts) -> dict:
    """{"loss": {"train": [(epoch, value)], "validation": [...]}, "mean_dice": {...}}."""
    if not model_run_artifacts:
        return {}
    root = artifact_utils.get_single_instance(model_run_artifacts).uri
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


def blessing_decision(blessing_artifacts) -> str:
    if not blessing_artifacts:
        return "not evaluated for blessing"
    blessing = artifact_utils.get_single_instance(blessing_artifacts)
    return "yes" if blessing.get_int_custom_property("blessed") == 1 else "no"
