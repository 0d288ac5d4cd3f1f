"""Run the pipeline on this machine: LocalDagRunner, Beam's DirectRunner, sqlite MLMD.

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
import dataclasses  # noqa: E402
import fcntl  # noqa: E402
import glob  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

from pipeline import configs, preflight, progress, run_summary  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data = parser.add_argument_group("data source (one of --dataset, --oxford-dir, --image-dir)")
    data.add_argument(
        "--dataset",
        default="synthetic_pets",
        help=f"a preset ({', '.join(sorted(configs.DATASETS))}) or any TFDS dataset name",
    )
    data.add_argument("--data-dir", help="TFDS data_dir (default: TFDS's, ~/tensorflow_datasets)")
    data.add_argument("--train-split", help="TFDS split expression for training")
    data.add_argument("--eval-split", help="TFDS split expression for evaluation")
    data.add_argument("--image-key", help="a TFDS dataset's image feature name")
    data.add_argument("--mask-key", help="a TFDS dataset's mask feature name")
    data.add_argument(
        "--oxford-dir", help="the Oxford-IIIT Pet archives unpacked (images/, annotations/)"
    )
    data.add_argument("--image-dir", help="a folder of images (with --mask-dir)")
    data.add_argument("--mask-dir", help="masks named like their images (with --image-dir)")
    data.add_argument(
        "--mask-values", help="what mask values mean, e.g. background=0,pet=1 (pet=1+3: two)"
    )
    data.add_argument(
        "--mask-palette", help="colour masks: class colours, e.g. background=#000000,pet=#ff0000"
    )
    data.add_argument(
        "--eval-fraction", type=float, help="folders: share held out for the Evaluator (0.1)"
    )
    parser.add_argument("--output-dir", default=configs.DEFAULT_OUTPUT_DIR)
    parser.add_argument("--pipeline-name", default=configs.PIPELINE_NAME)
    training = configs.TrainingConfig()
    parser.add_argument("--epochs", type=int, default=training.epochs)
    parser.add_argument(
        "--train-steps",
        type=int,
        default=training.train_steps,
        help="total training steps (default: whole epochs)",
    )
    parser.add_argument("--batch-size", type=int, default=training.batch_size)
    parser.add_argument("--image-size", type=int, default=training.image_size)
    parser.add_argument("--class-mode", default=training.class_mode)
    parser.add_argument(
        "--backbone", default=training.backbone, help="mobilenet_v2 or efficientnet_b0"
    )
    parser.add_argument("--alpha", type=float, default=training.alpha, help="MobileNetV2 width")
    parser.add_argument("--loss", default=training.loss, help="dice, dice_ce or focal")
    parser.add_argument(
        "--encoder-weights",
        default=training.encoder_weights,
        help="'imagenet', 'none', or a path to the backbone's no-top weights",
    )
    evaluation = configs.EvaluationConfig()
    parser.add_argument(
        "--blessing-metric",
        default=evaluation.blessing_metric,
        help="the metric blessing looks at: mean_dice, mean_iou, foreground_dice, ...",
    )
    parser.add_argument(
        "--blessing-min",
        type=float,
        default=evaluation.blessing_min,
        help="a model whose blessing metric is below this on the eval split is not blessed",
    )
    return parser.parse_args(argv)


def config_from_args(args) -> configs.PipelineConfig:
    return configs.PipelineConfig(
        pipeline_name=args.pipeline_name,
        output_dir=os.path.abspath(args.output_dir),
        data=data_source_from_args(args),
        training=dataclasses.replace(
            configs.TrainingConfig(),
            epochs=args.epochs,
            train_steps=args.train_steps,
            batch_size=args.batch_size,
            image_size=args.image_size,
            class_mode=args.class_mode,
            encoder_weights=args.encoder_weights,
            backbone=args.backbone,
            alpha=args.alpha,
            loss=args.loss,
        ),
        evaluation=dataclasses.replace(
            configs.EvaluationConfig(),
            blessing_metric=args.blessing_metric,
            blessing_min=args.blessing_min,
        ),
    )


def data_source_from_args(args) -> configs.DataSource:
    folder_options = {"eval_fraction": args.eval_fraction} if args.eval_fraction else {}
    if args.oxford_dir and args.image_dir:
        raise preflight.ConfigError("Pass --oxford-dir or --image-dir, not both.")
    if args.oxford_dir:
        return configs.OxfordFolderSource(root=args.oxford_dir, **folder_options)
    if args.image_dir or args.mask_dir:
        if not (args.image_dir and args.mask_dir):
            raise preflight.ConfigError("--image-dir and --mask-dir go together.")
        if not (args.mask_values or args.mask_palette):
            raise preflight.ConfigError(
                "Say what the masks' pixels mean: --mask-values background=0,pet=1 (one-channel "
                "masks) or --mask-palette background=#000000,pet=#ff0000 (colour masks)."
            )
        return configs.ImageFolderSource(
            image_dir=args.image_dir,
            mask_dir=args.mask_dir,
            mask_values=args.mask_values,
            mask_palette=args.mask_palette,
            **folder_options,
        )
    source = configs.DATASETS.get(args.dataset) or configs.TFDSSource(dataset=args.dataset)
    overrides = {
        "data_dir": args.data_dir,
        "train_split": args.train_split,
        "eval_split": args.eval_split,
        "image_key": args.image_key,
        "mask_key": args.mask_key,
        "mask_values": args.mask_values,
    }
    return dataclasses.replace(source, **{k: v for k, v in overrides.items() if v is not None})


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
        # Compiling builds the module-file wheels, and setuptools prints pages while it does.
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


def main(argv=None):
    args = parse_args(argv)
    try:
        config = config_from_args(args)
        source_description = preflight.check(config)
        disk_warning = preflight.check_output_dir(config.output_dir)
    except preflight.ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from None
    try:
        with output_dir_lock(config.output_dir):
            run_with_console(config, source_description, disk_warning)
    except OutputDirBusy as error:
        raise SystemExit(str(error)) from None


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
