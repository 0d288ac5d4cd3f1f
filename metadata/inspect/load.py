"""Reading one pipeline's records from ML Metadata, once, for `inspect` to describe."""

import collections
import dataclasses
import os

from ml_metadata.proto import metadata_store_pb2

from metadata import queries
from metadata.store import open_store


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
        store = open_store(metadata_path)
        runs = queries.pipeline_runs(store, pipeline_name)
        pipelines = queries.pipeline_names(store)
    except RuntimeError as error:  # not sqlite, or not a store: MLMD names the failed query
        reason = str(error).split(" query:")[0]
        raise InspectError(f"{metadata_path} is not an ML Metadata store: {reason}.") from None
    if runs is None:
        raise InspectError(
            f"No pipeline {pipeline_name!r} in {metadata_path}; it holds "
            + (", ".join(repr(name) for name in pipelines) or "no pipeline runs")
            + ". Pass --pipeline-name, or run local_runner.py first."
        )

    by_component = queries.executions_by_component(store, pipeline_name)
    executions, component = {}, {}
    for component_id, component_executions in by_component.items():
        for execution in component_executions:
            executions[execution.id] = execution
            component[execution.id] = component_id
    run_execution_ids = queries.execution_ids_by_run(store, runs)

    inputs, outputs, producer = collections.defaultdict(list), collections.defaultdict(list), {}
    events, artifacts = queries.events_and_artifacts(store, executions)
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
