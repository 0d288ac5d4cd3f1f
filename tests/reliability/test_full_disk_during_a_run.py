"""A disk that fills up while the Trainer runs: a clear failure, and nothing lost.

The output directory is a 300 MB tmpfs (enough for the start-up check); once the Trainer
trains, a ballast file takes all the space left, as another program filling the disk
would. The run must fail with a message naming the cause, ML Metadata must stay readable,
and once space is freed the same command must finish, reusing what was done before.
"""

import os

import pytest

from tests.reliability.helpers import (
    UPSTREAM,
    execution_states,
    fill,
    kill_group,
    run_runner,
    runner_command,
    serving_versions,
    start_runner,
    wait_for_training,
)

# Two pipeline runs (about 3 minutes): run with `pytest -m slow`, to keep CI's suite short.
pytestmark = pytest.mark.slow


def test_a_disk_filling_up_in_training_fails_clearly_and_the_rerun_recovers(
    tmpfs, tiny_data_dir, tmp_path
):
    output_dir = str(tmpfs(300) / "outputs")
    console = str(tmp_path / "console.txt")
    command = runner_command(output_dir, tiny_data_dir)
    runner = start_runner(command, console)
    try:
        wait_for_training(output_dir, runner)
        ballast = fill(os.path.dirname(output_dir))
        code = runner.wait(timeout=600)
    finally:
        kill_group(runner)

    output = open(console, errors="replace").read()
    assert code == 1, output[-3000:]
    assert (
        output.strip()
        .splitlines()[-1]
        .endswith(
            "the disk is full. Free some space and run again: what finished is reused from the "
            "cache, and the interrupted component runs again."
        )
    )
    # ML Metadata is intact. The Trainer's failure could not be recorded (the sqlite write
    # itself needs space), so it is left RUNNING, like a killed one.
    states = execution_states(output_dir)
    for component in UPSTREAM:
        assert states[component] == ["COMPLETE"], component
    assert states["Trainer"] in (["RUNNING"], ["FAILED"])
    assert serving_versions(output_dir) == []

    os.remove(ballast)
    code, output = run_runner(command, console)
    assert code == 0, output[-3000:]
    states = execution_states(output_dir)
    for component in UPSTREAM:
        assert states[component] == ["COMPLETE", "CACHED"], component
    assert states["Trainer"] == ["FAILED", "COMPLETE"]
    assert len(serving_versions(output_dir)) == 1
