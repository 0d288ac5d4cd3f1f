"""What the pipeline's runs recorded in ML Metadata: runs, executions, artifacts, models, lineage.

    inspect                       the newest run's executions, and every model's evaluation
    inspect runs                  every run: when, how long, its executions' states
    inspect executions --run ID   one run's executions (default: the newest run)
    inspect artifacts             what the newest run's executions output, with their URIs
    inspect models                each model: metrics, blessing, where it was pushed
    inspect lineage               the newest pushed model, back to the examples it came from
    inspect models --json         any of these as JSON

The store is opened read-only, so this works while a run is writing to it.
"""

import os

# Before TensorFlow is imported (reading evaluations loads TFMA): the project runs on Keras 2
# (tf_keras), and TF's C++ INFO lines would bury the tables.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import collections  # noqa: E402
import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

from ml_metadata.proto import metadata_store_pb2  # noqa: E402

from pipeline import configs, flags, run_summary  # noqa: E402

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
NEWEST_EVALUATIONS_SHOWN = 4  # metrics columns of the models table; --json has them all


class InspectError(Exception):
    """A problem the user can fix (wrong path, unknown id): printed without a traceback."""


@dataclasses.dataclass
class Records:
    """Everything one pipeline recorded, read once: a local store is small."""

    metadata_path: str
    pipeline_name: str
    runs: list  # the pipeline_run contexts, oldest first
    run_execution_ids: dict[int, list[int]]  # run context id -> its execution ids, in order
    executions: dict[int, metadata_store_pb2.Execution]
    component: dict[int, str]  # execution id -> component id
    artifacts: dict[int, metadata_store_pb2.Artifact]
    inputs: dict[int, list[tuple[str, int]]]  # execution id -> [(input key, artifact id)]
    outputs: dict[int, list[tuple[str, int]]]  # execution id -> [(output key, artifact id)]
    producer: dict[int, int]  # artifact id -> the execution that wrote it


def load(metadata_path: str, pipeline_name: str) -> Records:
    if not os.path.isfile(metadata_path):
        raise InspectError(
            f"No ML Metadata store at {metadata_path}. Run the pipeline first "
            "(python -m uv run python local_runner.py), or pass --metadata PATH."
        )
    try:
        store = run_summary.open_store(metadata_path)
        pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
        pipelines = [context.name for context in store.get_contexts_by_type("pipeline")]
    except RuntimeError as error:  # not sqlite, or not a store: MLMD names the failed query
        reason = str(error).split(" query:")[0]
        raise InspectError(f"{metadata_path} is not an ML Metadata store: {reason}.") from None
    if pipeline is None:
        raise InspectError(
            f"No pipeline {pipeline_name!r} in {metadata_path}; it holds "
            + (", ".join(repr(name) for name in pipelines) or "no pipeline runs")
            + ". Pass --pipeline-name, or run local_runner.py first."
        )

    # TFX records each run as a "pipeline_run" context, a child of the pipeline's context.
    runs = [
        context
        for context in store.get_children_contexts_by_context(pipeline.id)
        if context.type == "pipeline_run"
    ]
    runs.sort(key=lambda context: context.id)
    by_component = run_summary.executions_by_component(store, pipeline_name)
    executions, component = {}, {}
    for component_id, component_executions in by_component.items():
        for execution in component_executions:
            executions[execution.id] = execution
            component[execution.id] = component_id
    run_execution_ids = {
        run.id: sorted(e.id for e in store.get_executions_by_context(run.id)) for run in runs
    }

    inputs, outputs, producer = collections.defaultdict(list), collections.defaultdict(list), {}
    events = store.get_events_by_execution_ids(list(executions))
    for event in sorted(events, key=lambda event: event.execution_id):
        # One event per artifact and execution; its path names every key the artifact
        # was bound to (the Evaluator gets one model as both "model" and "baseline_model").
        keys = [step.key for step in event.path.steps if step.HasField("key")] or [""]
        if event.type == metadata_store_pb2.Event.INPUT:
            inputs[event.execution_id] += [(key, event.artifact_id) for key in keys]
        elif event.type == metadata_store_pb2.Event.OUTPUT:
            outputs[event.execution_id] += [(key, event.artifact_id) for key in keys]
            # A cached execution outputs the artifacts of the one that wrote them, earlier.
            producer.setdefault(event.artifact_id, event.execution_id)
    artifact_ids = sorted({event.artifact_id for event in events})
    artifacts = {artifact.id: artifact for artifact in store.get_artifacts_by_id(artifact_ids)}
    return Records(
        metadata_path=metadata_path,
        pipeline_name=pipeline_name,
        runs=runs,
        run_execution_ids=run_execution_ids,
        executions=executions,
        component=component,
        artifacts=artifacts,
        inputs=dict(inputs),
        outputs=dict(outputs),
        producer=producer,
    )


# The sections' data: plain dicts and lists, printed as tables or as JSON.


def describe_runs(records: Records) -> list[dict]:
    return [describe_run(records, run) for run in records.runs]


def describe_run(records: Records, run) -> dict:
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
    metrics = run_summary.overall_metrics(evaluation.uri)
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


def describe_lineage(records: Records, artifact_id: int) -> list[dict]:
    """The artifact, then the inputs of the execution that wrote it, and so on back to the
    data: depth first, each artifact once, each with {input key: [artifact ids]}."""
    if artifact_id not in records.artifacts:
        raise InspectError(
            f"No artifact {artifact_id} in pipeline {records.pipeline_name!r}; "
            "see `inspect artifacts --run ID`."
        )
    nodes, seen = [], set()

    def visit(artifact_id):
        if artifact_id in seen:
            return
        seen.add(artifact_id)
        node = describe_artifact(records, artifact_id)
        node["inputs"] = collections.defaultdict(list)
        for key, input_id in sorted(records.inputs.get(node["execution_id"], [])):
            node["inputs"][key].append(input_id)
        node["inputs"] = dict(node["inputs"])
        nodes.append(node)
        for input_ids in node["inputs"].values():
            for input_id in input_ids:
                visit(input_id)

    visit(artifact_id)
    return nodes


def collect(records: Records, section: str | None, run_id=None, artifact_id=None) -> dict:
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
        if artifact_id is None:
            artifact_id = newest_pushed_model(records)
        data["lineage"] = describe_lineage(records, artifact_id)
    return data


# Text: plain aligned tables.


def format_table(header: list[str], rows: list[list], notes: list[str] | None = None) -> str:
    """Columns aligned; a column of numbers (and "-" for none) aligned right. A row's note,
    if any, goes on a line of its own below it, from the second column on."""
    cells = [[cell_text(value) for value in row] for row in rows]
    widths = [max(map(len, column)) for column in zip(header, *cells)]
    right = [bool(cells) and all(is_number(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row, note in zip([header, *cells], [None, *(notes or [None] * len(cells))]):
        padded = [
            text.rjust(width) if align_right else text.ljust(width)
            for text, width, align_right in zip(row, widths, right)
        ]
        lines.append("  ".join(padded).rstrip())
        if note:
            lines.append(" " * (widths[0] + 2) + note)
    return "\n".join(lines)


def cell_text(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True


def format_duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def format_runs(runs: list[dict]) -> str:
    header = ["run", "started", "duration", "status", "executions"]
    rows = [
        [
            run["id"],
            local_time(run["started"]),
            format_duration(run["duration_seconds"]),
            run["status"],
            ", ".join(f"{count} {state.lower()}" for state, count in run["states"].items()),
        ]
        for run in runs
    ]
    return format_table(header, rows)


def format_run_heading(run: dict, what: str = "Run") -> str:
    status = run["status"].lower()
    return f"{what} {run['id']} ({run['name']}): {status}, {run['executions']} executions"


def format_executions(executions: list[dict]) -> str:
    header = ["execution", "component", "state", "started", "duration"]
    rows = [
        [
            execution["id"],
            execution["component"],
            execution["state"],
            local_time(execution["started"]),
            format_duration(execution["duration_seconds"]),
        ]
        for execution in executions
    ]
    return format_table(header, rows)


def format_artifacts(artifacts: list[dict]) -> str:
    root = common_root([artifact["uri"] for artifact in artifacts])
    header = ["artifact", "type", "made by", "uri"]
    rows = [
        [
            artifact["id"],
            artifact["type"],
            f"{artifact['component']} #{artifact['execution_id']}",
            os.path.relpath(artifact["uri"], root),
        ]
        for artifact in artifacts
    ]
    notes = [short_properties(artifact["properties"]) for artifact in artifacts]
    return f"URIs under {root}/\n" + format_table(header, rows, notes)


def short_properties(properties: dict) -> str:
    """Counts, flags and versions; long strings (paths, JSON) stay in --json."""
    return " ".join(f"{k}={v}" for k, v in properties.items() if len(str(v)) <= 12)


def format_models(models: list[dict]) -> str:
    header = ["model", "made by", "evaluation", "baseline", "blessed", "pushed version"]
    rows, evaluations, destinations = [], [], set()
    for model in models:
        made_by = f"{model['component']} #{model['execution_id']}"
        pushes = {push["blessing_id"]: push for push in model["pushes"] if push["pushed"]}
        destinations |= {os.path.dirname(push["destination"]) for push in pushes.values()}
        for evaluation in model["evaluations"] or [None]:
            if evaluation is None:
                rows.append([model["id"], made_by, "not evaluated", None, None, None])
                continue
            evaluations.append(evaluation)
            push = pushes.get(evaluation["blessing_id"])
            rows.append(
                [
                    model["id"],
                    made_by,
                    evaluation["id"],
                    evaluation["baseline_model_id"],
                    {True: "yes", False: "no", None: None}[evaluation["blessed"]],
                    push["version"] if push else None,
                ]
            )
    lines = [format_table(header, rows)]
    for destination in sorted(destinations):
        lines.append(f"Pushed versions are in {destination}/")
    if evaluations:
        lines += ["", format_metrics(evaluations[-NEWEST_EVALUATIONS_SHOWN:])]
    return "\n".join(lines)


def format_metrics(evaluations: list[dict]) -> str:
    """Metrics down, evaluations across: many classes make many metrics."""
    names = sorted({name for evaluation in evaluations for name in evaluation["metrics"]})
    header = ["metric (eval split)"] + [f"evaluation {e['id']}" for e in evaluations]
    rows = [[name] + [e["metrics"].get(name) for e in evaluations] for name in names]
    return format_table(header, rows)


def format_lineage(nodes: list[dict]) -> str:
    """A tree: each artifact, then the inputs of the execution that made it."""
    by_id = {node["id"]: node for node in nodes}
    root = common_root([node["uri"] for node in nodes])
    rows, shown_artifacts, shown_executions = [], set(), set()

    def add(artifact_id, label_prefix, child_prefix, key):
        node = by_id[artifact_id]
        label = f"{label_prefix}{key + ': ' if key else ''}{node['type']} {artifact_id}"
        if artifact_id in shown_artifacts:
            rows.append([label + " (above)", "", ""])
            return
        shown_artifacts.add(artifact_id)
        made_by = f"{node['component']} #{node['execution_id']}" if node["component"] else None
        rows.append([label, made_by, os.path.relpath(node["uri"], root)])
        # An execution's inputs once: Transform made both the examples and the graph.
        if node["execution_id"] in shown_executions:
            return
        shown_executions.add(node["execution_id"])
        inputs = [(key, i) for key, ids in node["inputs"].items() for i in ids]
        for number, (input_key, input_id) in enumerate(inputs):
            last = number == len(inputs) - 1
            add(
                input_id,
                child_prefix + ("└─ " if last else "├─ "),
                child_prefix + ("   " if last else "│  "),
                input_key,
            )

    add(nodes[0]["id"], "", "", None)
    first = nodes[0]
    lines = [f"Lineage of {first['type']} {first['id']}", f"URIs under {root}/"]
    lines.append(format_table(["artifact, and what it was made from", "made by", "uri"], rows))
    if first["properties"].get("pushed"):
        lines.append(f"Pushed to {first['properties']['pushed_destination']}")
    return "\n".join(lines)


def format_text(data: dict, section: str | None) -> str:
    if section == "runs":
        return format_runs(data["runs"])
    if section == "executions":
        return format_run_heading(data["run"]) + "\n" + format_executions(data["executions"])
    if section == "artifacts":
        return format_run_heading(data["run"]) + "\n" + format_artifacts(data["artifacts"])
    if section == "models":
        return format_models(data["models"])
    if section == "lineage":
        return format_lineage(data["lineage"])
    return "\n".join(
        [
            f"Pipeline {data['pipeline']}, ML Metadata in {data['metadata']}",
            "",
            format_run_heading(data["run"], "Newest run"),
            format_executions(data["executions"]),
            "",
            "Models",
            format_models(data["models"]),
            "",
            "More: inspect runs | executions | artifacts | models | lineage; --json; --help",
        ]
    )


def common_root(uris: list[str]) -> str:
    """The directory above every URI (the pipeline root), so rows show short paths."""
    return os.path.commonpath([os.path.dirname(uri) for uri in uris]) if uris else ""


def state_name(execution) -> str:
    return metadata_store_pb2.Execution.State.Name(execution.last_known_state)


def timestamp(milliseconds: int) -> str:
    """ISO 8601 in local time, with its offset."""
    moment = datetime.datetime.fromtimestamp(milliseconds / 1000).astimezone()
    return moment.isoformat(timespec="seconds")


def local_time(iso: str) -> str:
    return iso[:19].replace("T", " ")


def seconds_between(start_ms: int, end_ms: int) -> float:
    return round((end_ms - start_ms) / 1000, 3)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="inspect", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("section", nargs="?", choices=SECTIONS, help="default: an overview")
    parser.add_argument(
        "--metadata",
        default=configs.PipelineConfig().metadata_path,
        help="the ML Metadata sqlite file (default: %(default)s)",
    )
    parser.add_argument("--pipeline-name", default=configs.PIPELINE_NAME)
    parser.add_argument("--run", help="a run id from `inspect runs` (default: the newest run)")
    parser.add_argument(
        "--artifact",
        type=flags.at_least(1),
        help="lineage of this artifact (default: the newest pushed model)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    # A flag the section does not read is a mistake to point out, not to ignore.
    if args.run is not None and args.section not in RUN_SECTIONS:
        parser.error(f"--run is for the overview, executions and artifacts, not {args.section}")
    if args.artifact is not None and args.section != "lineage":
        parser.error("--artifact is for `inspect lineage`")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # TFMA's reader calls a deprecated TensorFlow function, which says so on every run.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        records = load(args.metadata, args.pipeline_name)
        data = collect(records, args.section, args.run, args.artifact)
    except InspectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.json else format_text(data, args.section))
    return 0


if __name__ == "__main__":
    sys.exit(main())
