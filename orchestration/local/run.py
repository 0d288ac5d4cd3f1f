"""One pipeline run on this machine: LocalDagRunner, Beam's in-memory runner, sqlite ML
Metadata, under the output directory's run guard, with one console line per component.
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import time
import traceback

from metadata import run_summary
from orchestration import sql_util_standin
from orchestration.local import progress, run_guard
from pipeline import configs, preflight
from sources.image_files import SourceError


def run(config: configs.PipelineConfig, log_path: str) -> run_summary.RunSummary:
    # Imported here: `import tfx` takes half a minute, --help should not.
    from tfx import v1 as tfx
    from tfx.dsl.compiler import compiler

    from pipeline.pipeline import create_pipeline

    os.makedirs(config.output_dir, exist_ok=True)
    with run_guard.output_dir_lock(config.output_dir):
        # Safe only under the lock: no other run of this output directory can be alive.
        run_guard.repair_what_killed_runs_left(config)
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
        # Beam's multi_processing SDK workers import TFDV without tfx: they need the stand-in.
        with sql_util_standin.in_child_processes():
            tfx.orchestration.LocalDagRunner().run_with_ir(compiled)
        return run_summary.summarize(config.metadata_path, config.pipeline_name)


INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal: Ctrl-C (SIGINT), or SIGTERM from Kubernetes or CI."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


# After a signal, the same signal again this many seconds later, until the run stops.
REDELIVERY_SECONDS = 1.0


@contextlib.contextmanager
def interrupts_stop_the_run():
    """SIGINT and SIGTERM raise Interrupted in the main thread, where the run is.

    Python runs a signal handler between two bytecodes of the main thread, wherever it
    is, and an exception raised in a weakref callback or a __del__ is printed and dropped:
    a SIGTERM during training was once lost so, and the run went on to the end. So each
    delivery also sends the signal again a moment later, until the run has stopped.
    """
    redelivery = None

    def interrupt(signal_number, frame):
        nonlocal redelivery
        redelivery = threading.Timer(REDELIVERY_SECONDS, os.kill, (os.getpid(), signal_number))
        redelivery.daemon = True
        redelivery.start()
        raise Interrupted(signal_number)

    def drop_quietly(unraisable):
        # Where Python drops the exception, it would print its traceback on the console:
        # the redelivery stops the run, and the run's one line says why.
        if not isinstance(unraisable.exc_value, Interrupted):
            previous_hook(unraisable)

    previous = {number: signal.signal(number, interrupt) for number in INTERRUPT_SIGNALS}
    previous_hook, sys.unraisablehook = sys.unraisablehook, drop_quietly
    try:
        yield
    finally:
        if redelivery is not None:
            redelivery.cancel()
        sys.unraisablehook = previous_hook
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_in_console(config: configs.PipelineConfig):
    """What `python local_runner.py` does with its config: checks first, then the run with
    one console line per component; every way it can end is one line (SystemExit)."""
    try:
        source_description = preflight.check(config)
        disk_warning = preflight.check_output_dir(config.output_dir)
    except preflight.ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from None
    try:
        with interrupts_stop_the_run(), run_guard.output_dir_lock(config.output_dir):
            run_with_console(config, source_description, disk_warning)
    except run_guard.OutputDirBusy as error:
        raise SystemExit(str(error)) from None
    except Interrupted as interrupted:
        # The lock goes with the process; the interrupted execution stays RUNNING in ML
        # Metadata until the next run marks it FAILED (run_guard.fail_abandoned_executions).
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
        disk_full = run_guard.disk_full_message(config.output_dir)
        if disk_full is None:
            raise
        logging.exception("The run failed.")
        raise SystemExit(disk_full) from error
    print(run_summary.format_summary(summary))
    print(f"Finished in {time.time() - started:.0f} s. ML Metadata: {config.metadata_path}")
