"""Run the pipeline on this machine: LocalDagRunner, Beam's DirectRunner, sqlite MLMD.

    python local_runner.py                      # the embedded synthetic dataset
    python local_runner.py --dataset oxford_iiit_pet --epochs 20

Everything goes under --output-dir (default ./outputs): the pipeline root, the ML Metadata
store (metadata.sqlite), the pushed models (serving_model/) and the full log (run.log).
A rerun with nothing changed is served from TFX's cache.
"""

import os

# Before anything imports TensorFlow: tf.Transform needs Keras 2 (tf_keras), and TF's C++
# INFO/WARNING chatter would bury the pipeline's own progress (it stays in run.log).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

from pipeline import configs, progress, run_summary  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset",
        default="synthetic_pets",
        choices=sorted(configs.DATASETS),
        help="data source preset (pipeline/configs.py DATASETS)",
    )
    parser.add_argument("--data-dir", help="TFDS data_dir (default: TFDS's, ~/tensorflow_datasets)")
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
        "--encoder-weights",
        default=training.encoder_weights,
        help="'imagenet', 'none', or a path to MobileNetV2 no-top weights",
    )
    evaluation = configs.EvaluationConfig()
    parser.add_argument(
        "--min-mean-dice",
        type=float,
        default=evaluation.min_mean_dice,
        help="blessing threshold on the eval split's mean Dice",
    )
    return parser.parse_args(argv)


def config_from_args(args) -> configs.PipelineConfig:
    data = configs.DATASETS[args.dataset]
    if args.data_dir:
        data = dataclasses.replace(data, data_dir=args.data_dir)
    return configs.PipelineConfig(
        pipeline_name=args.pipeline_name,
        output_dir=os.path.abspath(args.output_dir),
        data=data,
        training=dataclasses.replace(
            configs.TrainingConfig(),
            epochs=args.epochs,
            train_steps=args.train_steps,
            batch_size=args.batch_size,
            image_size=args.image_size,
            class_mode=args.class_mode,
            encoder_weights=args.encoder_weights,
        ),
        evaluation=dataclasses.replace(
            configs.EvaluationConfig(), min_mean_dice=args.min_mean_dice
        ),
    )


def run(config: configs.PipelineConfig, log_path: str) -> run_summary.RunSummary:
    # Imported here: `import tfx` takes half a minute, --help should not.
    from tfx import v1 as tfx
    from tfx.dsl.compiler import compiler

    from pipeline.pipeline import create_pipeline

    os.makedirs(config.output_dir, exist_ok=True)
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


def main(argv=None):
    args = parse_args(argv)
    config = config_from_args(args)
    log_path = os.path.join(config.output_dir, "run.log")
    progress.configure_logging(log_path)
    logging.info(
        "Pipeline %s on %s; outputs in %s (full log: %s).",
        config.pipeline_name,
        config.data.dataset,
        config.output_dir,
        log_path,
    )
    started = time.time()
    summary = run(config, log_path)
    print(run_summary.format_summary(summary))
    print(f"Finished in {time.time() - started:.0f} s. ML Metadata: {config.metadata_path}")


if __name__ == "__main__":
    main()
