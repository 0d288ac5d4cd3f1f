"""LatestPushedModel finds the newest complete pushed version and hands over a copy."""

import json
import os

from tfx.types import standard_artifacts

from components.latest_pushed_model import executor
from inference.model import newest_version


def push(serving_dir, version, complete=True):
    version_dir = serving_dir / str(version)
    (version_dir / "variables").mkdir(parents=True)
    (version_dir / "variables" / "variables.index").write_text(f"weights of {version}")
    if complete:
        (version_dir / "saved_model.pb").write_text(f"graph of {version}")
    return version_dir


def find(serving_dir, output_dir):
    model = standard_artifacts.Model()
    model.uri = str(output_dir)
    executor.Executor().Do({}, {"model": [model]}, {"serving_model_dir": str(serving_dir)})
    record = json.loads((output_dir / executor.RECORD_FILE).read_text())
    return model, record


def test_the_newest_complete_version_is_copied_in_the_trainers_layout(tmp_path):
    serving_dir = tmp_path / "serving_model" / "pet-segmentation"
    push(serving_dir, 1700000000)
    newest = push(serving_dir, 1700000100)
    push(serving_dir, 1700000200, complete=False)  # a push cut short
    (serving_dir / "notes").mkdir()  # not a version

    model, record = find(serving_dir, tmp_path / "baseline")

    copied = tmp_path / "baseline" / "Format-Serving"
    assert (copied / "saved_model.pb").read_text() == "graph of 1700000100"
    assert (copied / "variables" / "variables.index").read_text() == "weights of 1700000100"
    assert record == {
        "serving_model_dir": str(serving_dir),
        "found": True,
        "pushed_version": "1700000100",
        "pushed_model_dir": str(newest),
    }
    assert model.get_int_custom_property("found") == 1
    assert model.get_string_custom_property("pushed_version") == "1700000100"
    assert model.get_string_custom_property("pushed_model_dir") == str(newest)


def test_a_missing_serving_directory_has_no_version():
    assert newest_version("/no/such/dir") is None


def test_numbers_not_names_decide_which_version_is_newest(tmp_path):
    push(tmp_path, 999)
    push(tmp_path, 1000)
    assert newest_version(str(tmp_path)) == str(tmp_path / "1000")


def test_nothing_pushed_yet_gives_a_record_and_no_model(tmp_path):
    push(tmp_path / "incomplete_only", 5, complete=False)
    for serving_dir in (tmp_path / "missing", tmp_path / "incomplete_only"):
        output_dir = tmp_path / f"baseline-{serving_dir.name}"

        model, record = find(serving_dir, output_dir)

        assert record == {"serving_model_dir": str(serving_dir), "found": False}
        assert model.get_int_custom_property("found") == 0
        assert os.listdir(output_dir) == [executor.RECORD_FILE]
