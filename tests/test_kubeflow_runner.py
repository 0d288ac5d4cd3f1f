"""The pipeline compiles for Kubeflow Pipelines v2, and kfp's own parser accepts the spec."""

import json

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

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

    # Beam arguments reach every Beam-powered component.
    for beam_component in ["StatisticsGen", "Transform", "Evaluator"]:
        assert "--runner=DataflowRunner" in container(beam_component)["args"], beam_component
