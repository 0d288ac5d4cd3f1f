"""The task command takes executor inputs shaped as the open-source KFP driver writes them."""

import json
import os
import subprocess
import sys

import pytest

from orchestration.kubeflow import entrypoint

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
EXAMPLES_SCHEMA = (
    "title: tfx.Examples\ntype: object\nproperties:\n  split_names:\n    type: string\n"
)
MODEL_SCHEMA = "title: tfx.Model\ntype: object\n"


def open_source_input(output_file, bucket="mlpipeline/v2/artifacts/pet/run-1"):
    """An executor input as KFP 2.x's driver and launcher give it (backend/src/v2)."""
    return {
        "inputs": {
            "parameterValues": {"steps": 3, "name": "tiny"},
            "artifacts": {
                "examples": {
                    "artifacts": [
                        {
                            "name": "42",  # the ML Metadata id
                            "type": {"instanceSchema": ""},  # the driver leaves it empty
                            "uri": f"minio://{bucket}/ExampleGen/1a2b/examples",
                            "metadata": {
                                "split_names": '["train", "eval"]',
                                "display_name": "examples",
                                "store_session_info": '{"Provider": "minio"}',
                            },
                        }
                    ]
                }
            },
        },
        "outputs": {
            "artifacts": {
                "model": {
                    "artifacts": [
                        {
                            "name": "model",
                            "type": {"instanceSchema": MODEL_SCHEMA},
                            "uri": f"minio://{bucket}/Trainer/3c4d/model",
                            "metadata": {},
                        }
                    ]
                },
                "executor-logs": {
                    "artifacts": [
                        {
                            "name": "executor-logs",
                            "type": {"schemaTitle": "system.Artifact"},
                            "uri": f"minio://{bucket}/Trainer/3c4d/executor-logs",
                        }
                    ]
                },
            },
            "outputFile": str(output_file),
        },
    }


INPUTS_SPEC = {
    "artifacts": {"examples": {"artifactType": {"instanceSchema": EXAMPLES_SCHEMA}}},
    "parameters": {
        "steps": {"parameterType": "NUMBER_INTEGER"},
        "name": {"parameterType": "STRING"},
    },
}


def test_uris_map_to_the_launchers_local_paths_and_back():
    assert entrypoint.local_path("minio://mlpipeline/a/b") == "/minio/mlpipeline/a/b"
    assert entrypoint.local_path("gs://bucket/a") == "/gcs/bucket/a"
    assert entrypoint.local_path("s3://bucket/a", "/scratch") == "/scratch/s3/bucket/a"
    assert entrypoint.local_path("/mnt/volume/a") == "/mnt/volume/a"  # a mounted volume
    for uri in ("minio://mlpipeline/a/b", "gs://bucket/a", "s3://b/c", "/mnt/volume/a"):
        assert entrypoint.remote_uri(entrypoint.local_path(uri, "/r"), "/r") == uri
    assert entrypoint.remote_uri("/miniofake/a") == "/miniofake/a"


def test_the_input_gets_its_type_local_uris_and_no_logs_output(tmp_path):
    executor_input = open_source_input(tmp_path / "out.json")

    adapted = entrypoint.adapt_executor_input(executor_input, INPUTS_SPEC, "/")

    [examples] = adapted["inputs"]["artifacts"]["examples"]["artifacts"]
    assert examples["type"] == {"instanceSchema": EXAMPLES_SCHEMA}
    assert examples["uri"] == "/minio/mlpipeline/v2/artifacts/pet/run-1/ExampleGen/1a2b/examples"
    assert examples["name"] == "42" and examples["metadata"]["split_names"] == '["train", "eval"]'
    assert set(adapted["outputs"]["artifacts"]) == {"model"}
    [model] = adapted["outputs"]["artifacts"]["model"]["artifacts"]
    assert model["uri"] == "/minio/mlpipeline/v2/artifacts/pet/run-1/Trainer/3c4d/model"
    assert model["type"] == {"instanceSchema": MODEL_SCHEMA}  # already there: kept
    # The launcher's input itself is left as it was.
    assert executor_input["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"] == {
        "instanceSchema": ""
    }


def test_an_untyped_input_that_the_spec_does_not_declare_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="'examples' has no type.*--target kubeflow"):
        entrypoint.adapt_executor_input(open_source_input(tmp_path / "o.json"), {}, "/")


def test_the_executor_output_names_remote_uris_again():
    output = {
        "artifacts": {
            "blessing": {
                "artifacts": [
                    {
                        "uri": "/scratch/minio/b/Evaluator/9/blessing",
                        "metadata": {
                            "current_model_uri": "/scratch/minio/b/Trainer/3/model",
                            "blessed": 1.0,
                            "pushed_destination": "/mnt/volume/serving/1",
                        },
                    }
                ]
            }
        }
    }

    restored = entrypoint.restore_executor_output(output, "/scratch")

    [blessing] = restored["artifacts"]["blessing"]["artifacts"]
    assert blessing["uri"] == "minio://b/Evaluator/9/blessing"
    assert blessing["metadata"] == {
        "current_model_uri": "minio://b/Trainer/3/model",
        "blessed": 1.0,
        "pushed_destination": "/mnt/volume/serving/1",
    }


def test_tfx_runs_an_executor_from_an_open_source_executor_input(tmp_path):
    """TFX's real entrypoint, through ours: input class, paths, parameters, output file."""
    root = tmp_path / "launcher"
    examples_dir = root / "minio/mlpipeline/v2/artifacts/pet/run-1/ExampleGen/1a2b/examples"
    examples_dir.mkdir(parents=True)  # what the launcher downloaded
    output_file = tmp_path / "kfp_outputs" / "output_metadata.json"
    command = [
        sys.executable,
        "-m",
        "orchestration.kubeflow.entrypoint",
        "--executor_class_path",
        "tests.orchestration.kubeflow.echo_executor.Executor",
        entrypoint.INVOCATION_FLAG,
        json.dumps(open_source_input(output_file)),
        entrypoint.INPUTS_SPEC_FLAG,
        json.dumps(INPUTS_SPEC),
    ]
    environment = {
        **os.environ,
        entrypoint.LOCAL_ROOT_VARIABLE: str(root),
        "PYTHONPATH": PROJECT_DIR,
    }

    finished = subprocess.run(
        command, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )

    assert finished.returncode == 0, finished.stderr[-3000:]
    model_dir = root / "minio/mlpipeline/v2/artifacts/pet/run-1/Trainer/3c4d/model"
    seen = json.loads((model_dir / "seen.json").read_text())
    assert seen["inputs"]["examples"] == [
        {"class": "Examples", "uri": str(examples_dir), "split_names": '["train", "eval"]'}
    ]
    assert seen["outputs"] == {"model": [str(model_dir)]}  # no executor-logs
    assert seen["exec_properties"] == {"steps": 3, "name": "tiny"}
    reported = json.loads(output_file.read_text())
    assert set(reported["artifacts"]) == {"model"}
    [model] = reported["artifacts"]["model"]["artifacts"]
    assert model["uri"] == "minio://mlpipeline/v2/artifacts/pet/run-1/Trainer/3c4d/model"
    assert model["metadata"]["examples_uri"] == (
        "minio://mlpipeline/v2/artifacts/pet/run-1/ExampleGen/1a2b/examples"
    )
