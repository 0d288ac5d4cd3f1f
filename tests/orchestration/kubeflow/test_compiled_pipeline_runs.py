"""The compiled pipeline runs twice as open-source Kubeflow Pipelines would run it, and the
regression gate holds without a resolver.

Each run is the tiny pipeline, compiled with kubeflow_runner.py --target kubeflow and run
task by task by the local harness in its open-source mode: in the project's image built
with podman (as pods), or as subprocesses where podman is missing. The first run trains for
120 steps and is blessed and pushed; the second trains a candidate for 1 step, which
LatestPushedModel compares with the first run's pushed model: it is not blessed, and
serving keeps the good model.
"""

import json
import os

import pytest
import tensorflow_model_analysis as tfma

import kubeflow_runner
from orchestration.kubeflow import entrypoint, local_harness
from tests.conftest import tiny_runner_flags

pytestmark = pytest.mark.slow  # two pipeline runs: about 6 minutes each on 2 cores


def compile_and_run(shared, store, name, train_steps, image):
    spec_path = shared.parent / f"{name}.yaml"
    kubeflow_runner.main(
        [
            "--output-dir", str(shared / "outputs"),
            "--image", image or "unused-without-podman",
            "--spec", str(spec_path),
            # The volume every pod mounts: the harness mounts this machine's directory there.
            "--pvc", f"shared:{shared}",
            *tiny_runner_flags(shared / "tfds", train_steps=train_steps),
        ]
    )  # fmt: skip
    results = local_harness.run_pipeline(str(spec_path), store=str(store), image=image)
    assert [r.status for r in results] == ["SUCCEEDED"] * len(results), [
        (r.name, r.status, r.note) for r in results
    ]
    return {result.name: result for result in results}


def output(run, task, key):
    [artifact] = run[task].artifacts[key]
    return artifact


@pytest.fixture(scope="module", params=["image", "subprocess"])
def two_runs(request, tmp_path_factory):
    image = request.getfixturevalue("project_image") if request.param == "image" else None
    root = tmp_path_factory.mktemp(request.param)
    shared, store = root / "shared", root / "store"
    shared.mkdir()
    good = compile_and_run(shared, store, "good", train_steps=120, image=image)
    worse = compile_and_run(shared, store, "worse", train_steps=1, image=image)
    return shared, store, good, worse


def test_the_first_run_has_no_baseline_and_pushes(two_runs):
    shared, store, good, _ = two_runs
    baseline = output(good, "LatestPushedModel", "model")
    assert baseline["metadata"]["found"] == 0
    assert output(good, "Evaluator", "blessing")["metadata"]["blessed"] == 1
    pushed = output(good, "Pusher", "pushed_model")["metadata"]
    assert pushed["pushed"] == 1
    serving_dir = shared / "outputs" / "serving_model" / "pet-segmentation"
    assert os.listdir(serving_dir) == [pushed["pushed_version"]]
    assert (serving_dir / pushed["pushed_version"] / "saved_model.pb").is_file()
    # Artifacts are in the object store, under the remote URIs the launcher recorded.
    examples = output(good, "TFDSExampleGen", "examples")
    assert examples["uri"].startswith(local_harness.DEFAULT_OPEN_SOURCE_ROOT)
    stored = entrypoint.local_path(examples["uri"], str(store))
    assert sorted(os.listdir(stored)) == ["Split-eval", "Split-train"]


def test_the_second_run_compares_with_the_pushed_model_and_does_not_push(two_runs):
    shared, store, good, worse = two_runs
    pushed_version = output(good, "Pusher", "pushed_model")["metadata"]["pushed_version"]
    baseline = output(worse, "LatestPushedModel", "model")
    assert baseline["metadata"]["found"] == 1
    assert baseline["metadata"]["pushed_version"] == pushed_version
    record = json.loads(
        open(
            os.path.join(entrypoint.local_path(baseline["uri"], str(store)), "baseline.json")
        ).read()
    )
    assert record["found"] is True and record["pushed_version"] == pushed_version

    assert output(worse, "Evaluator", "blessing")["metadata"]["blessed"] == 0
    evaluation = entrypoint.local_path(output(worse, "Evaluator", "evaluation")["uri"], str(store))
    validation = tfma.load_validation_result(evaluation)
    assert not validation.validation_ok
    failures = [f for s in validation.metric_validations_per_slice for f in s.failures]
    # Failed on the regression rule alone: mean Dice's change against the baseline.
    [failure] = failures
    assert failure.metric_key.name == "mean_dice" and failure.metric_key.is_diff
    assert failure.metric_threshold.HasField("change_threshold")

    assert output(worse, "Pusher", "pushed_model")["metadata"]["pushed"] == 0
    serving_dir = shared / "outputs" / "serving_model" / "pet-segmentation"
    assert os.listdir(serving_dir) == [pushed_version]
