"""The pipeline compiles for open-source Kubeflow Pipelines 2.x and for Vertex AI.

The open-source backend's rules are checked on the compiled YAML as its API server and
compiler apply them (kubeflow/pipelines, backend/src: apiserver/template/v2_template.go,
v2/compiler/visitor.go, v2/driver/driver.go); kfp's own parser checks the proto.
"""

import json
import os
import re
import stat

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.utils import import_utils

import kubeflow_runner
from orchestration.kubeflow import compiler

IMAGE = "registry.example/pet-segmentation:test"


def compile_spec(tmp_path, *flags, target="kubeflow", documents=1):
    spec_path = tmp_path / compiler.DEFAULT_SPECS[target]
    kubeflow_runner.main(
        ["--target", target, "--output-dir", str(tmp_path / "shared"), "--image", IMAGE]
        + ["--spec", str(spec_path), *flags]
    )
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(spec_path.stat().st_mode) == 0o666 & ~umask  # like any file written
    if target == "kubeflow":
        written = list(yaml.safe_load_all(spec_path.read_text()))
        assert len(written) == documents
        return written[0] if documents == 1 else written
    return json.loads(spec_path.read_text())


def containers(spec):
    """Each task's container spec, by task name."""
    executors = spec["deploymentSpec"]["executors"]
    return {
        name: executors[spec["components"][task["componentRef"]["name"]]["executorLabel"]].get(
            "container"
        )
        for name, task in spec["root"]["dag"]["tasks"].items()
    }


def keys_anywhere(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys_anywhere(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys_anywhere(inner)


@pytest.fixture(scope="module")
def open_source_spec(tmp_path_factory):
    return compile_spec(
        tmp_path_factory.mktemp("kfp"), "--cpu", "2", "--memory", "8Gi", "--gpus", "1"
    )


def test_the_open_source_spec_follows_the_backends_rules(open_source_spec, component_ids):
    spec = open_source_spec
    # apiserver/template/v2_template.go: exactly 2.1.0, a bare PipelineSpec with a name.
    assert spec["schemaVersion"] == "2.1.0"
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # strict, as it parses
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", spec["pipelineInfo"]["name"])
    # v2/compiler/visitor.go: "non-container and non-importer executor not implemented".
    for label, executor in spec["deploymentSpec"]["executors"].items():
        assert set(executor) <= {"container", "importer"}, label
    # Its driver reads `constant`; the 2.0.0 `constantValue` is gone.
    assert "constantValue" not in set(keys_anywhere(spec))
    # No resolver: the baseline comes from the serving directory, and is never cached.
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == (component_ids - {"latest_blessed_model_resolver"}) | {"LatestPushedModel"}
    assert tasks["LatestPushedModel"]["cachingOptions"] == {"enableCache": False}
    assert tasks["Trainer"]["cachingOptions"] == {"enableCache": True}
    assert tasks["Evaluator"]["inputs"]["artifacts"]["baseline_model"] == {
        "taskOutputArtifact": {"producerTask": "LatestPushedModel", "outputArtifactKey": "model"}
    }


def test_every_task_runs_our_entrypoint_in_our_image_with_its_inputs_spec(open_source_spec):
    for name, container in containers(open_source_spec).items():
        assert container["image"] == IMAGE, name
        assert container["command"] == compiler.TASK_COMMAND, name
        args = container["args"]
        # The entrypoint fills in input types from this: the driver sends them empty.
        inputs_spec = json.loads(args[args.index("--json_serialized_inputs_spec_args") + 1])
        component = open_source_spec["components"][
            open_source_spec["root"]["dag"]["tasks"][name]["componentRef"]["name"]
        ]
        assert inputs_spec == component.get("inputDefinitions", {}), name
    example_gen = containers(open_source_spec)["TFDSExampleGen"]["args"]
    assert "components.tfds_example_gen.executor.Executor" in example_gen


def test_resources_are_in_the_fields_the_open_source_driver_reads(open_source_spec):
    for name, container in containers(open_source_spec).items():
        resources = container["resources"]
        assert resources["resourceCpuRequest"] == resources["resourceCpuLimit"] == "2"
        assert resources["resourceMemoryRequest"] == resources["resourceMemoryLimit"] == "8Gi"
        if name == "Trainer":
            assert resources["accelerator"] == {
                "resourceType": "nvidia.com/gpu",
                "resourceCount": "1",
            }
        else:
            assert "accelerator" not in resources, name


def test_a_pvc_is_mounted_in_every_task_by_a_platform_spec(tmp_path):
    spec, platform = compile_spec(
        tmp_path, "--pvc", "pets-data:/mnt/pets", "--pvc", "tfds:/mnt/tfds", documents=2
    )
    # As kfp-kubernetes's mount_pvc writes it, in the field every 2.x driver reads.
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(executors) == set(spec["deploymentSpec"]["executors"])
    for label, executor in executors.items():
        assert executor == {
            "pvcMount": [
                {"constant": "pets-data", "mountPath": "/mnt/pets"},
                {"constant": "tfds", "mountPath": "/mnt/tfds"},
            ]
        }, label


def test_the_vertex_job_keeps_tfxs_resolver_entrypoint_and_resource_fields(tmp_path, component_ids):
    job = compile_spec(
        tmp_path, "--cpu", "500m", "--memory", "8Gi", "--gpus", "2", "--gpu-type",
        "NVIDIA_TESLA_T4", target="vertex",
    )  # fmt: skip
    spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == "pet-segmentation"
    assert job["runtimeConfig"]["gcsOutputDirectory"].endswith(
        "shared/pipeline_root/pet-segmentation"
    )
    resolver = "latest_blessed_model_resolver"
    # TFX compiles its resolver into two resolver tasks, which Vertex AI runs.
    assert set(spec.root.dag.tasks) == (component_ids - {resolver}) | {
        f"{resolver}-model-resolver",
        f"{resolver}-model-blessing-resolver",
    }
    for name, container in containers(job["pipelineSpec"]).items():
        if container is None:
            continue  # the resolvers
        assert container["image"] == IMAGE
        assert "kubeflow_v2_run_executor" in " ".join(container["command"])
        resources = container["resources"]
        assert resources["cpuLimit"] == 0.5
        assert resources["memoryLimit"] == pytest.approx(8 * 2**30 / 1e9)
        if name == "Trainer":
            assert resources["accelerator"] == {"type": "NVIDIA_TESLA_T4", "count": "2"}


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--spec", "pipeline.json"], r"--spec pipeline.json: the kubeflow target writes .yaml"),
        (["--pipeline-name", "Pet_Segmentation"], "--pipeline-name 'Pet_Segmentation'"),
        (["--output-dir", "minio://mlpipeline/pets"], "no minio:// or s3:// filesystem"),
        (["--cpu", "two"], "--cpu 'two': use a Kubernetes CPU quantity"),
        (["--memory", "8GB"], "--memory '8GB': use a Kubernetes memory quantity"),
        (
            ["--target", "vertex", "--gpus", "1", "--spec", "out/pipeline.json"],
            "--gpus on Vertex AI needs --gpu-type",
        ),
        (["--loss", "hinge"], "Unknown loss 'hinge'"),
        (["--image-size", "100"], "image_size=100: .* multiple of 32"),
        (["--epochs", "0"], "epochs=0"),
        (["--pvc", "pets-data"], "--pvc 'pets-data': give a PersistentVolumeClaim's name"),
        (
            ["--target", "vertex", "--pvc", "a:/b", "--spec", "out/pipeline.json"],
            "--pvc is for open-source Kubeflow Pipelines",
        ),
        (["--blessing-metric", "f1"], "'f1' is not a metric"),
    ],
)
def test_bad_settings_fail_before_compiling_and_write_nothing(
    tmp_path, monkeypatch, flags, message
):
    monkeypatch.chdir(tmp_path)
    spec_path = tmp_path / "out" / "pipeline.yaml"
    base = ["--output-dir", str(tmp_path / "shared"), "--image", IMAGE]
    if "--spec" not in flags:
        base += ["--spec", str(spec_path)]
    with pytest.raises(SystemExit) as error:
        kubeflow_runner.main(base + flags)
    assert str(error.value).startswith("Configuration error: ")
    assert re.search(message, str(error.value)), error.value
    assert not spec_path.exists() and not (tmp_path / "out").exists()


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


@pytest.mark.parametrize("target", compiler.TARGETS)
@pytest.mark.parametrize("runner", sorted(RUNNER_ARGS))
def test_beam_args_reach_every_beam_powered_component(tmp_path, runner, target):
    beam_args = RUNNER_ARGS[runner]
    spec = compile_spec(tmp_path, *[f"--beam-arg={arg}" for arg in beam_args], target=target)
    executors = spec.get("pipelineSpec", spec)["deploymentSpec"]["executors"]

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
            own_flags = args.index("{{$}}") + 1
            if target == "kubeflow":
                own_flags += 2  # --json_serialized_inputs_spec_args and its value
            assert args[own_flags:] == beam_args, label
    assert beam_powered >= {"StatisticsGen", "Transform", "Evaluator"}


def test_a_folder_on_cloud_storage_reaches_the_spec_as_given_and_is_not_read_here(tmp_path, capsys):
    """This machine may have no credentials for the pods' bucket: the URI is kept (not
    made a local path) and nothing reads it before the pods do."""
    spec = compile_spec(tmp_path, "--oxford-dir", "gs://no-such-bucket/pets")
    task = spec["root"]["dag"]["tasks"]["FolderExampleGen"]
    assert task["inputs"]["parameters"]["root"]["runtimeValue"]["constant"] == (
        "gs://no-such-bucket/pets"
    )
    assert "Not checked here: gs://no-such-bucket/pets, which the pods read" in (
        capsys.readouterr().out
    )
