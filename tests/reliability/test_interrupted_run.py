"""A run stopped with SIGTERM (what Kubernetes and CI send; Ctrl-C's SIGINT takes the same
path) says so in one line, with what was kept and how to resume, and no traceback."""

import signal

from tests.reliability.helpers import (
    UPSTREAM,
    execution_states,
    kill_group,
    runner_command,
    start_runner,
    wait_for_training,
)


def test_sigterm_in_the_trainer_gives_one_line_and_keeps_the_finished_work(tmp_path, tiny_data_dir):
    output_dir = str(tmp_path / "outputs")
    console_path = str(tmp_path / "console.txt")
    process = start_runner(runner_command(output_dir, tiny_data_dir, train_steps=30), console_path)
    try:
        wait_for_training(output_dir, process)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=120)
    finally:
        kill_group(process)

    output = open(console_path, errors="replace").read()
    assert code == 128 + signal.SIGTERM, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    last_line = output.strip().splitlines()[-1]
    assert last_line.startswith("Interrupted (SIGTERM). The components that finished are kept")
    assert output_dir in last_line and "run the same command again to resume" in last_line
    states = execution_states(output_dir)
    for component in UPSTREAM:
        assert states[component] == ["COMPLETE"], component
    assert "Pusher" not in states
