"""Run the pipeline on this machine: LocalDagRunner, Beam's DirectRunner, sqlite MLMD.

    python local_runner.py                          # the embedded synthetic dataset
    python local_runner.py --dataset oxford_iiit_pet  # the real one, through TFDS
    python local_runner.py --oxford-dir ~/data/oxford-iiit-pet   # the archives, unpacked
    python local_runner.py --image-dir imgs/ --mask-dir masks/ --mask-values background=0,pet=1

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
    try:
        config = config_from_args(args)
        source_description = preflight.check(config)
    except preflight.ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from None
    log_path = os.path.join(config.output_dir, "run.log")
    progress.configure_logging(log_path)
    logging.info(
        "Pipeline %s on %s; outputs in %s (full log: %s).",
        config.pipeline_name,
        source_description,
        config.output_dir,
        log_path,
    )
    started = time.time()
    summary = run(config, log_path)
    print(run_summary.format_summary(summary))
    print(f"Finished in {time.time() - started:.0f} s. ML Metadata: {config.metadata_path}")


if __name__ == "__main__":
    main()
