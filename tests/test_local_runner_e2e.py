"""The whole pipeline on a tiny dataset, checked through what ML Metadata recorded."""

import dataclasses
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from PIL import Image

from metadata import queries, run_summary
from metadata.store import open_store
from orchestration.local import run as local_run
from pipeline import configs
from tests.conftest import tiny_pipeline_config


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    return tiny_pipeline_config(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def first_run(tiny_config):
    summary = local_run.run(tiny_config, os.path.join(tiny_config.output_dir, "run.log"))
    return summary


def test_run_records_every_component_and_artifact(tiny_config, first_run, component_ids):
    store = open_store(tiny_config.metadata_path)
    executions = queries.executions_by_component(store, tiny_config.pipeline_name)
    # A resolver is recorded only once it has something to resolve.
    for component in component_ids - {"latest_blessed_model_resolver"}:
        states = [e.last_known_state for e in executions[component]]
        assert states == [3], f"{component}: {states}"  # 3 = COMPLETE

    outputs = queries.latest_outputs(store, tiny_config.pipeline_name)
    for component, output in [
        ("TFDSExampleGen", "examples"),
        ("StatisticsGen", "statistics"),
        ("SchemaGen", "schema"),
        ("ExampleValidator", "anomalies"),
        ("Transform", "transform_graph"),
        ("Trainer", "model"),
        ("Trainer", "model_run"),
        ("Evaluator", "evaluation"),
        ("Evaluator", "blessing"),
        ("Pusher", "pushed_model"),
    ]:
        assert os.path.isdir(outputs[component, output].uri), (component, output)
    # Transform writes neither transformed examples nor statistics over them.
    assert ("Transform", "transformed_examples") not in outputs
    assert ("Transform", "post_transform_stats") not in outputs
    examples = outputs["TFDSExampleGen", "examples"]
    assert examples.custom_properties["num_examples_train"].int_value == 32
    assert examples.custom_properties["num_examples_eval"].int_value == 16
    model_run = outputs["Trainer", "model_run"].uri
    assert any("events.out.tfevents" in f for _, _, fs in os.walk(model_run) for f in fs)


def test_first_model_is_evaluated_blessed_and_pushed(tiny_config, first_run):
    metrics = first_run.metrics
    classes = ["pet", "background", "border"]
    assert set(metrics) == {f"{m}_{c}" for m in ("dice", "iou") for c in classes} | {
        "mean_dice",
        "mean_iou",
        "pixel_accuracy",
        "foreground_dice",
        "example_count",
    }
    per_class = [metrics[f"dice_{c}"] for c in classes]
    assert all(0.0 <= value <= 1.0 for value in per_class)
    assert metrics["mean_dice"] == pytest.approx(np.mean(per_class))
    # Dice and IoU of a class are tied: IoU = Dice / (2 - Dice).
    for c in classes:
        dice = metrics[f"dice_{c}"]
        assert metrics[f"iou_{c}"] == pytest.approx(dice / (2 - dice))
    # The eval split is also sliced by species and breed.
    sliced_by = {
        key.column
        for metrics_for_slice in tfma.load_metrics(first_run.evaluation_uri)
        for key in metrics_for_slice.slice_key.single_slice_keys
    }
    assert sliced_by == {"species", "label"}
    assert first_run.blessed is True
    assert first_run.anomalies == {"train": [], "eval": []}
    assert os.path.isfile(os.path.join(first_run.pushed_model_dir, "saved_model.pb"))
    assert os.path.dirname(first_run.pushed_model_dir) == tiny_config.serving_model_dir


def test_visual_report_shows_real_predictions(tiny_config, first_run):
    store = open_store(tiny_config.metadata_path)
    report = queries.latest_outputs(store, tiny_config.pipeline_name)[
        "SegmentationReport", "report"
    ]
    index = report.custom_properties["index"].string_value
    assert index == os.path.join(report.uri, "index.html") == first_run.visual_report
    assert f"Visual report: {index}" in run_summary.format_summary(first_run)
    page = open(index).read()
    for name in ("samples.png", "worst.png", "metrics.png", "slices.png", "training.png"):
        assert f'src="{name}"' in page
        with Image.open(os.path.join(report.uri, name)) as picture:
            picture.verify()
    # 6 sample rows and 6 worst rows of the 16 eval examples, 4 columns of 192 px.
    grid_size = (4 * 196 + 4, 18 + 6 * 210 + 22)
    assert Image.open(os.path.join(report.uri, "samples.png")).size == grid_size
    assert Image.open(os.path.join(report.uri, "worst.png")).size == grid_size
    text = " ".join(page.split())
    assert "over the 16 eval examples" in text  # the confusion matrix's
    assert "<h3>By species (examples in brackets)</h3>" in page
    # Slice values by name, each with its number of eval examples.
    assert re.search(r"<td>(cat|dog) \(\d+\)</td>", page), page
    # The data was generated: the model card's caveat is on top, and the summary warns.
    assert "Caveat.</strong> Trained and evaluated on generated scenes" in page
    assert "WARNING: trained on the embedded synthetic scenes" in run_summary.format_summary(
        first_run
    )
    assert "mean_dice &gt;= 0" in page  # the blessing check as the Evaluator applied it
    assert f"version {os.path.basename(first_run.pushed_model_dir)}" in page


def test_rerun_with_unreachable_threshold_is_not_blessed_or_pushed(tiny_config, first_run):
    strict = dataclasses.replace(
        tiny_config, evaluation=configs.EvaluationConfig(blessing_min=1.01)
    )
    summary = local_run.run(strict, os.path.join(strict.output_dir, "run.log"))

    assert summary.blessed is False
    assert summary.pushed_model_dir is None
    # The same model again, now beside itself as the blessed baseline: the summary shows
    # the candidate's own metrics, not the baseline's nor the (zero) differences.
    assert summary.metrics == pytest.approx(first_run.metrics)
    assert os.listdir(tiny_config.serving_model_dir) == [
        os.path.basename(first_run.pushed_model_dir)
    ]
    # Everything up to the Trainer came from the cache; only evaluation ran again.
    store = open_store(tiny_config.metadata_path)
    executions = queries.executions_by_component(store, tiny_config.pipeline_name)
    for component in ["TFDSExampleGen", "Transform", "Trainer"]:
        assert [e.last_known_state for e in executions[component]] == [3, 5]  # 5 = CACHED
    assert [e.last_known_state for e in executions["Evaluator"]] == [3, 3]


def test_pushed_model_turns_a_jpeg_into_a_mask_in_plain_tensorflow(first_run, tmp_path):
    image_path = tmp_path / "photo.jpg"
    pixels = np.random.default_rng(0).integers(0, 255, [75, 100, 3], dtype=np.uint8)
    Image.fromarray(pixels).save(image_path)
    script = textwrap.dedent(
        """
        import sys
        import tensorflow as tf

        model = tf.saved_model.load(sys.argv[1])
        image = tf.io.read_file(sys.argv[2])
        full = model.signatures["segment_image"](image=image)
        batch = model.signatures["serving_default"](images=tf.stack([image, image]))
        print(full["class_ids"].shape, full["probabilities"].shape)
        print(batch["class_ids"].shape, batch["height"].numpy().tolist(),
              batch["width"].numpy().tolist())
        print(int(tf.reduce_min(full["class_ids"])), int(tf.reduce_max(full["class_ids"])))
        """
    )
    # A clean environment: no TF_USE_LEGACY_KERAS, nothing of the project imported.
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run(
        [sys.executable, "-c", script, first_run.pushed_model_dir, str(image_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    full_shape, batch_line, value_range = result.stdout.strip().splitlines()
    assert full_shape == "(75, 100) (75, 100, 3)"
    assert batch_line == "(2, 64, 64) [75, 75] [100, 100]"
    low, high = map(int, value_range.split())
    assert 0 <= low <= high <= 2
