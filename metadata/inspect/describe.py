"""What `inspect` shows, as plain data (what --json prints): runs, executions, artifacts,
models with their evaluations, and lineage, described from the loaded records."""

import collections
import datetime
import json
import math

from ml_metadata.proto import metadata_store_pb2

from metadata.inspect.evaluation import overall_metrics
from metadata.inspect.load import InspectError, Records

SECTIONS = ("runs", "executions", "artifacts", "models", "lineage")
RUN_SECTIONS = (None, "executions", "artifacts")  # the ones that show one run
# TFX bookkeeping on every artifact: true of all of them, so not worth a column.
HOUSEKEEPING_PROPERTIES = {
    "is_external",
    "tfx_version",
    "stats_dashboard_link",
    "payload_format",
    "file_format",
}
SCALARS = ("int_value", "double_value", "string_value", "bool_value")
# Properties TFX stores as JSON text: shown as the values they encode.
JSON_PROPERTIES = {"split_names"}  # e.g. '["train", "eval"]'


def describe_runs(records: Records) -> list[dict]:
    return [describe_run(records, run) for run in records.runs]


def describe_run(records: Records, run) -> dict:
    """The run's id (a context id: what --run takes) is not its number: a run's number
    counts the pipeline's runs, 1 for the oldest."""
    executions = [records.executions[i] for i in records.run_execution_ids[run.id]]
    states = collections.Counter(state_name(execution) for execution in executions)
    if states["FAILED"]:
        status = "FAILED"
    elif states["RUNNING"] or states["NEW"]:
        status = "RUNNING"  # or a run that was killed: MLMD cannot tell
    else:
        status = "COMPLETE"
    return {
        "id": run.id,
        "name": run.name,
        "number": records.runs.index(run) + 1,
        "total_runs": len(records.runs),
        "started": timestamp(run.create_time_since_epoch),
        "duration_seconds": seconds_between(
            min((e.create_time_since_epoch for e in executions), default=0),
            max((e.last_update_time_since_epoch for e in executions), default=0),
        ),
        "status": status,
        "executions": len(executions),
        "states": dict(sorted(states.items())),
    }


def find_run(records: Records, run_id: str | None):
    if run_id is None:
        return records.runs[-1]
    for run in records.runs:
        if run_id in (str(run.id), run.name):
            return run
    raise InspectError(
        f"No run {run_id!r} in pipeline {records.pipeline_name!r}; see `inspect runs`."
    )


def describe_executions(records: Records, run) -> list[dict]:
    rows = []
    for execution_id in records.run_execution_ids[run.id]:
        execution = records.executions[execution_id]
        rows.append(
            {
                "id": execution.id,
                "component": records.component[execution.id],
                "state": state_name(execution),
                "started": timestamp(execution.create_time_since_epoch),
                # A running execution's last update is its start: no duration yet.
                "duration_seconds": None
                if state_name(execution) in ("NEW", "RUNNING")
                else seconds_between(
                    execution.create_time_since_epoch, execution.last_update_time_since_epoch
                ),
            }
        )
    return rows


def describe_artifacts(records: Records, run) -> list[dict]:
    """What the run's executions output; a cached execution's are those of an earlier run."""
    artifact_ids = []
    for execution_id in records.run_execution_ids[run.id]:
        for _, artifact_id in records.outputs.get(execution_id, []):
            if artifact_id not in artifact_ids:
                artifact_ids.append(artifact_id)
    return [describe_artifact(records, artifact_id) for artifact_id in artifact_ids]


def describe_artifact(records: Records, artifact_id: int) -> dict:
    artifact = records.artifacts[artifact_id]
    execution_id = records.producer.get(artifact_id)
    output_keys = [key for key, i in records.outputs.get(execution_id, []) if i == artifact_id]
    return {
        "id": artifact.id,
        "type": artifact.type,
        "uri": artifact.uri,
        "state": metadata_store_pb2.Artifact.State.Name(artifact.state),
        "component": records.component.get(execution_id),
        "output": output_keys[0] if output_keys else None,
        "execution_id": execution_id,
        "created": timestamp(artifact.create_time_since_epoch),
        "properties": artifact_properties(artifact),
    }


def artifact_properties(artifact) -> dict:
    """Scalar properties and custom properties, but TFX's bookkeeping."""
    values = {}
    for name, value in [*artifact.properties.items(), *artifact.custom_properties.items()]:
        kind = value.WhichOneof("value")  # not structs: sample rates per split, and such
        if name not in HOUSEKEEPING_PROPERTIES and kind in SCALARS:
            values[name] = getattr(value, kind)
            if name in JSON_PROPERTIES:
                values[name] = json.loads(values[name])
    return dict(sorted(values.items()))


def describe_models(records: Records) -> list[dict]:
    """Each Model artifact, its evaluations (metrics, blessing) and its pushes.

    Found by artifact type, not component name: an execution that takes the model as
    "model" and outputs a ModelEvaluation evaluated it; one that outputs a PushedModel
    pushed it. Cached executions output the same artifacts again, so each counts once.
    """
    models = []
    for model_id, model in sorted(records.artifacts.items()):
        if model.type != "Model":
            continue
        evaluations, pushes, seen = [], [], set()
        for execution_id, inputs in sorted(records.inputs.items()):
            if ("model", model_id) not in inputs:
                continue
            outputs = {
                records.artifacts[i].type: i for _, i in records.outputs.get(execution_id, [])
            }
            if "ModelEvaluation" in outputs and outputs["ModelEvaluation"] not in seen:
                seen.add(outputs["ModelEvaluation"])
                evaluations.append(describe_evaluation(records, execution_id, outputs))
            if "PushedModel" in outputs and outputs["PushedModel"] not in seen:
                seen.add(outputs["PushedModel"])
                pushes.append(describe_push(records, execution_id, outputs["PushedModel"]))
        models.append(
            {
                "id": model_id,
                "uri": model.uri,
                "component": records.component.get(records.producer.get(model_id)),
                "execution_id": records.producer.get(model_id),
                "created": timestamp(model.create_time_since_epoch),
                "evaluations": evaluations,
                "pushes": pushes,
            }
        )
    return models


def describe_evaluation(records: Records, execution_id: int, outputs: dict) -> dict:
    evaluation = records.artifacts[outputs["ModelEvaluation"]]
    baselines = [i for key, i in records.inputs[execution_id] if key == "baseline_model"]
    blessing = records.artifacts.get(outputs.get("ModelBlessing"))
    metrics = overall_metrics(evaluation.uri)
    return {
        "id": evaluation.id,
        "uri": evaluation.uri,
        "execution_id": records.producer[evaluation.id],
        "baseline_model_id": baselines[0] if baselines else None,
        # JSON has no NaN: a class absent from the eval split has no Dice.
        "metrics": {name: None if math.isnan(v) else v for name, v in sorted(metrics.items())},
        "blessing_id": blessing.id if blessing else None,
        "blessed": bool(blessing.custom_properties["blessed"].int_value) if blessing else None,
    }


def describe_push(records: Records, execution_id: int, pushed_model_id: int) -> dict:
    properties = records.artifacts[pushed_model_id].custom_properties
    pushed = properties["pushed"].int_value == 1
    blessings = [
        i for _, i in records.inputs[execution_id] if records.artifacts[i].type == "ModelBlessing"
    ]
    return {
        "id": pushed_model_id,
        "execution_id": records.producer[pushed_model_id],
        "blessing_id": blessings[0] if blessings else None,
        "pushed": pushed,
        "destination": properties["pushed_destination"].string_value if pushed else None,
        "version": properties["pushed_version"].string_value if pushed else None,
    }


def newest_pushed_model(records: Records) -> int:
    pushed = [
        artifact.id
        for artifact in records.artifacts.values()
        if artifact.type == "PushedModel" and artifact.custom_properties["pushed"].int_value == 1
    ]
    if not pushed:
        raise InspectError(
            f"Pipeline {records.pipeline_name!r} has pushed no model yet (none was blessed?); "
            "`inspect lineage --artifact ID` follows any artifact."
        )
    return max(pushed)


def find_artifact(records: Records, artifact: int | str | None, downstream: bool) -> int:
    """An artifact id; a type name (any case) means the newest artifact of that type. By
    default, the newest pushed model upstream, the newest examples downstream."""
    if artifact is None and not downstream:
        return newest_pushed_model(records)
    if isinstance(artifact, int):
        if artifact not in records.artifacts:
            raise InspectError(
                f"No artifact {artifact} in pipeline {records.pipeline_name!r}; "
                "see `inspect artifacts --run ID`."
            )
        return artifact
    type_name = (artifact or "Examples").lower()
    ids = [i for i, a in records.artifacts.items() if a.type.lower() == type_name]
    if not ids:
        types = sorted({a.type for a in records.artifacts.values()})
        raise InspectError(
            f"No artifact of type {artifact or 'Examples'!r} in pipeline "
            f"{records.pipeline_name!r}; it has {', '.join(types) or 'none'}."
        )
    return max(ids)


def describe_lineage(records: Records, artifact_id: int) -> list[dict]:
    """The artifact, then the inputs of the execution that wrote it, and so on back to the
    data: nearest first, each artifact once, each with {input key: [artifact ids]}."""

    def inputs(node):
        node["inputs"] = keyed(records.inputs.get(node["execution_id"], []))
        return [i for ids in node["inputs"].values() for i in ids]

    return walk(records, artifact_id, inputs)


def describe_downstream(records: Records, artifact_id: int) -> list[dict]:
    """The artifact, then each execution that took it as an input and what that execution
    output, and so on: nearest first, each artifact once, each with "used_by": [{execution,
    the input keys it took the artifact as, {output key: [artifact ids]}}].

    Cached executions are left out: TFX reuses a cached result only for the same inputs,
    so the execution that computed it is already there, with the same outputs.
    """

    def used_by(node):
        node["used_by"] = []
        for execution_id, execution_inputs in sorted(records.inputs.items()):
            keys = sorted(key for key, i in execution_inputs if i == node["id"])
            if not keys or state_name(records.executions[execution_id]) == "CACHED":
                continue
            node["used_by"].append(
                {
                    "execution_id": execution_id,
                    "component": records.component[execution_id],
                    "state": state_name(records.executions[execution_id]),
                    "input_keys": keys,
                    "outputs": keyed(records.outputs.get(execution_id, [])),
                }
            )
        return [i for use in node["used_by"] for ids in use["outputs"].values() for i in ids]

    return walk(records, artifact_id, used_by)


def walk(records: Records, artifact_id: int, neighbours) -> list[dict]:
    """Breadth first from the artifact, each artifact described once; neighbours(node)
    adds the edges to the node and returns the ids they lead to, in order."""
    nodes, queue, seen = [], collections.deque([artifact_id]), {artifact_id}
    while queue:
        node = describe_artifact(records, queue.popleft())
        nodes.append(node)
        for next_id in neighbours(node):
            if next_id not in seen:
                seen.add(next_id)
                queue.append(next_id)
    return nodes


def keyed(pairs: list[tuple[str, int]]) -> dict[str, list[int]]:
    """[(key, artifact id)] as {key: [artifact ids]}, keys sorted."""
    by_key = collections.defaultdict(list)
    for key, artifact_id in sorted(pairs):
        by_key[key].append(artifact_id)
    return dict(by_key)


def collect(
    records: Records, section: str | None, run_id=None, artifact=None, downstream=False
) -> dict:
    """One section's data (None: the overview), as printed by --json."""
    data = {"pipeline": records.pipeline_name, "metadata": records.metadata_path}
    if section == "runs":
        data["runs"] = describe_runs(records)
    elif section in RUN_SECTIONS:
        run = find_run(records, run_id)
        data["run"] = describe_run(records, run)
        if section == "artifacts":
            data["artifacts"] = describe_artifacts(records, run)
        else:
            data["executions"] = describe_executions(records, run)
    if section in (None, "models"):
        data["models"] = describe_models(records)
    if section == "lineage":
        artifact_id = find_artifact(records, artifact, downstream)
        if downstream:
            data["downstream"] = describe_downstream(records, artifact_id)
        else:
            data["lineage"] = describe_lineage(records, artifact_id)
    return data


def state_name(execution) -> str:
    return metadata_store_pb2.Execution.State.Name(execution.last_known_state)


def timestamp(milliseconds: int) -> str:
    """ISO 8601 in local time, with its offset."""
    moment = datetime.datetime.fromtimestamp(milliseconds / 1000).astimezone()
    return moment.isoformat(timespec="seconds")


def seconds_between(start_ms: int, end_ms: int) -> float:
    return round((end_ms - start_ms) / 1000, 3)
