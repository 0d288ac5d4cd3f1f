"""The pipeline compiles for Kubeflow Pipelines v2, and kfp's own parser accepts the spec."""

import json

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.utils import import_utils

import kubeflow_runner

IMAGE = "registry.example/pet-segmentation:test"


def test_compiled_spec_is_valid_kfp_v2_with_our_image_and_executors(tmp_path, component_ids):
    spec_path = tmp_path / "pipeline.json"
    kubeflow_runner.main(
        [
            "--output-dir",
            str(tmp_path / "root"),
            "--image",
            IMAGE,
            "--spec",
            str(spec_path),
            "--beam-arg=--runner=DataflowRunner",
            "--beam-arg=--region=europe-west4",
        ]
    )
    job = json.loads(spec_path.read_text())
    spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == "pet-segmentation"
    assert job["runtimeConfig"]["gcsOutputDirectory"].endswith(
        "root/pipeline_root/pet-segmentation"
    )

    tasks = spec.root.dag.tasks
    resolver = "latest_blessed_model_resolver"
    # KFP v2 has no resolver node: TFX compiles it into two resolver tasks.
    assert set(tasks) == (component_ids - {resolver}) | {
        f"{resolver}-model-resolver",
        f"{resolver}-model-blessing-resolver",
    }
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]

    def container(task_name):
        component = spec.components[tasks[task_name].component_ref.name]
        return executors[component.executor_label]["container"]

    for task_name in component_ids - {resolver}:
        assert container(task_name)["image"] == IMAGE, task_name
    example_gen = container("TFDSExampleGen")
    arguments = " ".join(example_gen["args"])
    assert "components.tfds_example_gen.executor.Executor" in arguments
    assert "kubeflow_v2_run_executor" in " ".join(example_gen["command"])


# Beam arguments for each distributed runner; the Flink and Spark workers reach the SDK
# harness through an external environment (a worker pool beside each worker).
RUNNER_ARGS = {
    "dataflow": [
        "--runner=DataflowRunner",
        "--project=my-project",
        "--region=europe-west4",
        "--temp_location=gs://my-bucket/beam-tmp",
    ],
    "flink": [
        "--runner=FlinkRunner",
        "--flink_master=flink-jobmanager:8081",
        "--environment_type=EXTERNAL",
        "--environment_config=localhost:50000",
    ],
    "spark": [
        "--runner=SparkRunner",
        "--spark_master_url=spark://spark-master:7077",
        "--environment_type=EXTERNAL",
        "--environment_config=localhost:50000",
    ],
}


@pytest.mark.parametrize("runner", sorted(RUNNER_ARGS))
def test_beam_args_reach_every_beam_powered_component(tmp_path, runner):
    beam_args = RUNNER_ARGS[runner]
    spec_path = tmp_path / "pipeline.json"
    kubeflow_runner.main(
        ["--output-dir", str(tmp_path / "root"), "--image", IMAGE, "--spec", str(spec_path)]
        + [f"--beam-arg={arg}" for arg in beam_args]
    )
    executors = json.loads(spec_path.read_text())["pipelineSpec"]["deploymentSpec"]["executors"]

    beam_powered = set()
    for label, executor in executors.items():
        if "container" not in executor:
            continue  # the resolvers run no code of ours
        args = executor["container"]["args"]
        executor_class = import_utils.import_class_by_path(
            args[args.index("--executor_class_path") + 1]
        )
        if issubclass(executor_class, base_beam_executor.BaseBeamExecutor):
            beam_powered.add(label.removesuffix("_executor"))
            # The entrypoint hands whatever follows its own flags to Beam: exactly ours,
            # in order, with the local defaults (in-memory DirectRunner) replaced.
            assert args[args.index("{{$}}") + 1 :] == beam_args, label
    assert beam_powered >= {"StatisticsGen", "Transform", "Evaluator"}
