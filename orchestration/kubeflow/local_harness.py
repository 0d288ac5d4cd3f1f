"""Run a compiled Kubeflow Pipelines spec on this machine, as a stand-in for a cluster.

    python -m orchestration.kubeflow.local_harness pipeline.yaml --image pet-segmentation:dev \
        --mount /tmp/kf                  # open-source KFP, every task in the image
    python -m orchestration.kubeflow.local_harness pipeline.json    # Vertex AI's shape

kubeflow_runner.py compiles the pipeline for one of two backends; this runs its spec
without Kubernetes, one task at a time in dependency order, and gives each container task
the executor input that backend's launcher would give it.

Open-source Kubeflow Pipelines 2.x (a .yaml spec, `OpenSourceRun`): the spec must pass
the API server's and compiler's checks (schema 2.1.0, container and importer tasks only);
artifacts live under a remote pipeline root (minio://mlpipeline/v2/artifacts, as on a
standard install) in a local store; input artifacts come with ML Metadata ids as names and
an empty instanceSchema, every task has the `executor-logs` output, and the launcher's
download before and upload after each task are done. With --image each task runs in that
image with podman, as a pod; without it, as a subprocess with this project's Python.

Vertex AI (a .json PipelineJob, `LocalRun`): each task runs as a subprocess in its own
directory, with

- inputs.parameterValues from the task's constants, the job's runtime config or upstream
  outputs, and the same values in the older inputs.parameters form, which is the one TFX's
  entrypoint reads for schema 2.0.0 specs;
- inputs.artifacts: the upstream tasks' output artifacts as their executors reported them
  in executor_output.json (URI and metadata, such as an Examples artifact's split names);
- outputs.artifacts with fresh URIs PIPELINE_ROOT/RUN_ID/TASK/OUTPUT, and
  outputs.outputFile PIPELINE_ROOT/RUN_ID/TASK/executor_output.json.
Resolver tasks query the artifacts of earlier runs under the same pipeline root (a JSON
lines file stands in for ML Metadata): on a first run, "the latest blessed model" resolves
to nothing and the Evaluator gets no baseline. Importer tasks yield their artifact URI.

Placeholders in command and args ({{$}}, {{$.inputs.parameters['x']}},
{{$.outputs.artifacts['x'].uri}}, ...) are replaced by kfp's own local-execution code.

Not done: caching (every task runs), retries, conditions, loops, sub-DAGs, parallel tasks.
"""

import argparse
import dataclasses
import datetime
import graphlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import yaml
from kfp.local import placeholder_utils

from orchestration.kubeflow import entrypoint

# What the Dockerfile sets in the image, so that a task sees here what it sees there.
IMAGE_ENVIRONMENT = {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# Under the pipeline root: every artifact the harness's runs produced, one JSON per line.
ARTIFACT_STORE = "local_harness_artifacts.jsonl"
# Open-source Kubeflow Pipelines: its default pipeline root on a standard install, the
# pod's directories its launcher uses, and where it looks for the executor output.
DEFAULT_OPEN_SOURCE_ROOT = "minio://mlpipeline/v2/artifacts"
OUTPUT_PARAMETERS_DIR = "tmp/kfp/outputs"
POD_DIRECTORIES = ("minio", "gcs", "s3", "tmp/kfp_outputs", OUTPUT_PARAMETERS_DIR)
OUTPUT_METADATA_FILE = "tmp/kfp_outputs/output_metadata.json"
# {{$.inputs.artifacts['input'].metadata['current_model_id']}} in a resolver's filter.
INPUT_METADATA = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}")


class TaskFailed(Exception):
    def __init__(self, message: str, log_path: str):
        super().__init__(message)
        self.log_path = log_path


@dataclasses.dataclass
class TaskResult:
    name: str
    status: str  # SUCCEEDED, FAILED or NOT RUN
    seconds: float = 0.0
    artifacts: dict = dataclasses.field(default_factory=dict)  # output key -> [artifact]
    parameters: dict = dataclasses.field(default_factory=dict)  # output key -> value
    note: str = ""


def dependency_order(tasks: dict) -> list[str]:
    """The task names, each after all it depends on; ties in name order, so runs repeat."""
    sorter = graphlib.TopologicalSorter()
    for name, task in tasks.items():
        unsupported = {"triggerPolicy", "iterator", "parameterIterator", "artifactIterator"}
        if unsupported & set(task):
            raise NotImplementedError(f"{name}: conditions and loops are not supported")
        sorter.add(name, *task.get("dependentTasks", []), *producers(task))
    sorter.prepare()
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


def producers(task: dict) -> list[str]:
    inputs = task.get("inputs", {})
    specs = [*inputs.get("artifacts", {}).values(), *inputs.get("parameters", {}).values()]
    sources = [s.get("taskOutputArtifact") or s.get("taskOutputParameter") for s in specs]
    return [source["producerTask"] for source in sources if source]


def constant(value_spec: dict):
    """A constant of the spec: `constant` (schema 2.1) or `constantValue` (2.0)."""
    if "constant" in value_spec:
        return value_spec["constant"]
    return from_old_value(value_spec["constantValue"])


def from_old_value(value: dict):
    """{"intValue": "3"} -> 3: the deprecated pipeline_spec Value, as a JSON value."""
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    return value.get("stringValue", "")


def to_old_value(value) -> dict:
    if isinstance(value, bool | int):
        return {"intValue": str(int(value))}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value if isinstance(value, str) else json.dumps(value)}


def schema_title(artifact_type: dict) -> str:
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    return re.search(r"^title: (\S+)", artifact_type["instanceSchema"], re.M).group(1)


class LocalRun:
    """One run of a compiled pipeline job, with Vertex AI's executor inputs: its tasks'
    results, as each task finishes."""

    def __init__(self, job: dict, pipeline_root: str, python: str):
        self.job = job
        self.spec = job["pipelineSpec"]
        self.pipeline_root = os.path.abspath(pipeline_root)
        timestamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self.run_id = f"{self.spec['pipelineInfo']['name']}-{timestamp}"
        self.python = python
        self.results: dict[str, TaskResult] = {}
        self.store_path = os.path.join(self.pipeline_root, ARTIFACT_STORE)

    @property
    def run_dir(self) -> str:
        """Where the run's task directories and logs are, on this machine."""
        return os.path.join(self.pipeline_root, self.run_id)

    def run_task(self, name: str, task: dict) -> tuple[dict, dict, str]:
        """Output artifacts, output parameters and a note for the task's line."""
        component = self.spec["components"][task["componentRef"]["name"]]
        if "dag" in component:
            raise NotImplementedError(f"{name}: sub-DAGs are not supported")
        executor = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if "container" in executor:
            artifacts, parameters = self.run_container(name, task, component, executor)
            note = ""
        elif "resolver" in executor:
            artifacts, parameters = self.resolve(task, executor["resolver"]), {}
            resolved = [a["uri"] for found in artifacts.values() for a in found]
            note = f"resolved {', '.join(resolved)}" if resolved else "resolved nothing"
        elif "importer" in executor:
            artifacts, parameters = self.import_artifact(name, component, executor["importer"]), {}
            note = ""
        else:
            raise NotImplementedError(f"{name}: executor {sorted(executor)} is not supported")
        if "resolver" not in executor:  # a resolver's artifacts are already in the store
            artifacts = self.remember(artifacts)
        return artifacts, parameters, note

    def run_container(self, name, task, component, executor) -> tuple[dict, dict]:
        container = executor["container"]
        task_root = os.path.join(self.run_dir, name)
        outputs = component.get("outputDefinitions", {})
        output_artifacts = {
            key: [self.output_artifact(name, key, definition["artifactType"])]
            for key, definition in outputs.get("artifacts", {}).items()
        }
        parameter_values = self.input_parameters(task, component)
        executor_input = {
            "inputs": {
                "parameterValues": parameter_values,
                "parameters": {k: to_old_value(v) for k, v in parameter_values.items()},
                # An input with nothing in it (a resolver that found nothing) is left out,
                # as KFP leaves out an optional input that has no value.
                "artifacts": {
                    k: {"artifacts": v} for k, v in self.input_artifacts(task).items() if v
                },
            },
            "outputs": {
                "artifacts": {k: {"artifacts": v} for k, v in output_artifacts.items()},
                "parameters": {
                    k: {"outputFile": os.path.join(task_root, "parameters", k)}
                    for k in outputs.get("parameters", {})
                },
                "outputFile": os.path.join(task_root, "executor_output.json"),
            },
        }
        if not container.get("command"):
            raise NotImplementedError(f"{name}: no command; the image's ENTRYPOINT is not known")
        os.makedirs(os.path.join(task_root, "parameters"), exist_ok=True)
        log_path = os.path.join(task_root, "log.txt")
        environment = {
            **os.environ,
            **IMAGE_ENVIRONMENT,
            **{variable["name"]: variable["value"] for variable in container.get("env", [])},
        }
        with open(log_path, "w") as log:
            # In its own directory, not the repository's: as in the image, the project must
            # import because it is installed, not because it is in the working directory.
            finished = subprocess.run(
                self.command(name, container, executor_input),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=task_root,
            )
        if finished.returncode:
            raise TaskFailed(f"exit status {finished.returncode}", log_path)
        return self.reported_outputs(executor_input, output_artifacts)

    def output_artifact(self, task_name: str, key: str, artifact_type: dict) -> dict:
        return {
            "name": f"{self.run_id}/{task_name}/{key}",
            "type": artifact_type,
            "uri": os.path.join(self.run_dir, task_name, key),
            "metadata": {},
        }

    def command(self, name: str, container: dict, executor_input: dict) -> list[str]:
        """The container's command and args, placeholders filled in, run with our Python."""
        command = placeholder_utils.replace_placeholders(
            container["command"] + container.get("args", []),
            executor_input,
            pipeline_resource_name=self.run_id,
            task_resource_name=name,
            pipeline_root=self.pipeline_root,
            unique_pipeline_id=self.run_id,
        )
        if command[0] in ("python", "python3"):
            command[0] = self.python  # the image's python is its environment's; here, ours
        return command

    def input_parameters(self, task: dict, component: dict) -> dict:
        values = {}
        for key, spec in task.get("inputs", {}).get("parameters", {}).items():
            if "runtimeValue" in spec:
                values[key] = constant(spec["runtimeValue"])
            elif "componentInputParameter" in spec:
                values[key] = self.pipeline_parameter(spec["componentInputParameter"])
            elif "taskOutputParameter" in spec:
                source = spec["taskOutputParameter"]
                producer = self.results[source["producerTask"]]
                values[key] = producer.parameters[source["outputParameterKey"]]
            else:
                raise NotImplementedError(f"input parameter {key}: {sorted(spec)}")
        # Inputs the task leaves unset take their defaults, as KFP's driver does.
        definitions = component.get("inputDefinitions", {}).get("parameters", {})
        for key, definition in definitions.items():
            if key not in values and "defaultValue" in definition:
                values[key] = definition["defaultValue"]
        return values

    def pipeline_parameter(self, name: str):
        runtime_config = self.job.get("runtimeConfig", {})
        if name in runtime_config.get("parameterValues", {}):
            return runtime_config["parameterValues"][name]
        if name in runtime_config.get("parameters", {}):
            return from_old_value(runtime_config["parameters"][name])
        return self.spec["root"]["inputDefinitions"]["parameters"][name]["defaultValue"]

    def input_artifacts(self, task: dict) -> dict:
        artifacts = {}
        for key, spec in task.get("inputs", {}).get("artifacts", {}).items():
            if "taskOutputArtifact" not in spec:
                raise NotImplementedError(f"input artifact {key}: {sorted(spec)}")
            source = spec["taskOutputArtifact"]
            producer = self.results[source["producerTask"]]
            artifacts[key] = producer.artifacts.get(source["outputArtifactKey"], [])
        return artifacts

    @staticmethod
    def reported_outputs(executor_input: dict, output_artifacts: dict) -> tuple[dict, dict]:
        """Outputs as the executor reported them (TFX adds metadata), else as they were given."""
        reported = read_executor_output(executor_input["outputs"]["outputFile"])
        artifacts = as_reported(reported, output_artifacts)
        parameters = dict(reported.get("parameterValues", {}))
        for key, spec in executor_input["outputs"]["parameters"].items():
            if key not in parameters and os.path.exists(spec["outputFile"]):
                with open(spec["outputFile"]) as file:
                    parameters[key] = file.read()
        return artifacts, parameters

    def resolve(self, task: dict, resolver: dict) -> dict:
        """Each query's newest matching artifact, or none; the filters are ANDed equalities."""
        inputs = self.input_artifacts(task)
        known = self.remembered()
        resolved = {}
        for key, query in resolver["outputArtifactQueries"].items():
            conditions = filter_conditions(query["filter"], inputs)
            found = [
                artifact
                for artifact in known
                if conditions is not None and all(matches(artifact, *c) for c in conditions)
            ]
            resolved[key] = found[-1:]
        return resolved

    def import_artifact(self, name: str, component: dict, importer: dict) -> dict:
        uri_spec = importer["artifactUri"]
        if "runtimeParameter" in uri_spec:
            uri = self.pipeline_parameter(uri_spec["runtimeParameter"])
        else:
            uri = constant(uri_spec)
        [key] = component["outputDefinitions"]["artifacts"]
        artifact = {
            "name": f"{self.run_id}/{name}/{key}",
            "type": importer["typeSchema"],
            "uri": uri,
            "metadata": importer.get("metadata", {}),
        }
        return {key: [artifact]}

    def remember(self, artifacts: dict) -> dict:
        """Records the artifacts, as ML Metadata would; returns them as recorded."""
        os.makedirs(os.path.dirname(self.store_path), exist_ok=True)
        with open(self.store_path, "a") as store:
            for found in artifacts.values():
                for artifact in found:
                    store.write(json.dumps(artifact) + "\n")
        return artifacts

    def remembered(self) -> list[dict]:
        if not os.path.exists(self.store_path):
            return []
        with open(self.store_path) as store:
            return [json.loads(line) for line in store]


class OpenSourceRun(LocalRun):
    """One run as open-source Kubeflow Pipelines 2.x runs it: its API server's checks, and
    each task's executor input as its driver and launcher make it (kubeflow/pipelines,
    backend/src/v2: driver/driver.go, driver/resolve.go, component/launcher_v2.go).

    - Artifacts live in object storage under a remote pipeline root (minio://... by
      default); `store` is that storage on this machine (minio://B/K is STORE/minio/B/K).
    - An input artifact has the ML Metadata id as its name, an empty `instanceSchema`,
      its remote URI, and its metadata as ML Metadata gives it back (plus `display_name`
      and `store_session_info`; booleans as numbers, lists and structs wrapped).
    - Every task has the extra `executor-logs` output, which the launcher writes itself.
    - The launcher downloads each input from the store to its local path in the pod
      (/minio/B/K) before the command, and uploads each output's local path after it;
      from the executor output file it reads `parameterValues` and, per output, the first
      artifact's `uri` and `metadata`.
    - With `image`, each task runs in that image with podman (no network, the pod's
      /minio, /gcs, /s3 and /tmp/kfp_outputs as volumes; `mounts` and the paths where the
      spec's platform part mounts PersistentVolumeClaims are this machine's directories of
      the same paths); without, as a subprocess whose pod root is a directory.
    """

    def __init__(self, job, pipeline_root, python, store, image=None, mounts=()):
        super().__init__(job, pipeline_root or DEFAULT_OPEN_SOURCE_ROOT, python)
        self.pipeline_root = pipeline_root or DEFAULT_OPEN_SOURCE_ROOT  # remote: kept as is
        self.store = os.path.abspath(store)
        self.store_path = os.path.join(self.store, ARTIFACT_STORE)
        self.image = image
        # A PVC the spec mounts is this machine's directory of the same path.
        mounts = [*mounts, *volume_mount_paths(job)]
        self.mounts = sorted({os.path.abspath(mount) for mount in mounts})

    @property
    def run_dir(self) -> str:
        return os.path.join(self.store, "runs", self.run_id)

    def output_artifact(self, task_name, key, artifact_type):
        # The driver's layout: <root>/<pipeline>/<run id>/<task>/<uuid>/<output key>.
        uri = "/".join(
            [
                self.pipeline_root.rstrip("/"),
                self.spec["pipelineInfo"]["name"],
                self.run_id,
                task_name,
                uuid.uuid4().hex[:8],
                key,
            ]
        )
        return {"name": key, "type": artifact_type, "uri": uri, "metadata": {}}

    def run_container(self, name, task, component, executor) -> tuple[dict, dict]:
        container = executor["container"]
        task_root = os.path.join(self.run_dir, name)
        pod = os.path.join(task_root, "pod")  # the pod's own disk: gone after the task
        pod_root = "/" if self.image else pod  # the same, as the task sees it
        outputs = component.get("outputDefinitions", {})
        output_artifacts = {
            key: [self.output_artifact(name, key, definition["artifactType"])]
            for key, definition in outputs.get("artifacts", {}).items()
        }
        output_artifacts[entrypoint.LOGS_OUTPUT] = [
            self.output_artifact(name, entrypoint.LOGS_OUTPUT, {"schemaTitle": "system.Artifact"})
        ]
        inputs = {k: v for k, v in self.input_artifacts(task).items() if v}
        executor_input = {
            "inputs": {
                "parameterValues": self.input_parameters(task, component),
                "artifacts": {
                    key: {"artifacts": [self.as_input(key, artifact) for artifact in found]}
                    for key, found in inputs.items()
                },
            },
            "outputs": {
                "artifacts": {k: {"artifacts": v} for k, v in output_artifacts.items()},
                "parameters": {
                    k: {"outputFile": os.path.join(pod_root, OUTPUT_PARAMETERS_DIR, k)}
                    for k in outputs.get("parameters", {})
                },
                "outputFile": os.path.join(pod_root, OUTPUT_METADATA_FILE),
            },
        }
        for directory in POD_DIRECTORIES:
            os.makedirs(os.path.join(pod, directory), exist_ok=True)
        for [artifact] in output_artifacts.values():  # the launcher makes their parents
            os.makedirs(os.path.dirname(entrypoint.local_path(artifact["uri"], pod)), exist_ok=True)
        for found in inputs.values():  # the launcher's download
            for artifact in found:
                copy_path(
                    self.in_store(artifact["uri"]), entrypoint.local_path(artifact["uri"], pod)
                )
        for path in [pod, *self.mounts]:
            make_writable(path)  # the image runs as uid 1000, as pods do
        log_path = os.path.join(task_root, "log.txt")
        with open(log_path, "w") as log:
            finished = subprocess.run(
                self.pod_command(name, container, executor_input, pod),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **IMAGE_ENVIRONMENT, entrypoint.LOCAL_ROOT_VARIABLE: pod},
                cwd=pod,
            )
        # The launcher tees the command's output into executor-logs itself.
        [logs] = output_artifacts[entrypoint.LOGS_OUTPUT]
        copy_path(log_path, entrypoint.local_path(logs["uri"], pod))
        if finished.returncode:
            raise TaskFailed(f"exit status {finished.returncode}", log_path)
        reported = read_executor_output(os.path.join(pod, OUTPUT_METADATA_FILE))
        # The launcher ignores what the executor says of executor-logs.
        artifacts = as_reported(reported, output_artifacts, ignored=(entrypoint.LOGS_OUTPUT,))
        for [artifact] in artifacts.values():  # the upload
            copy_path(entrypoint.local_path(artifact["uri"], pod), self.in_store(artifact["uri"]))
        parameters = dict(reported.get("parameterValues", {}))
        shutil.rmtree(pod, ignore_errors=True)
        return artifacts, parameters

    def pod_command(self, name, container, executor_input, pod) -> list[str]:
        command = self.command(name, container, executor_input)
        if not self.image:
            return command
        # In the image, the spec's own command[0] (the image's python) is the entrypoint.
        volumes = [f"{os.path.join(pod, d)}:/{d}" for d in POD_DIRECTORIES]
        volumes += [f"{mount}:{mount}" for mount in self.mounts]
        environment = [f"{v['name']}={v['value']}" for v in container.get("env", [])]
        return [
            "podman", "run", "--rm", "--network=none",
            *[f"--volume={volume}" for volume in volumes],
            *[f"--env={variable}" for variable in environment],
            f"--entrypoint={container['command'][0]}",
            self.image,
            *command[1:],
        ]  # fmt: skip

    def as_input(self, key: str, artifact: dict) -> dict:
        """An upstream artifact as the open-source driver hands it to a task."""
        metadata = {k: from_metadata_store(v) for k, v in artifact["metadata"].items()}
        metadata.setdefault("display_name", key)
        metadata.setdefault("store_session_info", json.dumps({"Provider": "minio"}))
        return {
            "name": str(artifact["id"]),
            "type": {"instanceSchema": ""},  # driver.go: "figure out how to get schema"
            "uri": artifact["uri"],
            "metadata": metadata,
        }

    def in_store(self, uri: str) -> str:
        return entrypoint.local_path(uri, self.store)

    def remember(self, artifacts: dict) -> dict:
        """Gives each artifact an ML Metadata id, as the launcher records it."""
        next_id = len(self.remembered()) + 1
        recorded = {}
        for key, found in artifacts.items():
            recorded[key] = []
            for artifact in found:
                recorded[key].append({**artifact, "id": next_id})
                next_id += 1
        return super().remember(recorded)


def read_executor_output(path: str) -> dict:
    """The executor output file; none written is an empty output, as launchers take it."""
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        return json.load(file)


def as_reported(reported: dict, output_artifacts: dict, ignored=()) -> dict:
    """The output artifacts with what the executor reported of each: the first artifact's
    URI (if it gave one) and metadata, as KFP's launchers read them back."""
    artifacts = {}
    for key, [given] in output_artifacts.items():
        written = {}
        if key not in ignored:
            written = reported.get("artifacts", {}).get(key, {}).get("artifacts", [{}])[0]
        uri = written.get("uri") or given["uri"]
        artifacts[key] = [{**given, "uri": uri, "metadata": written.get("metadata", {})}]
    return artifacts


def check_open_source_spec(spec: dict):
    """What the open-source API server and compiler refuse before a run starts."""
    if spec.get("schemaVersion") != "2.1.0":
        raise ValueError(
            f"schemaVersion {spec.get('schemaVersion')!r}: KFP only supports schema version "
            "2.1.0 (compile with kubeflow_runner.py --target kubeflow)."
        )
    for label, executor in spec["deploymentSpec"]["executors"].items():
        if not set(executor) <= {"container", "importer"}:
            raise ValueError(
                f"executor(label={label!r}): non-container and non-importer executor not "
                "implemented (open-source KFP runs no resolver tasks)."
            )


def from_metadata_store(value):
    """A metadata value after a round trip through ML Metadata, as the driver returns it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return {"list": value}
    if isinstance(value, dict):
        return {"struct": value}
    return value


def copy_path(source: str, destination: str):
    """Copies a file or a directory tree; a missing source copies nothing (as the
    launcher skips an output that was not written)."""
    if os.path.isdir(source):
        shutil.copytree(source, destination, dirs_exist_ok=True)
    elif os.path.exists(source):
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(source, destination)


def make_writable(path: str):
    """Every directory under path writable by the image's user (uid 1000, as in a pod)."""
    os.makedirs(path, exist_ok=True)
    for directory, _, _ in os.walk(path):
        os.chmod(directory, 0o777)


def filter_conditions(text: str, inputs: dict) -> list[tuple[str, str]] | None:
    """[(field, value)] of a filter like `schema_title="tfx.Model" AND state=LIVE`, with its
    input placeholders filled in; None when an input it refers to resolved to nothing."""

    def input_metadata(match):
        key, metadata_key = match.groups()
        if not inputs.get(key):
            raise LookupError(key)
        return str(inputs[key][0]["metadata"][metadata_key])

    try:
        text = INPUT_METADATA.sub(input_metadata, text)
    except LookupError:
        return None
    if "{{$" in text:
        raise NotImplementedError(f"resolver filter placeholder in {text!r}")
    conditions = []
    for clause in text.split(" AND "):
        field, _, value = clause.partition("=")
        conditions.append((field.strip(), value.strip().strip('"')))
    return conditions


def matches(artifact: dict, field: str, value: str) -> bool:
    if field == "schema_title":
        return schema_title(artifact["type"]) == value
    if field == "state":
        return value == "LIVE"  # the harness never deletes an artifact
    if field == "name":
        return artifact["name"] == value
    if field.startswith("metadata.") and field.endswith((".number_value", ".string_value")):
        _, key, kind = field.split(".")
        actual = artifact["metadata"].get(key)
        if kind == "number_value":
            return actual is not None and float(actual) == float(value)
        return actual == value
    raise NotImplementedError(f"resolver filter field {field!r}")


def run_pipeline(
    spec_path: str,
    pipeline_root: str | None = None,
    python: str = sys.executable,
    report=print,
    backend: str | None = None,
    store: str | None = None,
    image: str | None = None,
    mounts=(),
) -> list[TaskResult]:
    """Runs every task of the compiled job in dependency order; stops at the first failure.

    backend "kubeflow" (the default for a .yaml spec) runs it as open-source KFP would,
    with its object storage in `store` and, with `image`, every task in that image;
    "vertex" (the default for .json) as Vertex AI would, under a local pipeline root.
    """
    job = load_job(spec_path)
    backend = backend or default_backend(spec_path)
    check_arguments(backend, python, store, image, mounts)
    if backend == "kubeflow":
        check_open_source_spec(job["pipelineSpec"])
        store = store or os.path.join(os.path.dirname(os.path.abspath(spec_path)), "kfp_store")
        run = OpenSourceRun(job, pipeline_root, python, store, image, mounts)
    else:
        pipeline_root = pipeline_root or job["runtimeConfig"].get("gcsOutputDirectory", "")
        if not pipeline_root or "://" in pipeline_root:
            raise ValueError(f"No local pipeline root in {spec_path}: pass --pipeline-root.")
        run = LocalRun(job, pipeline_root, python)
    tasks = run.spec["root"]["dag"]["tasks"]
    width = max(map(len, tasks))
    failed = False
    for name in dependency_order(tasks):
        started = time.monotonic()
        if failed:
            result = TaskResult(name, "NOT RUN")
        else:
            try:
                artifacts, parameters, note = run.run_task(name, tasks[name])
                result = TaskResult(name, "SUCCEEDED", 0.0, artifacts, parameters, note)
            except TaskFailed as failure:
                failed = True
                result = TaskResult(name, "FAILED", note=f"{failure}; log: {failure.log_path}")
                print(tail(failure.log_path), file=sys.stderr)
            result.seconds = time.monotonic() - started
        run.results[name] = result
        report(f"{name:<{width}}  {result.status:<9} {result.seconds:6.1f} s  {result.note}")
    report(f"Run {run.run_id}: logs in {run.run_dir}")
    return list(run.results.values())


def check_arguments(backend, python, store, image, mounts) -> None:
    """Refuses, naming the flag, what the run would ignore or fail on only task by task."""
    if not shutil.which(python):
        raise ValueError(f"--python {python} is not an executable Python.")
    if backend == "vertex":
        for flag, value in (("--store", store), ("--image", image), ("--mount", mounts)):
            if value:
                raise ValueError(f"{flag} is for --backend kubeflow; this run is Vertex AI's.")
        return
    if mounts and not image:
        raise ValueError(
            "--mount is for tasks run in an --image; subprocesses see every directory already."
        )
    for mount in mounts:
        if not os.path.isdir(mount):
            raise ValueError(f"--mount {mount} is not a directory on this machine.")
    if image:
        if not shutil.which("podman"):
            raise ValueError(
                "No podman on this machine: install it (see docs/kubeflow.md) "
                "or leave out --image to run the tasks as subprocesses."
            )
        exists = subprocess.run(["podman", "image", "exists", image], capture_output=True)
        if exists.returncode != 0:
            raise ValueError(
                f"--image {image} is not among podman's images: build it (see docs/kubeflow.md) "
                "or pass one that `podman images` lists."
            )


def default_backend(spec_path: str) -> str:
    """What kubeflow_runner.py writes: a bare YAML for open-source KFP, a JSON job for Vertex."""
    return "kubeflow" if spec_path.endswith((".yaml", ".yml")) else "vertex"


def load_job(spec_path: str) -> dict:
    """The pipeline job JSON (spec and runtime config), or a bare spec in YAML: what
    kubeflow_runner.py writes for a --spec ending in .json or .yaml."""
    compile_one = "compile one with `python kubeflow_runner.py` (add --target vertex for Vertex AI)"
    not_a_spec = f"is not a pipeline spec that kubeflow_runner.py wrote; {compile_one}"
    if not os.path.isfile(spec_path):
        raise ValueError(f"no such file; {compile_one}.")
    try:
        with open(spec_path) as file:
            if spec_path.endswith((".yaml", ".yml")):
                spec, *platform = yaml.safe_load_all(file)  # then a platform spec, if any
                platform_spec = platform[0] if platform else {}
                job = {"pipelineSpec": spec, "runtimeConfig": {}, "platformSpec": platform_spec}
            else:
                job = json.load(file)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise ValueError(f"{not_a_spec} ({str(error).splitlines()[0]}).") from None
    spec = job.get("pipelineSpec") if isinstance(job, dict) else None
    if not isinstance(spec, dict) or not {"root", "deploymentSpec"} <= spec.keys():
        raise ValueError(f"{not_a_spec} (it has no root DAG or deployment spec).")
    return job


def volume_mount_paths(job: dict) -> list[str]:
    """The paths where the platform spec mounts PersistentVolumeClaims in the tasks."""
    executors = (
        job.get("platformSpec", {})
        .get("platforms", {})
        .get("kubernetes", {})
        .get("deploymentSpec", {})
        .get("executors", {})
    )
    return sorted({m["mountPath"] for e in executors.values() for m in e.get("pvcMount", [])})


def tail(path: str, lines: int = 30) -> str:
    with open(path, errors="replace") as file:
        return "".join(file.readlines()[-lines:])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec", help="the .yaml or .json spec that kubeflow_runner.py wrote")
    parser.add_argument(
        "--backend",
        choices=("kubeflow", "vertex"),
        help="run as open-source KFP (default for .yaml) or Vertex AI (default for .json)",
    )
    parser.add_argument(
        "--pipeline-root",
        help=f"kubeflow: the remote root ({DEFAULT_OPEN_SOURCE_ROOT}); vertex: a local "
        "directory (default: the .json spec's, if it is local)",
    )
    parser.add_argument(
        "--store",
        help="kubeflow: the object storage on this machine (default: kfp_store/ beside the spec)",
    )
    parser.add_argument(
        "--image", help="kubeflow: run every task in this image with podman, as a pod would"
    )
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        help="kubeflow, with --image: a directory every task mounts at its own path, as a "
        "volume (the --output-dir, the TFDS --data-dir); repeatable",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the Python that runs the tasks (default: this)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        results = run_pipeline(
            args.spec,
            args.pipeline_root,
            args.python,
            backend=args.backend,
            store=args.store,
            image=args.image,
            mounts=args.mount,
        )
    except ValueError as error:
        raise SystemExit(f"{args.spec}: {error}") from None
    succeeded = sum(result.status == "SUCCEEDED" for result in results)
    print(f"{succeeded} of {len(results)} tasks succeeded in {time.monotonic() - started:.0f} s.")
    if succeeded < len(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
