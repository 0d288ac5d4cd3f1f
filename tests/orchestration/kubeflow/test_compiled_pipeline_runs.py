"""The compiled pipeline runs twice as each Kubeflow backend would run it, and the
regression gate holds on each: with LatestPushedModel where no resolver runs (open-source
Kubeflow Pipelines), with TFX's resolver on Vertex AI.

Each run is the tiny pipeline, compiled with kubeflow_runner.py and run task by task by
the local harness: for open-source KFP in its image built with podman (as pods), or as
subprocesses where podman is missing; for Vertex AI as subprocesses. The first run trains
for 120 steps and is blessed and pushed; the second trains a candidate for 1 step, which
is compared with the first run's model: it is not blessed, and serving keeps the good one.
"""

import json
import os

import pytest
import tensorflow_model_analysis as tfma

import kubeflow_runner
from orchestration.kubeflow import entrypoint, local_harness
from tests.conftest import tiny_runner_flags

pytestmark = pytest.mark.slow  # two pipeline runs each: 5 to 10 minutes on 2 cores

RESOLVER = "latest_blessed_model_resolver-model-resolver"  # TFX's, on Vertex AI


class Runs:
    """Where a backend's two runs keep their files, and how to read them back."""

    def __init__(self, root, backend, image):
        self.backend, self.image = backend, image
        self.shared, self.store = root / "shared", root / "store"
        self.shared.mkdir()
        self.serving_dir = self.shared / "outputs" / "serving_model" / "pet-segmentation"

    def compile_and_run(self, name, train_steps):
        flags = tiny_runner_flags(self.shared / "tfds", train_steps=train_steps)
        flags += ["--output-dir", str(self.shared / "outputs")]
        if self.backend == "kubeflow":
            spec_path = self.shared.parent / f"{name}.yaml"
            # The volume every pod mounts: the harness mounts this machine's directory there.
            flags += ["--pvc", f"shared:{self.shared}"]
        else:
            spec_path = self.shared.parent / f"{name}.json"
        kubeflow_runner.main(
            ["--target", self.backend, "--spec", str(spec_path)]
            + ["--image", self.image or "unused-by-subprocesses", *flags]
        )
        store = str(self.store) if self.backend == "kubeflow" else None  # Vertex: no store
        results = local_harness.run_pipeline(str(spec_path), store=store, image=self.image)
        assert [r.status for r in results] == ["SUCCEEDED"] * len(results), [
            (r.name, r.status, r.note) for r in results
        ]
        # Every task of the spec ran, each after the tasks it takes inputs from.
        tasks = local_harness.load_job(str(spec_path))["pipelineSpec"]["root"]["dag"]["tasks"]
        position = {result.name: index for index, result in enumerate(results)}
        assert set(position) == set(tasks)
        for name, task in tasks.items():
            for upstream in task.get("dependentTasks", []) + local_harness.producers(task):
                assert position[upstream] < position[name], (upstream, name)
        return {result.name: result for result in results}

    def local(self, artifact) -> str:
        """Where an artifact's files are on this machine."""
        return entrypoint.local_path(artifact["uri"], str(self.store))


def output(run, task, key):
    [artifact] = run[task].artifacts[key]
    return artifact


@pytest.fixture(
    scope="module", params=["kubeflow-image", "kubeflow-subprocesses", "vertex-subprocesses"]
)
def two_runs(request, tmp_path_factory):
    backend = request.param.split("-")[0]
    image = request.getfixturevalue("project_image") if request.param.endswith("image") else None
    runs = Runs(tmp_path_factory.mktemp(request.param), backend, image)
    good = runs.compile_and_run("good", train_steps=120)
    worse = runs.compile_and_run("worse", train_steps=1)
    return runs, good, worse


def test_the_first_run_has_no_baseline_and_pushes(two_runs):
    runs, good, _ = two_runs
    if runs.backend == "kubeflow":
        assert output(good, "LatestPushedModel", "model")["metadata"]["found"] == 0
        # Artifacts are in the object store, under the remote URIs the launcher recorded.
        examples = output(good, "TFDSExampleGen", "examples")
        assert examples["uri"].startswith(local_harness.DEFAULT_OPEN_SOURCE_ROOT)
        assert sorted(os.listdir(runs.local(examples))) == ["Split-eval", "Split-train"]
    else:
        assert good[RESOLVER].artifacts == {"model": []}
    assert output(good, "Evaluator", "blessing")["metadata"]["blessed"] == 1
    pushed = output(good, "Pusher", "pushed_model")["metadata"]
    assert pushed["pushed"] == 1
    assert os.listdir(runs.serving_dir) == [pushed["pushed_version"]]
    assert (runs.serving_dir / pushed["pushed_version"] / "saved_model.pb").is_file()


def test_the_second_run_compares_with_the_first_model_and_does_not_push(two_runs):
    runs, good, worse = two_runs
    pushed_version = output(good, "Pusher", "pushed_model")["metadata"]["pushed_version"]
    if runs.backend == "kubeflow":
        baseline = output(worse, "LatestPushedModel", "model")
        assert baseline["metadata"]["found"] == 1
        assert baseline["metadata"]["pushed_version"] == pushed_version
        with open(os.path.join(runs.local(baseline), "baseline.json")) as file:
            record = json.load(file)
        assert record["found"] is True and record["pushed_version"] == pushed_version
    else:
        assert output(worse, RESOLVER, "model")["uri"] == output(good, "Trainer", "model")["uri"]

    assert output(worse, "Evaluator", "blessing")["metadata"]["blessed"] == 0
    evaluation = runs.local(output(worse, "Evaluator", "evaluation"))
    validation = tfma.load_validation_result(evaluation)
    assert not validation.validation_ok
    failures = [f for s in validation.metric_validations_per_slice for f in s.failures]
    # Failed on the regression rule alone: mean Dice's change against the baseline.
    [failure] = failures
    assert failure.metric_key.name == "mean_dice" and failure.metric_key.is_diff
    assert failure.metric_threshold.HasField("change_threshold")

    assert output(worse, "Pusher", "pushed_model")["metadata"]["pushed"] == 0
    assert os.listdir(runs.serving_dir) == [pushed_version]
