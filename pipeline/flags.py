"""Command-line flags shared by the runners: data source, training and blessing.

local_runner.py and kubeflow_runner.py take the same flags for the same settings, with
the defaults of pipeline/configs.py; `config_from_args` turns them into a PipelineConfig.
"""

import argparse
import dataclasses
import os

from pipeline import configs


class FlagError(ValueError):
    """Flags that contradict each other."""


def add_flags(parser: argparse.ArgumentParser, default_dataset: str = "synthetic_pets"):
    data = parser.add_argument_group("data source (one of --dataset, --oxford-dir, --image-dir)")
    data.add_argument(
        "--dataset",
        help=f"a preset ({', '.join(sorted(configs.DATASETS))}) or any TFDS dataset name "
        f"(default: {default_dataset})",
    )
    # Unset --dataset means this runner's default, unless a folder is the source.
    parser.set_defaults(default_dataset=default_dataset)
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
        "--eval-fraction",
        type=float,
        help=f"folders: share held out for the Evaluator ({configs.FolderSplit.eval_fraction})",
    )
    parser.add_argument("--pipeline-name", default=configs.PIPELINE_NAME)
    training = configs.TrainingConfig()
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=int, default=training.epochs)
    group.add_argument(
        "--train-steps",
        type=int,
        default=training.train_steps,
        help="total training steps (default: whole epochs)",
    )
    group.add_argument("--batch-size", type=int, default=training.batch_size)
    group.add_argument("--image-size", type=int, default=training.image_size)
    group.add_argument("--class-mode", default=training.class_mode)
    group.add_argument(
        "--backbone", default=training.backbone, help="mobilenet_v2 or efficientnet_b0"
    )
    group.add_argument("--alpha", type=float, default=training.alpha, help="MobileNetV2 width")
    group.add_argument("--loss", default=training.loss, help="dice, dice_ce or focal")
    group.add_argument(
        "--encoder-weights",
        default=training.encoder_weights,
        help="'imagenet', 'none', or a path to the backbone's no-top weights",
    )
    group.add_argument(
        "--augmentation",
        default=training.augmentation,
        help="none; flip: flips and brightness/contrast; affine: flip plus zoom, rotation, "
        "shift and saturation (default: %(default)s)",
    )
    group.add_argument(
        "--freeze-encoder-epochs",
        type=at_least(0),
        default=training.freeze_encoder_epochs,
        help="with pretrained encoder weights, train the decoder alone for this many epochs "
        "first (default: %(default)s)",
    )
    evaluation = configs.EvaluationConfig()
    group = parser.add_argument_group("blessing")
    group.add_argument(
        "--blessing-metric",
        default=evaluation.blessing_metric,
        help="the metric blessing looks at: mean_dice, mean_iou, foreground_dice, ...",
    )
    group.add_argument(
        "--blessing-min",
        type=float,
        default=evaluation.blessing_min,
        help="a model whose blessing metric is below this on the eval split is not blessed",
    )


def config_from_args(args, output_dir: str) -> configs.PipelineConfig:
    return configs.PipelineConfig(
        pipeline_name=args.pipeline_name,
        output_dir=absolute(output_dir),
        data=data_source_from_args(args),
        training=configs.TrainingConfig(**{name: getattr(args, name) for name in TRAINING_FLAGS}),
        evaluation=configs.EvaluationConfig(
            **{name: getattr(args, name) for name in BLESSING_FLAGS}
        ),
    )


# Settings whose flag is the field's name in dashes (--batch-size: batch_size), with the
# field's default: the rest of TrainingConfig and EvaluationConfig keeps its defaults.
TRAINING_FLAGS = (
    "epochs",
    "train_steps",
    "batch_size",
    "image_size",
    "class_mode",
    "backbone",
    "alpha",
    "loss",
    "encoder_weights",
    "augmentation",
    "freeze_encoder_epochs",
)
BLESSING_FLAGS = ("blessing_metric", "blessing_min")


# Flags that only mean something for one kind of source: given with another, they would be
# ignored without a word.
TFDS_FLAGS = ("dataset", "data_dir", "train_split", "eval_split", "image_key", "mask_key")
FOLDER_FLAGS = ("eval_fraction",)


def data_source_from_args(args) -> configs.DataSource:
    if args.oxford_dir and args.image_dir:
        raise FlagError("Pass --oxford-dir or --image-dir, not both.")
    folder = "--oxford-dir" if args.oxford_dir else "--image-dir" if args.image_dir else None
    given = [name for name in TFDS_FLAGS if getattr(args, name) is not None]
    if folder and given:
        raise FlagError(
            f"{flag_name(given[0])} is for a TFDS dataset, and {folder} makes a folder the "
            f"source: pass one or the other."
        )
    wrong = [name for name in FOLDER_FLAGS if getattr(args, name) is not None]
    if not folder and not args.mask_dir and wrong:
        raise FlagError(f"{flag_name(wrong[0])} is for --oxford-dir or --image-dir sources.")
    if args.oxford_dir and (args.mask_values or args.mask_palette):
        raise FlagError(
            "--oxford-dir reads Oxford trimaps, whose values are fixed (1 = pet, 2 = "
            "background, 3 = border): drop --mask-values / --mask-palette, or use --image-dir."
        )
    if not folder and args.mask_palette:
        raise FlagError("--mask-palette is for colour masks in a folder (--image-dir).")
    folder_options = {}
    if args.eval_fraction is not None:
        folder_options["eval_fraction"] = args.eval_fraction
    if args.oxford_dir:
        return configs.OxfordFolderSource(root=absolute(args.oxford_dir), **folder_options)
    if args.image_dir or args.mask_dir:
        if not (args.image_dir and args.mask_dir):
            raise FlagError("--image-dir and --mask-dir go together.")
        if not (args.mask_values or args.mask_palette):
            raise FlagError(
                "Say what the masks' pixels mean: --mask-values background=0,pet=1 (one-channel "
                "masks) or --mask-palette background=#000000,pet=#ff0000 (colour masks)."
            )
        return configs.ImageFolderSource(
            image_dir=absolute(args.image_dir),
            mask_dir=absolute(args.mask_dir),
            mask_values=args.mask_values,
            mask_palette=args.mask_palette,
            **folder_options,
        )
    dataset = args.dataset or args.default_dataset
    source = configs.DATASETS.get(dataset) or configs.TFDSSource(dataset=dataset)
    overrides = {
        "data_dir": absolute(args.data_dir) if args.data_dir else None,
        "train_split": args.train_split,
        "eval_split": args.eval_split,
        "image_key": args.image_key,
        "mask_key": args.mask_key,
        "mask_values": args.mask_values,
    }
    return dataclasses.replace(source, **{k: v for k, v in overrides.items() if v is not None})


def at_least(minimum: int):
    """An argparse type for a count: `--rounds 0` is refused by argparse, naming the flag,
    instead of meaning the default or cutting a list from its end (`[:-1]`)."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value}: it must be {minimum} or more")
        return value

    return count


def between(low: float, high: float):
    """An argparse type for a number in [low, high], such as an opacity."""

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value}: it must be between {low} and {high}")
        return value

    return number


def flag_name(attribute: str) -> str:
    return "--" + attribute.replace("_", "-")


def absolute(path: str) -> str:
    """A local path made absolute (tasks may not run where this runs); a URL as it is."""
    return path if "://" in path else os.path.abspath(path)
