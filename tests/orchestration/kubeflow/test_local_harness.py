"""The local harness runs a compiled KFP v2 spec as a Kubeflow cluster would.

A small hand-written spec checks the mechanics in seconds: the executor input each task
gets, placeholders, resolvers across runs, an importer, failures. The slow tests
(test_compiled_pipeline_runs.py) compile the real pipeline and run it end to end.
"""

import json
import os
import re

import pytest
import yaml

from orchestration.kubeflow import local_harness

# A task of the small spec: saves what it was given beside each output, and reports its
# outputs in executor_output.json as TFX's entrypoint does (a blessing names its model).
TASK_SCRIPT = """
import json, os, sys
executor_input = json.loads(sys.argv[1])
inputs, outputs = executor_input["inputs"], executor_input["outputs"]
reported = {"artifacts": {}}
for key, artifacts in outputs["artifacts"].items():
    artifact = artifacts["artifacts"][0]
    os.makedirs(artifact["uri"])
    with open(os.path.join(artifact["uri"], "given.json"), "w") as file:
        json.dump({"executor_input": executor_input, "args": sys.argv[2:]}, file)
    metadata = {}
    if key == "blessing":
        model = inputs["artifacts"]["model"]["artifacts"][0]
        metadata = {"blessed": 1, "current_model_id": model["name"]}
    reported["artifacts"][key] = {"artifacts": [{**artifact, "metadata": metadata}]}
with open(outputs["outputFile"], "w") as file:
    json.dump(reported, file)
"""


def artifact_type(title):
    return {"instanceSchema": f"title: {title}\ntype: object\n"}  # as TFX writes them


def from_task(producer, key):
    return {"taskOutputArtifact": {"producerTask": producer, "outputArtifactKey": key}}


def small_job(pipeline_root, train_command=("python", "-c", TASK_SCRIPT)):
    """import_data -> train -> evaluate, with TFX's pair of latest-blessed-model resolvers."""
    components = {
        "import_data": {
            "executorLabel": "import_data",
            "outputDefinitions": {"artifacts": {"result": {"artifactType": {}}}},
        },
        "train": {
            "executorLabel": "train",
            "inputDefinitions": {
                "parameters": {"greeting": {"type": "STRING"}, "steps": {"type": "INT"}},
                "artifacts": {"examples": {}},
            },
            "outputDefinitions": {
                "artifacts": {"model": {"artifactType": artifact_type("tfx.Model")}}
            },
        },
        "evaluate": {
            "executorLabel": "evaluate",
            "inputDefinitions": {"artifacts": {"model": {}, "baseline_model": {}}},
            "outputDefinitions": {
                "artifacts": {"blessing": {"artifactType": artifact_type("tfx.ModelBlessing")}}
            },
        },
        "blessing_resolver": {
            "executorLabel": "blessing_resolver",
            "outputDefinitions": {"artifacts": {"model_blessing": {}}},
        },
        "model_resolver": {
            "executorLabel": "model_resolver",
            "inputDefinitions": {"artifacts": {"input": {}}},
            "outputDefinitions": {"artifacts": {"model": {}}},
        },
    }
    container = {"command": ["python", "-c", TASK_SCRIPT], "args": ["{{$}}"], "image": "x"}
    current_model = "{{$.inputs.artifacts['input'].metadata['current_model_id']}}"
    executors = {
        "import_data": {
            "importer": {
                "artifactUri": {"constantValue": {"stringValue": "/data/examples"}},
                "typeSchema": artifact_type("tfx.Examples"),
            }
        },
        "train": {
            "container": {
                "command": list(train_command),
                "args": ["{{$}}", "{{$.inputs.parameters['greeting']}}", "{{$.pipeline_root}}"],
                "image": "x",
            }
        },
        "evaluate": {"container": container},
        "blessing_resolver": {
            "resolver": {
                "outputArtifactQueries": {
                    "model_blessing": {
                        "filter": 'schema_title="tfx.ModelBlessing" AND state=LIVE AND '
                        "metadata.blessed.number_value=1"
                    }
                }
            }
        },
        "model_resolver": {
            "resolver": {
                "outputArtifactQueries": {
                    "model": {
                        "filter": 'schema_title="tfx.Model" AND state=LIVE AND '
                        f'name="{current_model}"'
                    }
                }
            }
        },
    }
    tasks = {
        "import_data": {"componentRef": {"name": "import_data"}},
        "train": {
            "componentRef": {"name": "train"},
            "dependentTasks": ["import_data"],
            "inputs": {
                "parameters": {
                    "greeting": {"runtimeValue": {"constantValue": {"stringValue": "hello"}}},
                    "steps": {"runtimeValue": {"constantValue": {"intValue": "3"}}},
                },
                "artifacts": {"examples": from_task("import_data", "result")},
            },
        },
        "evaluate": {
            "componentRef": {"name": "evaluate"},
            "dependentTasks": ["train", "model_resolver"],
            "inputs": {
                "artifacts": {
                    "model": from_task("train", "model"),
                    "baseline_model": from_task("model_resolver", "model"),
                }
            },
        },
        "blessing_resolver": {"componentRef": {"name": "blessing_resolver"}},
        "model_resolver": {
            "componentRef": {"name": "model_resolver"},
            "inputs": {"artifacts": {"input": from_task("blessing_resolver", "model_blessing")}},
        },
    }
    return {
        "pipelineSpec": {
            "pipelineInfo": {"name": "small"},
            "components": components,
            "deploymentSpec": {"executors": executors},
            "root": {"dag": {"tasks": tasks}},
        },
        "runtimeConfig": {"gcsOutputDirectory": str(pipeline_root)},
    }


def given(result, output_key):
    """What a task of the small spec was given: its executor input and its other args."""
    [artifact] = result.artifacts[output_key]
    with open(os.path.join(artifact["uri"], "given.json")) as file:
        return json.load(file)


def test_tasks_get_what_a_kfp_launcher_gives_them_and_resolve_across_runs(tmp_path):
    spec_path = tmp_path / "small.json"
    spec_path.write_text(json.dumps(small_job(tmp_path / "root")))
    lines = []

    first = {r.name: r for r in local_harness.run_pipeline(str(spec_path), report=lines.append)}

    assert list(first) == [
        "blessing_resolver",
        "import_data",
        "model_resolver",
        "train",
        "evaluate",
    ]
    assert {r.status for r in first.values()} == {"SUCCEEDED"}
    assert len(lines) == len(first) + 1  # one line per task, then where the run is
    assert "model_resolver" in lines[2] and "resolved nothing" in lines[2]

    train = given(first["train"], "model")
    inputs = train["executor_input"]["inputs"]
    # Parameters in both forms: the current one and the one TFX reads from 2.0.0 specs.
    assert inputs["parameterValues"] == {"greeting": "hello", "steps": 3}
    assert inputs["parameters"] == {
        "greeting": {"stringValue": "hello"},
        "steps": {"intValue": "3"},
    }
    assert inputs["artifacts"]["examples"]["artifacts"][0]["uri"] == "/data/examples"
    assert train["args"] == ["hello", str(tmp_path / "root")]
    model_uri = first["train"].artifacts["model"][0]["uri"]
    assert model_uri.startswith(str(tmp_path / "root" / "small-"))
    assert model_uri.endswith("/train/model")

    evaluate = given(first["evaluate"], "blessing")["executor_input"]
    assert evaluate["inputs"]["artifacts"]["model"]["artifacts"][0]["uri"] == model_uri
    assert "baseline_model" not in evaluate["inputs"]["artifacts"]  # nothing blessed yet
    assert evaluate["outputs"]["outputFile"].endswith("/evaluate/executor_output.json")

    # The second run finds the first run's blessed model through both resolvers.
    second = {r.name: r for r in local_harness.run_pipeline(str(spec_path), report=lines.append)}
    assert second["model_resolver"].artifacts["model"][0]["uri"] == model_uri
    evaluate = given(second["evaluate"], "blessing")["executor_input"]
    baseline = evaluate["inputs"]["artifacts"]["baseline_model"]["artifacts"][0]
    assert baseline["uri"] == model_uri
    assert evaluate["inputs"]["artifacts"]["model"]["artifacts"][0]["uri"] != model_uri


def test_a_bare_yaml_spec_runs_with_a_pipeline_root_given(tmp_path):
    spec_path = tmp_path / "small.yaml"
    spec_path.write_text(yaml.safe_dump(small_job(tmp_path / "unused")["pipelineSpec"]))

    results = local_harness.run_pipeline(
        str(spec_path), str(tmp_path / "root"), report=print, backend="vertex"
    )

    assert {r.status for r in results} == {"SUCCEEDED"}
    assert (tmp_path / "root" / local_harness.ARTIFACT_STORE).is_file()


def test_a_failing_task_stops_the_run_and_the_exit_status_says_so(tmp_path, capsys):
    failing = ("python", "-c", "import sys; print('out of cheese'); sys.exit(3)")
    spec_path = tmp_path / "small.json"
    spec_path.write_text(json.dumps(small_job(tmp_path / "root", train_command=failing)))

    with pytest.raises(SystemExit) as exit_info:
        local_harness.main([str(spec_path)])

    assert exit_info.value.code == 1
    output = capsys.readouterr()
    assert "out of cheese" in output.err  # the failed task's log
    lines = {line.split()[0]: line for line in output.out.splitlines()[:5]}
    assert " FAILED " in lines["train"]
    assert " NOT RUN " in lines["evaluate"]


# A task of the small open-source spec: as TFX's tasks behind our entrypoint, it finds the
# launcher's local path of each URI, reads what was downloaded, and reports metadata.
OPEN_SOURCE_TASK_SCRIPT = """
import json, os, sys
from orchestration.kubeflow.entrypoint import LOCAL_ROOT_VARIABLE, local_path
root = os.environ[LOCAL_ROOT_VARIABLE]
executor_input = json.loads(sys.argv[1])
inputs, outputs = executor_input["inputs"], executor_input["outputs"]
print("the task's own output")
read = {}
for key, artifacts in inputs.get("artifacts", {}).items():
    with open(os.path.join(local_path(artifacts["artifacts"][0]["uri"], root), "data")) as file:
        read[key] = file.read()
reported = {"artifacts": {}}
for key, artifacts in outputs["artifacts"].items():
    if key == "executor-logs":
        continue
    artifact = artifacts["artifacts"][0]
    path = local_path(artifact["uri"], root)
    os.makedirs(path)
    with open(os.path.join(path, "data"), "w") as file:
        file.write(f"{key} of {sys.argv[2]}")
    with open(os.path.join(path, "given.json"), "w") as file:
        json.dump({"executor_input": executor_input, "read": read}, file)
    metadata = {"steps": 3, "splits": ["train", "eval"], "ok": True}
    reported["artifacts"][key] = {"artifacts": [{"uri": artifact["uri"], "metadata": metadata}]}
with open(outputs["outputFile"], "w") as file:
    json.dump(reported, file)
"""


def small_open_source_spec(resolver=False):
    """train -> evaluate in schema 2.1.0, as kubeflow_runner.py --target kubeflow writes."""
    container = {
        "command": ["python", "-c", OPEN_SOURCE_TASK_SCRIPT],
        "args": ["{{$}}", "{{$.inputs.parameters['greeting']}}"],
        "image": "x",
    }
    spec = {
        "schemaVersion": "2.1.0",
        "pipelineInfo": {"name": "small"},
        "components": {
            "train": {
                "executorLabel": "train",
                "inputDefinitions": {"parameters": {"greeting": {"parameterType": "STRING"}}},
                "outputDefinitions": {
                    "artifacts": {"model": {"artifactType": artifact_type("tfx.Model")}}
                },
            },
            "evaluate": {
                "executorLabel": "evaluate",
                "inputDefinitions": {
                    "artifacts": {"model": {"artifactType": artifact_type("tfx.Model")}},
                    "parameters": {"greeting": {"parameterType": "STRING"}},
                },
                "outputDefinitions": {
                    "artifacts": {"blessing": {"artifactType": artifact_type("tfx.ModelBlessing")}}
                },
            },
        },
        "deploymentSpec": {"executors": {"train": {"container": container},
                                         "evaluate": {"container": container}}},
        "root": {
            "dag": {
                "tasks": {
                    "train": {
                        "componentRef": {"name": "train"},
                        "inputs": {
                            "parameters": {"greeting": {"runtimeValue": {"constant": "hi"}}}
                        },
                    },
                    "evaluate": {
                        "componentRef": {"name": "evaluate"},
                        "dependentTasks": ["train"],
                        "inputs": {
                            "artifacts": {"model": from_task("train", "model")},
                            "parameters": {"greeting": {"runtimeValue": {"constant": "ev"}}},
                        },
                    },
                }
            }
        },
    }  # fmt: skip
    if resolver:
        spec["deploymentSpec"]["executors"]["evaluate"] = {
            "resolver": {"outputArtifactQueries": {}}
        }
    return spec


def test_open_source_mode_gives_tasks_what_its_driver_and_launcher_give(tmp_path):
    spec_path = tmp_path / "small.yaml"
    spec_path.write_text(yaml.safe_dump(small_open_source_spec()))
    store = tmp_path / "store"

    results = {r.name: r for r in local_harness.run_pipeline(str(spec_path), store=str(store))}

    assert [r.status for r in results.values()] == ["SUCCEEDED", "SUCCEEDED"]
    [model] = results["train"].artifacts["model"]
    run_id = model["uri"].split("/")[6]
    # The driver's layout under the default root: <root>/<pipeline>/<run>/<task>/<uuid>/<key>.
    assert re.fullmatch(
        rf"minio://mlpipeline/v2/artifacts/small/{run_id}/train/[0-9a-f]{{8}}/model", model["uri"]
    )
    # Uploaded to the store; the pod's disk is gone.
    uploaded = store / "minio" / model["uri"].removeprefix("minio://")
    assert (uploaded / "data").read_text() == "model of hi"
    assert not (store / "runs" / run_id / "train" / "pod").exists()
    # The launcher's own executor-logs output holds what the command printed.
    [logs] = results["train"].artifacts["executor-logs"]
    assert "the task's own output" in (store / "minio" / logs["uri"][8:]).read_text()

    evaluate = json.loads(
        (
            store / "minio" / results["evaluate"].artifacts["blessing"][0]["uri"][8:] / "given.json"
        ).read_text()
    )
    [given_model] = evaluate["executor_input"]["inputs"]["artifacts"]["model"]["artifacts"]
    assert given_model["name"] == str(model["id"]) and given_model["name"].isdigit()
    assert given_model["type"] == {"instanceSchema": ""}
    assert given_model["uri"] == model["uri"]
    # Metadata as ML Metadata gives it back: a boolean as a number, a list wrapped.
    assert given_model["metadata"] == {
        "steps": 3,
        "splits": {"list": ["train", "eval"]},
        "ok": 1,
        "display_name": "model",
        "store_session_info": '{"Provider": "minio"}',
    }
    assert evaluate["read"] == {"model": "model of hi"}  # downloaded before the command
    outputs = evaluate["executor_input"]["outputs"]
    assert outputs["artifacts"]["executor-logs"]["artifacts"][0]["type"] == {
        "schemaTitle": "system.Artifact"
    }
    assert outputs["outputFile"].endswith("/pod/tmp/kfp_outputs/output_metadata.json")
    assert evaluate["executor_input"]["inputs"]["parameterValues"] == {"greeting": "ev"}


def test_the_volumes_a_spec_mounts_are_the_harness_mounts(tmp_path):
    spec_path = tmp_path / "small.yaml"
    platform = {
        "platforms": {
            "kubernetes": {
                "deploymentSpec": {
                    "executors": {
                        "train": {"pvcMount": [{"constant": "pets", "mountPath": "/mnt/pets"}]},
                        "evaluate": {"pvcMount": [{"constant": "pets", "mountPath": "/mnt/pets"}]},
                    }
                }
            }
        }
    }
    spec_path.write_text(yaml.safe_dump_all([small_open_source_spec(), platform]))

    job = local_harness.load_job(str(spec_path))

    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "small"
    assert local_harness.volume_mount_paths(job) == ["/mnt/pets"]
    run = local_harness.OpenSourceRun(job, None, "python", str(tmp_path), mounts=["/data"])
    assert run.mounts == ["/data", "/mnt/pets"]


@pytest.mark.parametrize(
    "spec, message",
    [
        (small_open_source_spec(resolver=True), "non-container and non-importer executor"),
        ({**small_open_source_spec(), "schemaVersion": "2.0.0"}, "only supports schema version"),
    ],
)
def test_open_source_mode_refuses_what_its_api_server_refuses(tmp_path, spec, message):
    spec_path = tmp_path / "small.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SystemExit, match=message):
        local_harness.main([str(spec_path), "--store", str(tmp_path / "store")])
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    "make_spec, flags, message",
    [
        (None, [], r"no such file; compile one with `python kubeflow_runner.py`"),
        (lambda path: path.write_text("[tool]\nname = 1\n"), [], "is not a pipeline spec"),
        (lambda path: path.write_text("a: [1, 2\n"), [], "is not a pipeline spec"),
        (lambda path: path.write_text("{}\n"), [], "has no root DAG or deployment spec"),
        ("spec", ["--python", "/no/python"], "--python /no/python is not an executable"),
        ("spec", ["--backend", "vertex", "--image", "x"], "--image is for --backend kubeflow"),
        ("spec", ["--backend", "vertex", "--store", "s"], "--store is for --backend kubeflow"),
        ("spec", ["--mount", "/tmp"], "--mount is for tasks run in an --image"),
        ("spec", ["--image", "x", "--mount", "/no/dir"], "--mount /no/dir is not a directory"),
    ],
)
def test_bad_arguments_are_refused_in_one_line_before_any_task(
    tmp_path, capsys, make_spec, flags, message
):
    spec_path = tmp_path / "small.yaml"
    if make_spec == "spec":
        spec_path.write_text(yaml.safe_dump(small_open_source_spec()))
    elif make_spec is not None:
        make_spec(spec_path)
    with pytest.raises(SystemExit) as exit_info:
        local_harness.main([str(spec_path), *flags])
    assert re.search(message, str(exit_info.value)), exit_info.value
    assert str(exit_info.value).startswith(f"{spec_path}: ")
    assert "\n" not in str(exit_info.value)
    assert os.listdir(tmp_path) in ([], ["small.yaml"])  # no store, no run directory
    assert capsys.readouterr().out == ""  # no task started


@pytest.mark.skipif(not local_harness.shutil.which("podman"), reason="needs podman")
def test_an_image_podman_does_not_have_is_refused(tmp_path):
    spec_path = tmp_path / "small.yaml"
    spec_path.write_text(yaml.safe_dump(small_open_source_spec()))
    with pytest.raises(SystemExit, match="--image localhost/no-such-image:1 is not among podman"):
        local_harness.main([str(spec_path), "--image", "localhost/no-such-image:1"])
