"""A run killed with SIGKILL in the Trainer, a second run on the same directory, a rerun.

One real local_runner.py process (A) is started; while it runs, a second one (B) on the
same output directory must be refused at once. A is then killed with SIGKILL as soon as
the Trainer is training, and the same command is run again (C): it must finish, reuse
everything upstream of the Trainer from the cache, and leave ML Metadata without an
execution still RUNNING.
"""

import os
import time

import pytest

from metadata.inspect import describe, load
from pipeline import configs
from tests.reliability.helpers import (
    UPSTREAM,
    execution_states,
    kill_group,
    run_runner,
    runner_command,
    serving_versions,
    start_runner,
    wait_for,
    wait_for_training,
)

# Long enough to be caught training (the first epoch alone takes ~30 s to build and
# compile), short enough for the rerun to train it all again in seconds.
TRAIN_STEPS = 30


@pytest.fixture(scope="module")
def paths(tmp_path_factory, tiny_data_dir):
    root = tmp_path_factory.mktemp("killed")
    output_dir = str(root / "outputs")
    return {
        "output_dir": output_dir,
        "command": runner_command(output_dir, tiny_data_dir, train_steps=TRAIN_STEPS),
        "console": str(root / "console.txt"),
        "second_console": str(root / "second_console.txt"),
        "pipeline_root": os.path.join(output_dir, "pipeline_root", configs.PIPELINE_NAME),
    }


@pytest.fixture(scope="module")
def killed_run(paths):
    """A, with B tried while A holds the directory; A killed once the Trainer trains."""
    lock_path = os.path.join(paths["output_dir"], ".lock")
    first = start_runner(paths["command"], paths["console"])
    try:
        wait_for(
            lambda: os.path.exists(lock_path) and open(lock_path).read().strip() == str(first.pid),
            timeout=180,
            what="the first run to take the lock",
            process=first,
        )
        started = time.time()
        second_code, second_output = run_runner(paths["command"], paths["second_console"])
        second_seconds = time.time() - started
        wait_for_training(paths["output_dir"], first)
    finally:
        kill_group(first)  # SIGKILL: no handler, no cleanup, no chance to record anything
    return {
        "pid": first.pid,
        "returncode": first.returncode,
        "second_code": second_code,
        "second_output": second_output,
        "second_seconds": second_seconds,
        "states": execution_states(paths["output_dir"]),
        "serving_versions": serving_versions(paths["output_dir"]),
        "killed_trainer_outputs": sorted(
            os.listdir(os.path.join(paths["pipeline_root"], "Trainer", "model"))
        ),
    }


@pytest.fixture(scope="module")
def resumed_run(paths, killed_run):
    """C: the same command again, after the kill; with a simulated push cut short."""
    # What a Pusher killed mid-copy leaves: it copies saved_model.pb last, so a version
    # directory with variables but no saved_model.pb (timing a real kill there is a lottery:
    # the copy takes milliseconds).
    incomplete = os.path.join(
        paths["output_dir"], "serving_model", configs.PIPELINE_NAME, "1000000000"
    )
    os.makedirs(os.path.join(incomplete, "variables"))
    with open(os.path.join(incomplete, "variables", "variables.index"), "wb") as partial:
        partial.write(b"\0" * 100)
    code, output = run_runner(paths["command"], paths["console"])
    assert code == 0, output[-3000:]
    return output


def test_a_second_run_on_the_same_output_dir_is_refused_at_once(paths, killed_run):
    output = killed_run["second_output"]
    assert killed_run["second_code"] == 1, output
    assert f"Another run (pid {killed_run['pid']}) is using the output directory" in output
    assert paths["output_dir"] in output and "pass another --output-dir" in output
    # Refused after the config checks (importing TensorFlow), before any pipeline work.
    assert killed_run["second_seconds"] < 120
    assert "running ..." not in output


def test_a_kill_in_the_trainer_leaves_nothing_in_the_serving_dir(killed_run):
    assert killed_run["returncode"] == -9  # SIGKILL, not a clean exit
    states = killed_run["states"]
    for component in UPSTREAM:
        assert states[component] == ["COMPLETE"], component
    # What TFX 1.21 leaves behind: the killed execution RUNNING for ever.
    assert states["Trainer"] == ["RUNNING"]
    assert "Pusher" not in states
    assert killed_run["serving_versions"] == []


def test_the_rerun_resumes_from_the_cache_and_fails_the_killed_execution(
    paths, killed_run, resumed_run
):
    states = execution_states(paths["output_dir"])
    for component in UPSTREAM:
        assert states[component] == ["COMPLETE", "CACHED"], component
    assert states["Trainer"] == ["FAILED", "COMPLETE"]
    assert all("RUNNING" not in s and "NEW" not in s for s in states.values()), states
    assert "Trainer #" in resumed_run and "marked FAILED" in resumed_run
    # The killed execution's partial outputs are gone; the new one's are there.
    (killed_id,) = killed_run["killed_trainer_outputs"]
    model_dirs = os.listdir(os.path.join(paths["pipeline_root"], "Trainer", "model"))
    assert killed_id not in model_dirs and len(model_dirs) == 1
    # `inspect runs` now shows the killed run as FAILED, not as running for ever.
    records = load.load(os.path.join(paths["output_dir"], "metadata.sqlite"), configs.PIPELINE_NAME)
    assert [run["status"] for run in describe.describe_runs(records)] == [
        "FAILED",
        "COMPLETE",
    ]


def test_only_complete_models_stay_in_the_serving_dir(paths, resumed_run):
    (version,) = serving_versions(paths["output_dir"])
    version_dir = os.path.join(paths["output_dir"], "serving_model", configs.PIPELINE_NAME)
    assert os.path.isfile(os.path.join(version_dir, version, "saved_model.pb"))
    moved = os.path.join(paths["output_dir"], "incomplete_pushes", "1000000000")
    assert os.path.isfile(os.path.join(moved, "variables", "variables.index"))
    assert f"moved out of the serving directory, to {moved}" in resumed_run
