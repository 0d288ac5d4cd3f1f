"""The command of every task on open-source Kubeflow Pipelines: TFX's entrypoint, adapted.

    python -m orchestration.kubeflow.entrypoint --executor_class_path ... \
        --json_serialized_invocation_args '{{$}}' --json_serialized_inputs_spec_args '...'

TFX 1.21's `kubeflow_v2_run_executor` expects the executor input that Vertex AI Pipelines
gives a task. The open-source backend's driver and launcher give it in another shape
(kubeflow/pipelines, backend/src/v2: driver/resolve.go, driver/driver.go,
component/launcher_v2.go):

- an input artifact from an upstream task has `type: {"instanceSchema": ""}`, and TFX
  finds an artifact's class from its type: the type is filled in from the component's
  inputs spec, which TFX writes into the task's arguments for schema 2.1.0 specs;
- every task has an extra output, `executor-logs`, that the launcher writes itself (it
  tees the command's output into it): TFX must not see it;
- URIs stay remote (`minio://`, `gs://`, `s3://`) while the launcher downloads each
  input to a local path before the command (/minio/..., /gcs/..., /s3/...) and uploads
  each output's local path after it. No TensorFlow or Beam filesystem knows `minio://`,
  so TFX is handed those local paths; in the executor output the launcher reads back,
  the URIs are remote again (the launcher would take a changed URI as the new one).

Everything else is TFX's own entrypoint, unchanged: the same executors run on every target.
"""

import copy
import json
import os
import sys

# The launcher's local path for each remote scheme (launcher_v2.go LocalPathForURI).
LAUNCHER_LOCAL_DIRS = {"minio://": "minio", "gs://": "gcs", "s3://": "s3"}
LOGS_OUTPUT = "executor-logs"  # the launcher's own output: the command's log
# Where the launcher's /minio, /gcs and /s3 are: "/" in a pod. The local harness runs
# tasks without a container, and points this at a directory of its own.
LOCAL_ROOT_VARIABLE = "TFX_SEGMENTATION_LAUNCHER_ROOT"

INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"


def local_path(uri: str, root: str = "/") -> str:
    """The launcher's local path for a remote URI; any other URI or path as it is."""
    for scheme, directory in LAUNCHER_LOCAL_DIRS.items():
        if uri.startswith(scheme):
            return os.path.join(root, directory, uri[len(scheme) :])
    return uri


def remote_uri(path: str, root: str = "/") -> str:
    """The inverse of local_path: a launcher-local path back to its remote URI."""
    for scheme, directory in LAUNCHER_LOCAL_DIRS.items():
        prefix = os.path.join(root, directory) + os.sep
        if path.startswith(prefix):
            return scheme + path[len(prefix) :]
    return path


def has_type(artifact: dict) -> bool:
    artifact_type = artifact.get("type") or {}
    return bool(artifact_type.get("schemaTitle") or artifact_type.get("instanceSchema"))


def adapt_executor_input(executor_input: dict, inputs_spec: dict, root: str = "/") -> dict:
    """The open-source launcher's executor input, in the shape TFX's entrypoint reads."""
    adapted = copy.deepcopy(executor_input)
    inputs = adapted.get("inputs", {}).get("artifacts", {})
    declared = inputs_spec.get("artifacts", {})
    for key, artifact_list in inputs.items():
        for artifact in artifact_list.get("artifacts", []):
            if not has_type(artifact):
                if "artifactType" not in declared.get(key, {}):
                    raise ValueError(
                        f"Input artifact {key!r} has no type, and the task's inputs spec "
                        f"({INPUTS_SPEC_FLAG}) declares none: recompile the pipeline with "
                        "kubeflow_runner.py --target kubeflow."
                    )
                artifact["type"] = declared[key]["artifactType"]
            artifact["uri"] = local_path(artifact["uri"], root)
    outputs = adapted.get("outputs", {}).get("artifacts", {})
    outputs.pop(LOGS_OUTPUT, None)
    for artifact_list in outputs.values():
        for artifact in artifact_list.get("artifacts", []):
            artifact["uri"] = local_path(artifact["uri"], root)
    return adapted


def restore_executor_output(executor_output: dict, root: str = "/") -> dict:
    """TFX's executor output with the launcher's local paths turned back into URIs, in the
    artifacts' URIs and in their metadata (the Evaluator records the model's URI)."""
    restored = copy.deepcopy(executor_output)
    for artifact_list in restored.get("artifacts", {}).values():
        for artifact in artifact_list.get("artifacts", []):
            if artifact.get("uri"):
                artifact["uri"] = remote_uri(artifact["uri"], root)
            metadata = artifact.get("metadata", {})
            for key, value in metadata.items():
                if isinstance(value, str):
                    metadata[key] = remote_uri(value, root)
    return restored


def flag_value(argv: list[str], flag: str) -> str | None:
    for index, argument in enumerate(argv):
        if argument == flag and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith(flag + "="):
            return argument[len(flag) + 1 :]
    return None


def with_flag_value(argv: list[str], flag: str, value: str) -> list[str]:
    result = list(argv)
    for index, argument in enumerate(result):
        if argument == flag:
            result[index + 1] = value
            return result
        if argument.startswith(flag + "="):
            result[index] = f"{flag}={value}"
            return result
    raise ValueError(f"{flag} is missing from the task's arguments")


def main(argv: list[str] | None = None):
    # Imported here: TFX takes half a minute to import, and the functions above need none.
    from absl import app
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entry

    argv = list(sys.argv if argv is None else argv)
    root = os.environ.get(LOCAL_ROOT_VARIABLE, "/")
    executor_input = json.loads(flag_value(argv, INVOCATION_FLAG) or "{}")
    inputs_spec = json.loads(flag_value(argv, INPUTS_SPEC_FLAG) or "{}")
    adapted = adapt_executor_input(executor_input, inputs_spec, root)
    argv = with_flag_value(argv, INVOCATION_FLAG, json.dumps(adapted))
    output_file = adapted["outputs"]["outputFile"]

    def run(parsed):
        tfx_entry.main(parsed)
        with open(output_file) as file:
            restored = restore_executor_output(json.load(file), root)
        with open(output_file, "w") as file:
            json.dump(restored, file)

    # TFX's own flag parsing: its flags, then Beam's arguments, exactly as its module runs.
    app.run(run, argv=argv, flags_parser=tfx_entry._parse_flags)


if __name__ == "__main__":
    main()
