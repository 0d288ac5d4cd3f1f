"""Real local_runner.py processes on the tiny dataset, and what they left behind."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from metadata import queries
from metadata.store import open_store
from pipeline import configs
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
    store = open_store(metadata_path)
    return {
        component: [STATE_NAMES[e.last_known_state] for e in executions]
        for component, executions in queries.executions_by_component(store, pipeline_name).items()
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


# Each file through a pushed model's two signatures, in a fresh process: what the
# hostile-input and fuzz tests send. The first file must be a good image.
SERVE_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, sys
    import tensorflow as tf

    model = tf.saved_model.load(sys.argv[1])
    segment_image = model.signatures["segment_image"]
    serving_default = model.signatures["serving_default"]

    def outcome(call):
        try:
            return call()["class_ids"].shape.as_list()
        except tf.errors.InvalidArgumentError as error:
            return error.message

    def read(path):
        with open(path, "rb") as file:
            return tf.constant(file.read())

    good = read(sys.argv[2])
    results = {}
    for path in sys.argv[2:]:
        image, name = read(path), os.path.basename(path)
        results["segment_image " + name] = outcome(lambda: segment_image(image=image))
        batch = tf.stack([good, image])
        results["serving_default " + name] = outcome(lambda: serving_default(images=batch))
    no_images = tf.constant([], tf.string)
    results["serving_default empty batch"] = outcome(lambda: serving_default(images=no_images))
    results["segment_image the first file again"] = outcome(lambda: segment_image(image=good))
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(results))
    """
)


def serve_files(model_dir, paths) -> dict:
    """{"segment_image NAME" / "serving_default NAME": mask shape or error message, ...}."""
    # A clean environment: no TF_USE_LEGACY_KERAS, nothing of the project imported.
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run(
        [sys.executable, "-c", SERVE_SCRIPT, model_dir, *paths],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
