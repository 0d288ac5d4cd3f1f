"""`inspect`'s tables: the described data as text for a terminal."""

import os

NEWEST_EVALUATIONS_SHOWN = 4  # metrics columns of the models table; --json has them all


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


def local_time(iso: str) -> str:
    return iso[:19].replace("T", " ")
