"""`inspect` on the ML Metadata of two tiny runs: one that trains, one served from the cache
(and on a copy of the store as it was after the first)."""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from bench import cli_startup
from evaluation import tfma_metrics
from metadata import queries
from metadata.inspect import cli
from metadata.inspect.format import format_duration
from metadata.store import open_store
from orchestration.local import run as local_run
from pipeline import configs
from tests.conftest import DATA_COMPONENTS, tiny_pipeline_config

# The second run takes everything up to the Trainer from the cache; the Evaluator runs
# again (now with the first run's blessed model as its baseline), and all after it.
CACHED = {*DATA_COMPONENTS, "Trainer"}


@pytest.fixture
def expected_states(component_ids):
    """{component: its state} in the first run and in the second."""
    first = {component: "COMPLETE" for component in component_ids}
    second = {component: "CACHED" if component in CACHED else "COMPLETE" for component in first}
    return first, second


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    config = tiny_pipeline_config(tmp_path_factory.mktemp("inspect"))
    for _ in range(2):
        local_run.run(config, os.path.join(config.output_dir, "run.log"))
        if not os.path.exists(one_run_store(config)):
            shutil.copy(config.metadata_path, one_run_store(config))
    return config


def one_run_store(config) -> str:
    """The ML Metadata store as the first run left it."""
    return os.path.join(config.output_dir, "one_run.sqlite")


def inspect(capsys, config, *args, metadata=None):
    """The table and the JSON of one `inspect` command."""
    arguments = [*args, "--metadata", metadata or config.metadata_path]
    assert cli.main(arguments) == 0
    table = capsys.readouterr().out
    assert cli.main([*arguments, "--json"]) == 0
    return table, json.loads(capsys.readouterr().out)


def table_row(table: str, *cells) -> str:
    """The one line of the table that holds all these cells, in this order."""
    lines = [line for line in table.splitlines() if line.split()[: len(cells)] == list(cells)]
    assert len(lines) == 1, (cells, table)
    return lines[0]


def test_runs_lists_both_runs_with_their_states(capsys, config, component_ids):
    table, data = inspect(capsys, config, "runs")

    first, second = data["runs"]
    assert [(run["number"], run["total_runs"]) for run in data["runs"]] == [(1, 2), (2, 2)]
    assert table.splitlines()[0].split()[:2] == ["run", "id"]
    rerun = len(component_ids) - len(CACHED)
    assert first["states"] == {"COMPLETE": len(component_ids)}
    assert second["states"] == {"CACHED": len(CACHED), "COMPLETE": rerun}
    for run in data["runs"]:
        assert run["status"] == "COMPLETE"
        assert run["duration_seconds"] >= 0
        datetime.datetime.fromisoformat(run["started"])
        assert run["started"][:19].replace("T", " ") in table_row(table, str(run["id"]))
    assert f"{len(component_ids)} complete" in table_row(table, str(first["id"]))
    assert f"{len(CACHED)} cached, {rerun} complete" in table_row(table, str(second["id"]))


@pytest.mark.parametrize("run_index", [0, 1])
def test_executions_of_a_run(capsys, config, expected_states, run_index):
    _, runs = inspect(capsys, config, "runs")
    # The first run by its id, the second as the default: the newest.
    run_option = ["--run", str(runs["runs"][0]["id"])] if run_index == 0 else []
    table, data = inspect(capsys, config, "executions", *run_option)

    states = {execution["component"]: execution["state"] for execution in data["executions"]}
    assert states == expected_states[run_index]
    which = ["run 1 of 2", "the newest of 2 runs"][run_index]
    assert table.startswith(f"Run id {data['run']['id']} ({which}), named {data['run']['name']}: ")
    for execution in data["executions"]:
        assert isinstance(execution["duration_seconds"], float)
        assert execution["duration_seconds"] >= 0
        row = table_row(table, str(execution["id"]), execution["component"], execution["state"])
        assert row.endswith(format_duration(execution["duration_seconds"]))


def test_artifacts_with_uris_on_disk_and_their_producers(capsys, config):
    table, data = inspect(capsys, config, "artifacts")

    by_output = {(a["component"], a["output"]): a for a in data["artifacts"]}
    assert {"examples", "transform_graph", "model", "evaluation", "pushed_model"} <= {
        output for _, output in by_output
    }
    root = table.splitlines()[1].removeprefix("URIs under ")
    for artifact in data["artifacts"]:
        assert os.path.isdir(artifact["uri"]), artifact
        assert artifact["state"] == "LIVE"
        relative_uri = os.path.relpath(artifact["uri"], root)
        assert relative_uri in table_row(table, str(artifact["id"]), artifact["type"]).split()
    examples = by_output["TFDSExampleGen", "examples"]
    assert examples["properties"]["num_examples_train"] == 32
    # TFX stores split_names as JSON text: a list in the JSON, the names in the table.
    for output in [("TFDSExampleGen", "examples"), ("StatisticsGen", "statistics")]:
        assert by_output[output]["properties"]["split_names"] == ["train", "eval"]
    row = table_row(table, str(examples["id"]), "Examples")
    assert (
        "num_examples_eval=16  num_examples_train=32  source=TFDS synthetic_pets/tiny/1.1.0  "
        "split_names=train,eval  synthetic=1"
    ) in row


def test_models_with_metrics_blessing_and_pushes(capsys, config):
    table, data = inspect(capsys, config, "models")

    # The second run's Trainer was cached: one model, evaluated and pushed twice.
    (model,) = data["models"]
    first, second = model["evaluations"]
    assert first["baseline_model_id"] is None
    assert second["baseline_model_id"] == model["id"]  # its own blessing, as the baseline
    for evaluation in model["evaluations"]:
        assert evaluation["blessed"] is True
        mean_dice = evaluation["metrics"]["mean_dice"]
        assert isinstance(mean_dice, float) and 0.0 <= mean_dice <= 1.0
        push = [p for p in model["pushes"] if p["blessing_id"] == evaluation["blessing_id"]][0]
        assert push["pushed"] is True
        assert os.path.dirname(push["destination"]) == config.serving_model_dir
        assert os.path.isfile(os.path.join(push["destination"], "saved_model.pb"))
        made_by = ["Trainer", f"#{model['execution_id']}"]
        row = table_row(table, str(model["id"]), *made_by, str(evaluation["id"]))
        baseline = evaluation["baseline_model_id"]
        assert row.split()[4:] == [str(baseline or "-"), "yes", push["version"]]
    metrics_row = table_row(table, "mean_dice")
    assert metrics_row.split()[1:] == [f"{e['metrics']['mean_dice']:.4f}" for e in (first, second)]
    assert table_row(table, "example_count").split()[1:] == ["16", "16"]
    # Read without TensorFlow, the metrics are TFMA's own reader's.
    for evaluation in model["evaluations"]:
        expected = tfma_metrics.candidate_metrics_by_slice(evaluation["uri"])[()]
        assert evaluation["metrics"] == expected


def test_the_overview_and_models_answer_without_tensorflow(config):
    # The metrics are read from the Evaluator's files, not through TFMA. Fresh processes,
    # as bench/cli_startup.py times them (--metadata); no timing is asserted here.
    commands = cli_startup.metadata_commands(config.metadata_path, rounds=1)
    assert list(commands) == ["inspect", "inspect models"]
    for name, result in commands.items():
        assert result["imports_tensorflow"] is False, name
        assert len(result["rounds_seconds"]) == 1


def test_lineage_goes_from_the_pushed_model_back_to_the_examples(capsys, config):
    table, data = inspect(capsys, config, "lineage")

    nodes = {node["id"]: node for node in data["lineage"]}
    pushed = data["lineage"][0]
    model = nodes[pushed["inputs"]["model"][0]]
    examples = nodes[model["inputs"]["examples"][0]]
    transform_graph = nodes[model["inputs"]["transform_graph"][0]]
    assert transform_graph["inputs"]["examples"] == [examples["id"]]
    assert [node["type"] for node in [pushed, model, transform_graph, examples]] == [
        "PushedModel",
        "Model",
        "TransformGraph",
        "Examples",
    ]
    made_by = [node["component"] for node in [pushed, model, transform_graph, examples]]
    assert made_by == ["Pusher", "Trainer", "Transform", "TFDSExampleGen"]
    store = open_store(config.metadata_path)
    outputs = queries.latest_outputs(store, config.pipeline_name)
    assert pushed["id"] == outputs["Pusher", "pushed_model"].id  # the newest push
    assert examples["uri"] == outputs["TFDSExampleGen", "examples"].uri
    assert examples["inputs"] == {}

    # The table shows the same lineage as a tree: each artifact once in full (what made it,
    # where it is), then "(above)"; the model is one of the push's inputs.
    lines = table.splitlines()
    assert lines[0] == f"Lineage of PushedModel {pushed['id']}"
    root = lines[1].removeprefix("URIs under ")
    assert lines[2].startswith(f"PushedModel {pushed['id']}  Pusher #{pushed['execution_id']}  ")
    for node in data["lineage"]:
        made_by = f"  {node['component']} #{node['execution_id']}  "
        full = f"{node['type']} {node['id']}{made_by}{os.path.relpath(node['uri'], root)}"
        assert len([line for line in lines if line.endswith(full)]) == 1, (full, table)
    assert any(
        line[:4] in ("├── ", "└── ") for line in lines if f"model: Model {model['id']}" in line
    )
    assert lines[-1] == f"Pushed to {pushed['properties']['pushed_destination']}"


def test_downstream_goes_from_the_examples_to_the_models_and_pushes(capsys, config):
    table, data = inspect(capsys, config, "lineage", "--downstream")

    store = open_store(config.metadata_path)
    executions = queries.executions_by_component(store, config.pipeline_name)
    # Both runs read the same examples: the second took them from the cache.
    first_run, second_run = ({c: e[i].id for c, e in executions.items()} for i in (0, 1))
    outputs = queries.latest_outputs(store, config.pipeline_name)
    examples = data["downstream"][0]
    assert (examples["id"], examples["type"]) == (
        outputs["TFDSExampleGen", "examples"].id,
        "Examples",
    )
    nodes = {node["id"]: node for node in data["downstream"]}

    def used_by(node):
        return {(use["component"], use["execution_id"]): use for use in node["used_by"]}

    # What took the examples: each execution that ran, none that was served from the cache.
    took_examples = used_by(examples)
    assert {key: use["input_keys"] for key, use in took_examples.items()} == consumers(
        store, examples
    )
    ran = [(c, first_run[c]) for c in ("StatisticsGen", "Transform", "Trainer")]
    ran += [(c, run[c]) for run in (first_run, second_run) for c in ("Evaluator", "Pusher")]
    assert set(ran) <= set(took_examples)
    assert ("Trainer", second_run["Trainer"]) not in took_examples  # cached
    trainer = took_examples["Trainer", first_run["Trainer"]]
    (model_id,) = trainer["outputs"]["model"]
    graph_id = took_examples["Transform", first_run["Transform"]]["outputs"]["transform_graph"][0]
    assert nodes[graph_id]["type"] == "TransformGraph"
    assert ("Trainer", first_run["Trainer"]) in used_by(nodes[graph_id])

    # The model: evaluated in both runs (its own baseline in the second), pushed in both.
    model = nodes[model_id]
    assert model["type"] == "Model" and model["component"] == "Trainer"
    took_model = used_by(model)
    assert {key: use["input_keys"] for key, use in took_model.items()} == consumers(store, model)
    assert took_model["Evaluator", first_run["Evaluator"]]["input_keys"] == ["model"]
    assert took_model["Evaluator", second_run["Evaluator"]]["input_keys"] == [
        "baseline_model",
        "model",
    ]
    for run in (first_run, second_run):
        evaluator = took_model["Evaluator", run["Evaluator"]]["outputs"]
        assert [nodes[i]["type"] for i in evaluator["blessing"]] == ["ModelBlessing"]
        (pushed_id,) = took_model["Pusher", run["Pusher"]]["outputs"]["pushed_model"]
        assert nodes[pushed_id]["type"] == "PushedModel"
        assert used_by(nodes[evaluator["blessing"][0]])["Pusher", run["Pusher"]]["outputs"] == {
            "pushed_model": [pushed_id]
        }
    assert pushed_id == outputs["Pusher", "pushed_model"].id

    # The tree: each execution under the nearest artifact it took, its outputs under it.
    lines = table.splitlines()
    assert lines[0] == f"What was made from Examples {examples['id']}"
    assert lines[2].startswith(f"Examples {examples['id']}  TFDSExampleGen #")
    assert f"├── Trainer #{first_run['Trainer']} took it as examples" in lines
    model_line = lines.index(next(line for line in lines if f"model: Model {model_id}  " in line))
    assert re.match("│   [├└]── model: Model", lines[model_line])  # under the Trainer
    assert f"Pusher #{second_run['Pusher']} took it as model" in "\n".join(lines[model_line:])


def consumers(store, node: dict) -> dict[tuple[str, int], list[str]]:
    """{(component, execution id): the input keys} of the executions that took the artifact,
    as ML Metadata has them, but the cached ones."""
    events = [
        event
        for event in store.get_events_by_artifact_ids([node["id"]])
        if event.type == event.INPUT
    ]
    execution_ids = sorted({event.execution_id for event in events})
    executions = {e.id: e for e in store.get_executions_by_id(execution_ids)}
    component = {
        e.id: c
        for c, es in queries.executions_by_component(store, configs.PIPELINE_NAME).items()
        for e in es
    }
    return {
        (component[event.execution_id], event.execution_id): sorted(
            step.key for step in event.path.steps if step.HasField("key")
        )
        for event in events
        if executions[event.execution_id].last_known_state != executions[event.execution_id].CACHED
    }


def test_lineage_of_the_newest_artifact_of_a_type(capsys, config):
    _, upstream = inspect(capsys, config, "lineage", "--artifact", "model")
    _, downstream = inspect(capsys, config, "lineage", "--downstream", "--artifact", "Schema")

    outputs = queries.latest_outputs(open_store(config.metadata_path), config.pipeline_name)
    assert upstream["lineage"][0]["id"] == outputs["Trainer", "model"].id
    schema = downstream["downstream"][0]
    assert schema["id"] == outputs["SchemaGen", "schema"].id
    took_schema = {
        (use["component"], use["execution_id"]): use["input_keys"] for use in schema["used_by"]
    }
    assert took_schema == consumers(open_store(config.metadata_path), schema)
    assert {"Transform", "Trainer"} <= {component for component, _ in took_schema}


def test_overview_shows_the_newest_run_and_the_models(capsys, config, expected_states):
    table, data = inspect(capsys, config)

    assert list(data) == ["pipeline", "metadata", "run", "executions", "models"]
    assert {e["component"]: e["state"] for e in data["executions"]} == expected_states[1]
    assert f"Run id {data['run']['id']} (the newest of 2 runs), named " in table
    assert "Evaluator" in table and "mean_dice" in table


def test_overview_of_a_store_with_one_run(capsys, config, expected_states):
    table, data = inspect(capsys, config, metadata=one_run_store(config))

    assert (data["run"]["number"], data["run"]["total_runs"]) == (1, 1)
    assert {e["component"]: e["state"] for e in data["executions"]} == expected_states[0]
    heading = f"Run id {data['run']['id']} (the only run), named {data['run']['name']}: "
    assert table.splitlines()[2] == heading + "complete, 10 executions"
    (model,) = data["models"]
    assert len(model["evaluations"]) == 1


def test_a_terminal_gets_the_same_tables(capsys, config, monkeypatch):
    plain, _ = inspect(capsys, config, "models")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["models", "--metadata", config.metadata_path]) == 0
    terminal = capsys.readouterr().out
    assert re.sub(r"\x1b\[[0-9;]*m", "", terminal).split() == plain.split()


def test_a_missing_store_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "nowhere" / "metadata.sqlite")
    result = subprocess.run(
        [sys.executable, "-m", "metadata.inspect", "runs", "--metadata", missing],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"No ML Metadata store at {missing}" in result.stderr
    assert "local_runner.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_mistakes_are_clear_errors(capsys, config, tmp_path):
    not_a_store = tmp_path / "notes.sqlite"
    not_a_store.write_text("hello")
    for arguments, message in [
        (["--metadata", str(not_a_store)], f"{not_a_store} is not an ML Metadata store"),
        (
            ["--metadata", config.metadata_path, "--pipeline-name", "cats"],
            f"No pipeline 'cats' in {config.metadata_path}; it holds 'pet-segmentation'",
        ),
        (["executions", "--metadata", config.metadata_path, "--run", "9999"], "No run '9999'"),
        (
            ["lineage", "--metadata", config.metadata_path, "--artifact", "9999"],
            "No artifact 9999 in pipeline 'pet-segmentation'",
        ),
        (
            ["lineage", "--metadata", config.metadata_path, "--artifact", "Cats"],
            "No artifact of type 'Cats' in pipeline 'pet-segmentation'; it has ExampleAnomalies,",
        ),
    ]:
        assert cli.main(arguments) == 1
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["models", "--run", "1"],
            "--run is for the overview, executions and artifacts, not models",
        ),
        (["runs", "--run", "1"], "--run is for the overview, executions and artifacts, not runs"),
        (
            ["lineage", "--run", "1"],
            "--run is for the overview, executions and artifacts, not lineage",
        ),
        (["--artifact", "3"], "--artifact is for `inspect lineage`"),
        (["artifacts", "--artifact", "3"], "--artifact is for `inspect lineage`"),
        (["models", "--downstream"], "--downstream is for `inspect lineage`"),
        (["lineage", "--artifact", "0"], "argument --artifact: 0: it must be 1 or more"),
        (["lineage", "--artifact", "-2"], "argument --artifact: -2: it must be 1 or more"),
    ],
)
def test_a_flag_the_section_does_not_read_is_refused_not_ignored(capsys, arguments, message):
    # Parsing alone: no store is needed to refuse these.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(arguments)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"inspect: error: {message}"
