"""The whole pipeline from an Oxford-layout folder with bad files in it, via the flags."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import local_runner
from evaluation import model_card
from metadata import queries, run_summary
from metadata.store import open_store
from models import features, mask_convention
from orchestration.local import run as local_run
from pipeline import preflight
from tests import trap_files


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("oxford_e2e")
    oxford_dir = str(root / "oxford")
    trap_files.generated_oxford_folder(oxford_dir, num_trainval=20, num_test=6)
    # Three bad files among the good ones: each must be skipped and reported.
    trap_files.write_image("truncated_jpeg", f"{oxford_dir}/images/samoyed_900.jpg")
    trap_files.write_trimap("ok", f"{oxford_dir}/annotations/trimaps/samoyed_900.png")
    trap_files.write_image("rgb_jpeg", f"{oxford_dir}/images/pug_901.jpg")  # no trimap
    trap_files.write_image("cmyk_jpeg", f"{oxford_dir}/images/pug_902.jpg")  # fine
    trap_files.write_trimap("ok", f"{oxford_dir}/annotations/trimaps/pug_902.png")
    with open(f"{oxford_dir}/annotations/trainval.txt", "a") as lines:
        lines.write("samoyed_900 30 2 1\npug_901 26 2 1\npug_902 26 2 1\n")
    args = local_runner.parse_args(
        ["--oxford-dir", oxford_dir, "--output-dir", str(root / "outputs")]
        + ["--image-size", "64", "--epochs", "1", "--train-steps", "3"]
        + ["--encoder-weights", "none", "--blessing-min", "0"]
    )
    config = local_runner.config_from_args(args)
    description = preflight.check(config)
    summary = local_run.run(config, os.path.join(config.output_dir, "run.log"))
    return config, description, summary


def test_folder_is_checked_then_ingested_with_a_skip_report(folder_run):
    config, description, summary = folder_run
    assert description.endswith("22 pairs, 1 files without a partner (pug_901.jpg, ...)")
    store = open_store(config.metadata_path)
    outputs = queries.latest_outputs(store, config.pipeline_name)
    examples = outputs["FolderExampleGen", "examples"]
    counts = [examples.custom_properties[f"num_examples_{s}"].int_value for s in ("train", "eval")]
    # 20 generated + pug_902 (CMYK) = 21 written; the official test images stay out.
    assert sum(counts) == 21 and counts[1] == 3  # ceil(10% of 22 pairs found) held out
    report = outputs["FolderExampleGen", "report"]
    assert report.custom_properties["num_skipped"].int_value == 2
    with open(os.path.join(report.uri, "report.json")) as file:
        skipped = {os.path.basename(s["path"]) for s in json.load(file)["skipped"]}
    assert skipped == {"samoyed_900.jpg", "pug_901.jpg"}
    assert summary.num_skipped == 2 and summary.ingestion_report.endswith("report.json")
    assert "Ingestion: 2 file(s) skipped, listed in" in run_summary.format_summary(summary)


def test_model_from_the_folder_is_pushed_with_its_classes(folder_run):
    _, _, summary = folder_run
    assert summary.blessed and summary.pushed_model_dir
    with open(os.path.join(summary.pushed_model_dir, features.MODEL_METADATA_FILE)) as file:
        metadata = json.load(file)
    assert {key: metadata[key] for key in ("image_size", "mask_convention", "test_time_flip")} == {
        "image_size": 64,
        "mask_convention": mask_convention.trimap_convention("trimap").to_json_dict(),
        "test_time_flip": False,
    }
    # How it was trained: the settings as run, and an encoder trained from scratch.
    assert metadata["training"]["epochs"] == 1 and metadata["training"]["image_size"] == 64
    assert metadata["training"]["encoder_weights"] == "none"
    assert "code_version" not in metadata["training"]
    assert metadata["pretrained_encoder"] is False


def test_the_pushed_model_carries_its_model_card(folder_run):
    config, _, summary = folder_run
    card_dir = os.path.join(summary.pushed_model_dir, "assets.extra")
    with open(os.path.join(card_dir, model_card.JSON_FILE)) as file:
        card = json.load(file)
    assert card["data"]["source"] == f"Oxford-IIIT Pet folder {config.data.root}"
    assert card["data"]["examples"] == {"train": 18, "eval": 3} and not card["data"]["synthetic"]
    assert card["encoder"] == {
        "backbone": "mobilenet_v2",
        "alpha": 0.5,
        "weights": "none",
        "pretrained": False,
    }
    assert card["caveats"] == []  # real-shaped data, scratch by choice
    evaluation = card["evaluation"]
    assert evaluation["blessed"] is True and evaluation["baseline_metrics"] == {}
    assert evaluation["metrics"]["example_count"] == 3
    assert evaluation["metrics"]["mean_dice"] == pytest.approx(summary.metrics["mean_dice"])
    # The first model: only the value threshold applied, and it passed.
    assert [(c["description"], c["passed"]) for c in evaluation["checks"]] == [
        ("mean_dice >= 0", True)
    ]
    with open(os.path.join(card_dir, model_card.MARKDOWN_FILE)) as file:
        markdown = file.read()
    assert markdown.startswith("# Model card: pet-segmentation")
    assert "| Examples, train split | 18 |" in markdown

    # ML Metadata has the card's key facts on the PushedModel, and the summary says them.
    outputs = queries.latest_outputs(open_store(config.metadata_path), config.pipeline_name)
    pushed = outputs["Pusher", "pushed_model"].custom_properties
    assert pushed["model_card"].string_value == os.path.join(card_dir, model_card.MARKDOWN_FILE)
    assert pushed["data_source"].string_value == card["data"]["source"]
    assert (pushed["synthetic_data"].int_value, pushed["pretrained_encoder"].int_value) == (0, 0)
    # ML Metadata keeps float properties to 6 significant digits.
    assert pushed["mean_dice"].double_value == pytest.approx(
        evaluation["metrics"]["mean_dice"], rel=1e-5
    )
    text = run_summary.format_summary(summary)
    assert f"Data: {card['data']['source']}" in text
    assert "Encoder: trained from scratch, as configured (--encoder-weights none)" in text
    assert f"Model card: {pushed['model_card'].string_value}" in text
    assert "synthetic" not in text


def test_predict_and_evaluate_use_the_pushed_model_in_a_new_process(folder_run, tmp_path):
    config, _, summary = folder_run
    oxford_dir = config.data.root
    models_dir = os.path.dirname(summary.pushed_model_dir)  # the newest version is picked
    evaluate = subprocess.run(
        [sys.executable, "-m", "inference.evaluate", "--model", models_dir]
        + ["--oxford-dir", oxford_dir, "--subset", "test", "--output-dir", str(tmp_path / "eval")],
        capture_output=True,
        text=True,
        check=True,
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert "segmentation.json is missing" not in evaluate.stderr  # the real metadata is read
    assert metrics["pairs_evaluated"] == 6 and metrics["skipped"] == []  # the 6 test.txt images
    assert 0.0 <= metrics["mean_dice"] <= 1.0 and set(metrics["dice"]) == {
        "pet",
        "background",
        "border",
    }

    subprocess.run(
        [sys.executable, "-m", "inference.predict", f"{oxford_dir}/images/pug_902.jpg"]
        + ["--model", models_dir, "--output-dir", str(tmp_path / "predicted")],
        capture_output=True,
        text=True,
        check=True,
    )
    mask = np.asarray(Image.open(tmp_path / "predicted" / "masks" / "pug_902.png"))
    assert mask.shape == (24, 32) and set(np.unique(mask)) <= {1, 2, 3}
    overlay = Image.open(tmp_path / "predicted" / "overlays" / "pug_902.png")
    assert overlay.size == (32, 24) and overlay.mode == "RGB"


def test_a_second_model_is_reported_beside_the_last_blessed_one(folder_run):
    config, _, first = folder_run
    # Another seed: the Trainer and everything after it run again; the data is cached.
    config = dataclasses.replace(
        config, training=dataclasses.replace(config.training, seed=config.training.seed + 1)
    )
    second = local_run.run(config, os.path.join(config.output_dir, "run2.log"))
    outputs = queries.latest_outputs(open_store(config.metadata_path), config.pipeline_name)
    report_dir = outputs["SegmentationReport", "report"].uri
    with open(os.path.join(report_dir, model_card.JSON_FILE)) as file:
        evaluation = json.load(file)["evaluation"]

    # The Evaluator scored the first (blessed) model again, as the baseline.
    baseline_mean_dice = evaluation["baseline_metrics"]["mean_dice"]
    assert baseline_mean_dice == pytest.approx(first.metrics["mean_dice"], abs=1e-6)
    change = evaluation["metrics"]["mean_dice"] - baseline_mean_dice
    assert evaluation["changes"]["mean_dice"] == pytest.approx(change, abs=1e-6)
    checks = {c["description"]: c for c in evaluation["checks"]}
    assert set(checks) == {"mean_dice >= 0", "mean_dice - baseline's >= -0.01"}
    assert checks["mean_dice - baseline's >= -0.01"]["passed"] == (change >= -0.01)
    assert second.blessed == all(c["passed"] for c in checks.values())
    page = open(os.path.join(report_dir, "index.html")).read()
    assert "last blessed model" in page and "Confusion matrix" in page
    assert ("version " in page) == bool(second.blessed)  # the pushed version, when pushed
