"""The ML Metadata queries the runner, `inspect` and the benchmarks share (`inspect` reads
the store through these only).

TFX records each component of a pipeline in a "node" context named PIPELINE.COMPONENT_ID
(the ids are `pipeline.pipeline.COMPONENT_IDS`), and each run of the pipeline in a
"pipeline_run" context, a child of the pipeline's "pipeline" context; these read
executions and artifacts back through them.
"""

from ml_metadata.proto import metadata_store_pb2


def executions_by_component(store, pipeline_name: str) -> dict[str, list]:
    """{component id: its executions, oldest first}, from TFX's per-node contexts."""
    prefix = pipeline_name + "."
    by_component = {}
    for context in store.get_contexts_by_type("node"):
        if context.name.startswith(prefix):
            executions = store.get_executions_by_context(context.id)
            by_component[context.name[len(prefix) :]] = sorted(executions, key=lambda e: e.id)
    return by_component


def latest_outputs(store, pipeline_name: str) -> dict[tuple[str, str], metadata_store_pb2.Artifact]:
    """{(component id, output key): the newest artifact it output}, cached runs included."""
    newest_ids = {}
    for component, executions in executions_by_component(store, pipeline_name).items():
        events = store.get_events_by_execution_ids([e.id for e in executions])
        for event in events:
            if event.type != metadata_store_pb2.Event.OUTPUT:
                continue
            key = (component, event.path.steps[0].key)
            newest_ids[key] = max(newest_ids.get(key, 0), event.artifact_id)
    artifacts = {a.id: a for a in store.get_artifacts_by_id(list(newest_ids.values()))}
    return {key: artifacts[artifact_id] for key, artifact_id in newest_ids.items()}


def pipeline_names(store) -> list[str]:
    """The names of every pipeline the store holds runs of."""
    return [context.name for context in store.get_contexts_by_type("pipeline")]


def pipeline_runs(store, pipeline_name: str) -> list | None:
    """The pipeline's "pipeline_run" contexts, oldest first; None: no such pipeline."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return None
    children = store.get_children_contexts_by_context(pipeline.id)
    return sorted((c for c in children if c.type == "pipeline_run"), key=lambda c: c.id)


def execution_ids_by_run(store, runs) -> dict[int, list[int]]:
    """{run context id: its execution ids, in order}."""
    return {run.id: sorted(e.id for e in store.get_executions_by_context(run.id)) for run in runs}


def events_and_artifacts(
    store, execution_ids
) -> tuple[list, dict[int, metadata_store_pb2.Artifact]]:
    """The executions' input and output events, and {artifact id: artifact} of them all."""
    events = store.get_events_by_execution_ids(list(execution_ids))
    artifact_ids = sorted({event.artifact_id for event in events})
    return events, {artifact.id: artifact for artifact in store.get_artifacts_by_id(artifact_ids)}
