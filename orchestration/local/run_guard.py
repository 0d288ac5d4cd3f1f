"""What keeps one output directory sound across runs: one run at a time, the repair of
what a killed run left behind, and the diagnosis of a full disk.

local runs only: on Kubeflow each task has its own pod and the backend keeps the state.
"""

import contextlib
import fcntl
import glob
import logging
import os
import shutil

from ml_metadata.proto import metadata_store_pb2

from metadata import queries
from metadata.store import open_store
from pipeline import configs, preflight

LOCK_FILE = ".lock"
_locked_output_dirs = set()  # held by this process: run_in_console locks before run() does


class OutputDirBusy(RuntimeError):
    """Another run holds the output directory."""


@contextlib.contextmanager
def output_dir_lock(output_dir: str):
    """Holds an exclusive lock on <output_dir>/.lock while the block runs.

    Two runs on one directory would share its ML Metadata store, its serving directory and
    TFX's execution-id-named output paths; refusing the second is simpler than making that
    safe. flock is released by the kernel when the process ends in any way, SIGKILL
    included, so a killed run never leaves a stale lock behind.
    """
    output_dir = os.path.abspath(output_dir)
    if output_dir in _locked_output_dirs:
        yield
        return
    # os.open's descriptors are not inherited by subprocesses: only this process holds it.
    lock_fd = os.open(os.path.join(output_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(lock_fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(lock_fd)
        raise OutputDirBusy(
            f"Another run (pid {holder}) is using the output directory {output_dir}. "
            "Wait for it to finish or stop it, or pass another --output-dir."
        ) from None
    os.ftruncate(lock_fd, 0)
    os.pwrite(lock_fd, f"{os.getpid()}\n".encode(), 0)  # for the message above
    _locked_output_dirs.add(output_dir)
    try:
        yield
    finally:
        _locked_output_dirs.discard(output_dir)
        os.close(lock_fd)  # releases the lock


def repair_what_killed_runs_left(config: configs.PipelineConfig):
    """Before a run, under the lock: fails executions no process runs any more and moves
    pushes cut short out of the serving directory, saying so."""
    for execution in fail_abandoned_executions(config):
        logging.warning(
            "%s was left RUNNING by a run that ended without recording its result (killed, or"
            " a full disk?); marked FAILED, its partial outputs removed.",
            execution,
        )
    for version_dir in set_aside_incomplete_pushes(config):
        logging.warning(
            "A pushed version without saved_model.pb (a push cut short) was moved out of"
            " the serving directory, to %s.",
            version_dir,
        )


ABANDONED_NOTE = "its process ended without recording a result; marked FAILED by the next run"


def fail_abandoned_executions(config: configs.PipelineConfig) -> list[str]:
    """Marks this pipeline's NEW or RUNNING executions FAILED; call under the lock.

    LocalDagRunner records each run's executions in that run's own context, so the
    execution of a killed process stays RUNNING for ever. Their output directories
    (<pipeline root>/<component>/<output>/<execution id>) are removed, as TFX does when
    an executor fails: no artifact in ML Metadata points to them.
    """
    if not os.path.exists(config.metadata_path):
        return []
    store = open_store(config.metadata_path, read_only=False)
    state = metadata_store_pb2.Execution
    abandoned, names = [], []
    for component, executions in queries.executions_by_component(
        store, config.pipeline_name
    ).items():
        for execution in executions:
            if execution.last_known_state not in (state.NEW, state.RUNNING):
                continue
            execution.last_known_state = state.FAILED
            execution.custom_properties["abandoned"].string_value = ABANDONED_NOTE
            abandoned.append(execution)
            names.append(f"{component} #{execution.id}")
            node_dir = os.path.join(config.pipeline_root, component)
            for partial in glob.glob(os.path.join(node_dir, "*", str(execution.id))) + glob.glob(
                os.path.join(node_dir, ".system", "executor_execution", str(execution.id))
            ):
                shutil.rmtree(partial, ignore_errors=True)
    if abandoned:
        store.put_executions(abandoned)
    return names


def set_aside_incomplete_pushes(config: configs.PipelineConfig) -> list[str]:
    """Moves pushed versions without saved_model.pb out of the serving directory.

    The Pusher copies saved_model.pb last, as the marker that a version is complete (TF
    Serving and inference/model.py look for it), so a push cut short leaves a version
    directory without it. It goes to <output_dir>/incomplete_pushes/, out of servers' sight.
    """
    moved = []
    serving_dir = config.serving_model_dir
    versions = os.listdir(serving_dir) if os.path.isdir(serving_dir) else []
    for version in versions:
        version_dir = os.path.join(serving_dir, version)
        if os.path.isdir(version_dir) and not os.path.exists(
            os.path.join(version_dir, "saved_model.pb")
        ):
            destination = os.path.join(config.output_dir, "incomplete_pushes", version)
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.move(version_dir, destination)
            moved.append(destination)
    return moved


def disk_full_message(output_dir: str) -> str | None:
    """Why a run failed, if the disk of output_dir is full; None if there is room.

    A full disk fails at whatever writes next, often ML Metadata's sqlite ("database or
    disk is full"), far from the cause: the message names the cause and the way out.
    """
    free_mb = shutil.disk_usage(output_dir).free // 2**20
    if free_mb >= preflight.MIN_FREE_MB:
        return None
    return (
        f"The run failed with {free_mb} MB free on the disk of {output_dir}: the disk is "
        "full. Free some space and run again: what finished is reused from the cache, and "
        "the interrupted component runs again."
    )
