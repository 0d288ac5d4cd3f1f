"""The whole pipeline from an Oxford-layout folder with bad files in it, via the flags."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import local_runner
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
    assert metadata == {
        "image_size": 64,
        "mask_convention": mask_convention.trimap_convention("trimap").to_json_dict(),
        "test_time_flip": False,
    }


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
