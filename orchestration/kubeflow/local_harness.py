"""Run a compiled KFP v2 pipeline spec on this machine, as a stand-in for a Kubeflow cluster.

    python -m orchestration.kubeflow.local_harness pipeline.json [--pipeline-root DIR]

kubeflow_runner.py compiles the pipeline into a KFP v2 spec; this runs that spec without
Kubernetes or Docker, one task at a time in dependency order. Each container task runs its
own command and args as a subprocess with this project's Python (or --python), in its own
directory, where a cluster would start the image; it gets the executor input that KFP's
launcher would give it:

- inputs.parameterValues from the task's constants, the job's runtime config or upstream
  outputs, and the same values in the older inputs.parameters form, which is the one TFX's
  entrypoint reads for schema 2.0.0 specs;
- inputs.artifacts: the upstream tasks' output artifacts as their executors reported them
  in executor_output.json (URI and metadata, such as an Examples artifact's split names);
- outputs.artifacts with fresh URIs PIPELINE_ROOT/RUN_ID/TASK/OUTPUT, and
  outputs.outputFile PIPELINE_ROOT/RUN_ID/TASK/executor_output.json.

Placeholders in command and args ({{$}}, {{$.inputs.parameters['x']}},
{{$.outputs.artifacts['x'].uri}}, ...) are replaced by kfp's own local-execution code.
Resolver tasks query the artifacts of earlier runs under the same pipeline root (a JSON
lines file stands in for ML Metadata): on a first run, "the latest blessed model" resolves
to nothing and the Evaluator gets no baseline. Importer tasks yield their artifact URI.

Not done: caching (every task runs), retries, conditions, loops, sub-DAGs, parallel tasks.
"""

import argparse
import dataclasses
import datetime
import graphlib
import json
import os
import re
import subprocess
import sys
import time

import yaml
from kfp.local import placeholder_utils

# What the Dockerfile sets in the image, so that a task sees here what it sees there.
IMAGE_ENVIRONMENT = {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# Under the pipeline root: every artifact the harness's runs produced, one JSON per line.
ARTIFACT_STORE = "local_harness_artifacts.jsonl"
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
    """One run of a compiled pipeline job: its tasks' results, as each task finishes."""

    def __init__(self, job: dict, pipeline_root: str, python: str):
        self.job = job
        self.spec = job["pipelineSpec"]
        self.pipeline_root = os.path.abspath(pipeline_root)
        timestamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self.run_id = f"{self.spec['pipelineInfo']['name']}-{timestamp}"
        self.python = python
        self.results: dict[str, TaskResult] = {}
        self.store_path = os.path.join(self.pipeline_root, ARTIFACT_STORE)

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
            self.remember(artifacts)
        return artifacts, parameters, note

    def run_container(self, name, task, component, executor) -> tuple[dict, dict]:
        container = executor["container"]
        task_root = os.path.join(self.pipeline_root, self.run_id, name)
        outputs = component.get("outputDefinitions", {})
        output_artifacts = {
            key: [
                {
                    "name": f"{self.run_id}/{name}/{key}",
                    "type": definition["artifactType"],
                    "uri": os.path.join(task_root, key),
                    "metadata": {},
                }
            ]
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
        environment = {
            **os.environ,
            **IMAGE_ENVIRONMENT,
            **{variable["name"]: variable["value"] for variable in container.get("env", [])},
        }
        os.makedirs(os.path.join(task_root, "parameters"), exist_ok=True)
        log_path = os.path.join(task_root, "log.txt")
        with open(log_path, "w") as log:
            # In its own directory, not the repository's: as in the image, the project must
            # import because it is installed, not because it is in the working directory.
            finished = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=task_root
            )
        if finished.returncode:
            raise TaskFailed(f"exit status {finished.returncode}", log_path)
        return self.reported_outputs(executor_input, output_artifacts)

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
        output_file = executor_input["outputs"]["outputFile"]
        reported = {}
        if os.path.exists(output_file):
            with open(output_file) as file:
                reported = json.load(file)
        artifacts = {}
        for key, [given] in output_artifacts.items():
            written = reported.get("artifacts", {}).get(key, {}).get("artifacts", [{}])[0]
            uri = written.get("uri") or given["uri"]
            artifacts[key] = [{**given, "uri": uri, "metadata": written.get("metadata", {})}]
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

    def remember(self, artifacts: dict):
        os.makedirs(self.pipeline_root, exist_ok=True)
        with open(self.store_path, "a") as store:
            for found in artifacts.values():
                for artifact in found:
                    store.write(json.dumps(artifact) + "\n")

    def remembered(self) -> list[dict]:
        if not os.path.exists(self.store_path):
            return []
        with open(self.store_path) as store:
            return [json.loads(line) for line in store]


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
    spec_path: str, pipeline_root: str | None = None, python: str = sys.executable, report=print
) -> list[TaskResult]:
    """Runs every task of the compiled job in dependency order; stops at the first failure."""
    job = load_job(spec_path)
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
    report(f"Run {run.run_id}: artifacts and logs in {os.path.join(run.pipeline_root, run.run_id)}")
    return list(run.results.values())


def load_job(spec_path: str) -> dict:
    """The pipeline job JSON (spec and runtime config), or a bare spec in YAML: what
    kubeflow_runner.py writes for a --spec ending in .json or .yaml."""
    with open(spec_path) as file:
        if spec_path.endswith((".yaml", ".yml")):
            return {"pipelineSpec": next(yaml.safe_load_all(file)), "runtimeConfig": {}}
        return json.load(file)


def tail(path: str, lines: int = 30) -> str:
    with open(path, errors="replace") as file:
        return "".join(file.readlines()[-lines:])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec", help="the .json or .yaml spec that kubeflow_runner.py wrote")
    parser.add_argument(
        "--pipeline-root", help="a local directory (default: a .json spec's, if it is local)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the Python that runs the tasks (default: this)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = run_pipeline(args.spec, args.pipeline_root, args.python)
    succeeded = sum(result.status == "SUCCEEDED" for result in results)
    print(f"{succeeded} of {len(results)} tasks succeeded in {time.monotonic() - started:.0f} s.")
    if succeeded < len(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
