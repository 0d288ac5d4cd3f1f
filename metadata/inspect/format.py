"""`inspect`'s tables and trees: the described data, through rich, for a terminal (in its
width and colours) or as plain text (whole lines, no colour: for pipes, files and tests)."""

import io
import os

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

NEWEST_EVALUATIONS_SHOWN = 4  # metrics columns of the models table; --json has them all
PLAIN_WIDTH = 10_000  # plain text is not wrapped: a long URI stays on its line


def table(header: list[str], rows: list[list], wrap: str | None = None) -> Table:
    """Columns aligned; a column of numbers (and "-" for none) aligned right. In a narrow
    terminal, the column named `wrap` wraps; the others keep their values on one line."""
    cells = [[cell_text(value) for value in row] for row in rows]
    columns = Table(box=None, pad_edge=False, header_style="bold")
    for i, name in enumerate(header):
        numbers = bool(cells) and all(is_number(row[i]) for row in cells)
        justify = "right" if numbers else "left"
        columns.add_column(name, justify=justify, no_wrap=name != wrap, overflow="fold")
    for row in cells:
        columns.add_row(*(Text(cell) for cell in row))  # Text: "[x]" is not rich markup
    return columns


def cell_text(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(map(str, value))  # one word: a terminal wraps between properties
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


def runs_table(runs: list[dict]) -> Table:
    header = ["run id", "started", "duration", "status", "executions"]
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
    return table(header, rows)


def run_heading(run: dict) -> Text:
    """e.g. "Run id 22 (the newest of 2 runs), named 2026-...: complete, 10 executions"."""
    number, total = run["number"], run["total_runs"]
    if total == 1:
        which = "the only run"
    elif number == total:
        which = f"the newest of {total} runs"
    else:
        which = f"run {number} of {total}"
    status = run["status"].lower()
    heading = f"Run id {run['id']} ({which}), named {run['name']}: "
    return Text(heading + f"{status}, {run['executions']} executions", style="bold")


def executions_table(executions: list[dict]) -> Table:
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
    return table(header, rows)


def artifacts_table(artifacts: list[dict]) -> Group:
    root = common_root([artifact["uri"] for artifact in artifacts])
    header = ["artifact", "type", "made by", "uri", "properties"]
    rows = [
        [
            artifact["id"],
            artifact["type"],
            f"{artifact['component']} #{artifact['execution_id']}",
            os.path.relpath(artifact["uri"], root),
            short_properties(artifact["properties"]),
        ]
        for artifact in artifacts
    ]
    return Group(Text(f"URIs under {root}/"), table(header, rows, wrap="properties"))


def short_properties(properties: dict) -> str:
    """Counts, flags, versions, split names and the data source; paths and long strings
    stay in --json."""
    shown = {k: cell_text(v) for k, v in properties.items()}
    return "  ".join(
        f"{k}={v}"
        for k, v in shown.items()
        if (len(v) <= 24 or k == "source") and not v.startswith("/") and "://" not in v
    )


def models_tables(models: list[dict]) -> Group:
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
    parts = [table(header, rows)]
    parts += [
        Text(f"Pushed versions are in {destination}/") for destination in sorted(destinations)
    ]
    if evaluations:
        parts += [Text(), metrics_table(evaluations[-NEWEST_EVALUATIONS_SHOWN:])]
    return Group(*parts)


def metrics_table(evaluations: list[dict]) -> Table:
    """Metrics down, evaluations across: many classes make many metrics."""
    names = sorted({name for evaluation in evaluations for name in evaluation["metrics"]})
    header = ["metric (eval split)"] + [f"evaluation {e['id']}" for e in evaluations]
    rows = [
        [name] + [metric_value(name, e["metrics"].get(name)) for e in evaluations] for name in names
    ]
    return table(header, rows)


def metric_value(name: str, value: float | None):
    return int(value) if name == "example_count" and value is not None else value


def lineage_tree(nodes: list[dict]) -> Group:
    """The artifact, then the inputs of the execution that made it, and theirs."""
    by_id = {node["id"]: node for node in nodes}
    root = common_root([node["uri"] for node in nodes])
    first = nodes[0]
    tree = Tree(artifact_label(first, None, root))
    shown_artifacts, shown_executions = {first["id"]}, set()

    def add_inputs(branch: Tree, node: dict):
        # An execution's inputs once: Transform made both the examples and the graph.
        if node["execution_id"] in shown_executions:
            return
        shown_executions.add(node["execution_id"])
        for key, input_ids in node["inputs"].items():
            for input_id in input_ids:
                child = by_id[input_id]
                if input_id in shown_artifacts:
                    branch.add(Text(f"{key}: {child['type']} {input_id} (above)", style="dim"))
                    continue
                shown_artifacts.add(input_id)
                add_inputs(branch.add(artifact_label(child, key, root)), child)

    add_inputs(tree, first)
    parts = [Text(f"Lineage of {first['type']} {first['id']}", style="bold")]
    parts += [Text(f"URIs under {root}/"), tree]
    if first["properties"].get("pushed"):
        parts.append(Text(f"Pushed to {first['properties']['pushed_destination']}"))
    return Group(*parts)


def downstream_tree(nodes: list[dict]) -> Group:
    """The artifact, each execution that took it and what that made, and so on. An
    execution that took several of these artifacts is shown under the nearest one."""
    by_id = {node["id"]: node for node in nodes}
    root = common_root([node["uri"] for node in nodes])
    placed = {}  # execution id -> the artifact it is shown under (nodes are nearest first)
    for node in nodes:
        for use in node["used_by"]:
            placed.setdefault(use["execution_id"], node["id"])

    def add_uses(branch: Tree, node: dict):
        for use in node["used_by"]:
            keys = ", ".join(use["input_keys"])
            took = f"{use['component']} #{use['execution_id']} took it as {keys}"
            if use["state"] != "COMPLETE":
                took += f" ({use['state'].lower()}"
                took += ", made nothing)" if not use["outputs"] else ")"
            shown_under = by_id[placed[use["execution_id"]]]
            if shown_under is not node and use["outputs"]:
                where = f"{shown_under['type']} {shown_under['id']}"
                branch.add(Text(f"{took} (what it made: under {where})", style="dim"))
                continue
            execution = branch.add(Text(took, style="italic"))
            for key, output_ids in use["outputs"].items():
                for output_id in output_ids:
                    child = by_id[output_id]
                    add_uses(execution.add(artifact_label(child, key, root, False)), child)

    first = nodes[0]
    tree = Tree(artifact_label(first, None, root))
    add_uses(tree, first)
    title = Text(f"What was made from {first['type']} {first['id']}", style="bold")
    return Group(title, Text(f"URIs under {root}/"), tree)


def artifact_label(node: dict, key: str | None, root: str, made_by: bool = True) -> Text:
    """e.g. "model: Model 20  Trainer #17  Trainer/model/17"."""
    label = Text(f"{key}: " if key else "")
    label.append(f"{node['type']} {node['id']}", style="bold")
    if made_by and node["component"]:
        label.append(f"  {node['component']} #{node['execution_id']}")
    label.append(f"  {os.path.relpath(node['uri'], root)}", style="dim")
    return label


def renderables(data: dict, section: str | None) -> RenderableType:
    if section == "runs":
        return runs_table(data["runs"])
    if section == "executions":
        return Group(run_heading(data["run"]), executions_table(data["executions"]))
    if section == "artifacts":
        return Group(run_heading(data["run"]), artifacts_table(data["artifacts"]))
    if section == "models":
        return models_tables(data["models"])
    if section == "lineage":
        if "downstream" in data:
            return downstream_tree(data["downstream"])
        return lineage_tree(data["lineage"])
    return Group(
        Text(f"Pipeline {data['pipeline']}, ML Metadata in {data['metadata']}"),
        Text(),
        run_heading(data["run"]),
        executions_table(data["executions"]),
        Text(),
        Text("Models", style="bold"),
        models_tables(data["models"]),
        Text(),
        Text(
            "More: inspect runs | executions | artifacts | models | lineage [--downstream]; "
            "--json; --help"
        ),
    )


def format_text(data: dict, section: str | None) -> str:
    """Plain text: no colour, no wrapping, no trailing spaces."""
    console = Console(file=io.StringIO(), width=PLAIN_WIDTH, color_system=None)
    console.print(renderables(data, section))
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def common_root(uris: list[str]) -> str:
    """The directory above every URI (the pipeline root), so rows show short paths."""
    return os.path.commonpath([os.path.dirname(uri) for uri in uris]) if uris else ""


def local_time(iso: str) -> str:
    return iso[:19].replace("T", " ")
