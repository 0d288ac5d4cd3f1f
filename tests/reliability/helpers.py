"""Real local_runner.py processes on the tiny dataset, and what they left behind."""

import os
import signal
import subprocess
import sys
import time

from pipeline import configs, run_summary
from tests.conftest import DATA_COMPONENTS, tiny_runner_flags

PROJECT_DIR = configs.PROJECT_DIR
STATE_NAMES = {1: "NEW", 2: "RUNNING", 3: "COMPLETE", 4: "FAILED", 5: "CACHED", 6: "CANCELED"}
# Upstream of the Trainer: what a rerun must take from the cache.
UPSTREAM = list(DATA_COMPONENTS)


def runner_command(output_dir, data_dir, train_steps=3, epochs=1):
    """local_runner.py on the tiny dataset at 64 px, blessing anything above 0."""
    return [
        sys.executable,
        os.path.join(PROJECT_DIR, "local_runner.py"),
        f"--output-dir={output_dir}",
        *tiny_runner_flags(data_dir, train_steps, epochs),
    ]


def start_runner(command, console_path):
    """The runner as a process of its own group, console to a file (pipes could fill up)."""
    with open(console_path, "ab") as console:
        return subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_runner(command, console_path, timeout=900):
    """Runs the runner to its end; returns (exit code, console text of this run)."""
    start = os.path.getsize(console_path) if os.path.exists(console_path) else 0
    process = start_runner(command, console_path)
    try:
        code = process.wait(timeout=timeout)
    finally:
        kill_group(process)
    with open(console_path, errors="replace") as console:
        console.seek(start)
        return code, console.read()


def kill_group(process):
    """SIGKILL the process and anything it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(condition, timeout, what, process=None):
    deadline = time.time() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the runner exited ({process.returncode}) before {what}")
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def wait_for_training(output_dir, process, timeout=600):
    """Until the Trainer's run_fn logs "Training on ...": the executor is training."""
    run_log = os.path.join(output_dir, "run.log")
    wait_for(
        lambda: os.path.exists(run_log) and "Training on" in open(run_log).read(),
        timeout=timeout,
        what="the Trainer to start training",
        process=process,
    )


def execution_states(output_dir, pipeline_name=configs.PIPELINE_NAME):
    """{component: [state names, oldest first]} from the output dir's ML Metadata store."""
    metadata_path = os.path.join(output_dir, "metadata.sqlite")
    if not os.path.exists(metadata_path):
        return {}
    store = run_summary.open_store(metadata_path)
    return {
        component: [STATE_NAMES[e.last_known_state] for e in executions]
        for component, executions in run_summary.executions_by_component(
            store, pipeline_name
        ).items()
    }


def serving_versions(output_dir):
    serving_dir = os.path.join(output_dir, "serving_model", configs.PIPELINE_NAME)
    return sorted(os.listdir(serving_dir)) if os.path.isdir(serving_dir) else []


def fill(directory):
    """Writes zeros to <directory>/ballast until its file system is full; returns the path."""
    path = os.path.join(directory, "ballast")
    with open(path, "wb") as ballast:
        try:
            while True:
                ballast.write(b"\0" * 2**20)
                ballast.flush()
        except OSError:
            pass
    return path
