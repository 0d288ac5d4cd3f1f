"""Run the pipeline on this machine: LocalDagRunner, Beam's in-memory runner, sqlite MLMD.

    python local_runner.py                          # the embedded synthetic dataset
    python local_runner.py --dataset oxford_iiit_pet  # the real one, through TFDS
    python local_runner.py --oxford-dir ~/data/oxford-iiit-pet   # the archives, unpacked
    python local_runner.py --image-dir imgs/ --mask-dir masks/ --mask-values background=0,pet=1

Everything goes under --output-dir (default ./outputs): the pipeline root, the ML Metadata
store (metadata.sqlite), the pushed models (serving_model/) and the full log (run.log).
A rerun with nothing changed is served from TFX's cache.

One run at a time per output directory: a run holds <output-dir>/.lock, and a second run
on the same directory is refused at start. A run that was killed can simply be run again:
it resumes from TFX's cache (see docs/reliability.md).
"""

import os

# Before anything imports TensorFlow: tf.Transform needs Keras 2 (tf_keras), and TF's C++
# INFO/WARNING chatter would bury the pipeline's own progress (it stays in run.log).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import fcntl  # noqa: E402
import glob  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from pipeline import configs, flags, preflight, progress, run_summary  # noqa: E402
from sources.image_files import SourceError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", default=configs.DEFAULT_OUTPUT_DIR)
    flags.add_flags(parser)
    return parser.parse_args(argv)


def config_from_args(args) -> configs.PipelineConfig:
    return flags.config_from_args(args, args.output_dir)


def run(config: configs.PipelineConfig, log_path: str) -> run_summary.RunSummary:
    # Imported here: `import tfx` takes half a minute, --help should not.
    from tfx import v1 as tfx
    from tfx.dsl.compiler import compiler

    from pipeline.pipeline import create_pipeline

    os.makedirs(config.output_dir, exist_ok=True)
    with output_dir_lock(config.output_dir):
        # Safe only under the lock: no other run of this output directory can be alive.
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
        metadata_config = tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.metadata_path
        )
        pipeline = create_pipeline(config, metadata_config)
        # Compiled without packaging models/ as wheels (as LocalDagRunner.run would): the
        # executors import the module files in place, and create_pipeline puts a hash of
        # models/ in the exec properties, so an edit there still re-runs Transform and
        # Trainer. Anything the compiler prints goes to the log.
        with (
            open(log_path, "a") as log,
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
        ):
            compiled = compiler.Compiler().compile(pipeline)
        tfx.orchestration.LocalDagRunner().run_with_ir(compiled)
        return run_summary.summarize(config.metadata_path, config.pipeline_name)


LOCK_FILE = ".lock"
_locked_output_dirs = set()  # held by this process: main() locks before run() does


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
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = config.metadata_path
    store = metadata_store.MetadataStore(connection)
    state = metadata_store_pb2.Execution
    abandoned, names = [], []
    for component, executions in run_summary.executions_by_component(
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


INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal: Ctrl-C (SIGINT), or SIGTERM from Kubernetes or CI."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


@contextlib.contextmanager
def interrupts_stop_the_run():
    """SIGINT and SIGTERM raise Interrupted in the main thread, where the run is."""

    def interrupt(signal_number, frame):
        raise Interrupted(signal_number)

    previous = {number: signal.signal(number, interrupt) for number in INTERRUPT_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = config_from_args(args)
        source_description = preflight.check(config)
        disk_warning = preflight.check_output_dir(config.output_dir)
    except (flags.FlagError, preflight.ConfigError) as error:
        raise SystemExit(f"Configuration error: {error}") from None
    try:
        with interrupts_stop_the_run(), output_dir_lock(config.output_dir):
            run_with_console(config, source_description, disk_warning)
    except OutputDirBusy as error:
        raise SystemExit(str(error)) from None
    except Interrupted as interrupted:
        # The lock goes with the process; the interrupted execution stays RUNNING in ML
        # Metadata until the next run marks it FAILED (fail_abandoned_executions).
        print(
            f"Interrupted ({signal.Signals(interrupted.signal_number).name}). The components "
            f"that finished are kept in {config.output_dir}; run the same command again to "
            "resume: they come from TFX's cache, and the interrupted one starts over.",
            file=sys.stderr,
        )
        raise SystemExit(128 + interrupted.signal_number) from None


def run_with_console(config, source_description: str, disk_warning: str | None):
    log_path = os.path.join(config.output_dir, "run.log")
    progress.configure_logging(log_path)
    if disk_warning:
        logging.warning(disk_warning)
    logging.info(
        "Pipeline %s on %s; outputs in %s (full log: %s).",
        config.pipeline_name,
        source_description,
        config.output_dir,
        log_path,
    )
    started = time.time()
    try:
        summary = run(config, log_path)
    except SourceError as error:
        # Data that cannot work (e.g. most pairs of a folder unusable): the message says
        # what and where; the traceback is for run.log.
        with open(log_path, "a") as log:
            traceback.print_exc(file=log)
        raise SystemExit(f"Data error: {error}") from None
    except Exception as error:
        # A full disk fails at whatever writes next, often ML Metadata's sqlite ("database
        # or disk is full"), far from the cause: name the cause and the way out.
        free_mb = shutil.disk_usage(config.output_dir).free // 2**20
        if free_mb >= preflight.MIN_FREE_MB:
            raise
        logging.exception("The run failed.")
        raise SystemExit(
            f"The run failed with {free_mb} MB free on the disk of {config.output_dir}: the "
            "disk is full. Free some space and run again: what finished is reused from the "
            "cache, and the interrupted component runs again."
        ) from error
    print(run_summary.format_summary(summary))
    print(f"Finished in {time.time() - started:.0f} s. ML Metadata: {config.metadata_path}")


if __name__ == "__main__":
    main()
