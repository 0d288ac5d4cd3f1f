"""Command-line flags shared by the runners: data source, training and blessing; and
every command's --version.

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
    add_folder_flags(data)
    data.add_argument(
        "--eval-fraction",
        type=float,
        help=f"folders: share held out for the Evaluator ({configs.FolderSplit.eval_fraction})",
    )
    parser.add_argument("--pipeline-name", default=configs.PIPELINE_NAME)
    group = parser.add_argument_group(
        "training (unset flags take the --recipe's values; pipeline/configs.py RECIPES)"
    )
    group.add_argument(
        "--recipe",
        choices=sorted(configs.RECIPES),
        default=configs.DEFAULT_RECIPE,
        help="a set of training settings: 'default' is tuned for the embedded data and the "
        "15-minute run; 'photos' for real photos, slower (docs/models.md) "
        "(default: %(default)s)",
    )
    training_flag = lambda name, help, **options: group.add_argument(
        flag_name(name), default=None, help=f"{help} ({recipe_values(name)})", **options
    )
    training_flag("epochs", "passes over the training split", type=int)
    training_flag("train_steps", "total training steps instead of whole epochs (None)", type=int)
    training_flag("batch_size", "examples per step", type=int)
    training_flag("image_size", "the Transform's square output side, a multiple of 32", type=int)
    training_flag("class_mode", "trimap, binary_border_as_pet or binary_border_as_background")
    training_flag("learning_rate", "Adam's initial rate, decayed by a cosine", type=float)
    training_flag("loss", "dice, dice_ce or focal")
    training_flag(
        "augmentation",
        "none; flip: flips and brightness/contrast; affine: flip plus zoom, rotation, shift "
        "and saturation",
    )
    training_flag("backbone", "the encoder: mobilenet_v2 or efficientnet_b0")
    training_flag("alpha", "MobileNetV2 width: 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4", type=float)
    training_flag(
        "encoder_weights", "'imagenet', 'none', or a path to the backbone's no-top weights"
    )
    training_flag(
        "test_time_flip",
        "the exported model averages each image's prediction with its mirror image's: "
        "twice the work per image",
        action=argparse.BooleanOptionalAction,
    )
    training_flag(
        "freeze_encoder_epochs",
        "with pretrained encoder weights, train the decoder alone for this many epochs first",
        type=int,
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
    add_version_flag(parser)


def add_folder_flags(group):
    """The flags naming a folder source and its masks: the runners' and `evaluate`'s."""
    group.add_argument(
        "--oxford-dir", help="the Oxford-IIIT Pet archives unpacked (images/, annotations/)"
    )
    group.add_argument("--image-dir", help="a folder of images (with --mask-dir)")
    group.add_argument("--mask-dir", help="masks named like their images (with --image-dir)")
    group.add_argument(
        "--mask-values", help="what mask values mean, e.g. background=0,pet=1 (pet=1+3: two)"
    )
    group.add_argument(
        "--mask-palette", help="colour masks: class colours, e.g. background=#000000,pet=#ff0000"
    )


def add_version_flag(parser: argparse.ArgumentParser):
    """--version: the project's version and, in a git checkout, its commit (pipeline/version.py),
    printed without importing TensorFlow."""
    parser.add_argument(
        "--version",
        action=_Version,
        help="print the project's version and git commit, and exit",
    )


class _Version(argparse.Action):
    """argparse's "version" action, with the version looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from pipeline import version

        print(f"{parser.prog} ({version.PACKAGE}) {version.describe()}")
        parser.exit()


def config_from_args(args, output_dir: str) -> configs.PipelineConfig:
    return configs.PipelineConfig(
        pipeline_name=args.pipeline_name,
        output_dir=absolute(output_dir),
        data=data_source_from_args(args),
        training=training_from_args(args),
        evaluation=configs.EvaluationConfig(
            **{name: getattr(args, name) for name in BLESSING_FLAGS}
        ),
    )


def training_from_args(args) -> configs.TrainingConfig:
    """The --recipe's TrainingConfig, with the training flags that were given."""
    given = {name: getattr(args, name) for name in TRAINING_FLAGS}
    return dataclasses.replace(
        configs.RECIPES[args.recipe], **{k: v for k, v in given.items() if v is not None}
    )


def recipe_values(name: str) -> str:
    """A training flag's default for its help: "default: 30" where every recipe agrees,
    else each recipe's, "recipe default: 0.5, photos: 1.0"."""
    values = {recipe: getattr(training, name) for recipe, training in configs.RECIPES.items()}
    if len(set(values.values())) == 1:
        return f"default: {values[configs.DEFAULT_RECIPE]}"
    return "recipe " + ", ".join(f"{recipe}: {value}" for recipe, value in values.items())


# Settings whose flag is the field's name in dashes (--batch-size: batch_size); unset, they
# take the recipe's value. The rest of TrainingConfig keeps the recipe's values, and the
# rest of EvaluationConfig its defaults.
TRAINING_FLAGS = (
    "epochs",
    "train_steps",
    "batch_size",
    "image_size",
    "class_mode",
    "learning_rate",
    "loss",
    "augmentation",
    "backbone",
    "alpha",
    "encoder_weights",
    "freeze_encoder_epochs",
    "test_time_flip",
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


def renamed(parser: argparse.ArgumentParser, names: dict[str, str]):
    """Old flag names that now fail with one line naming the new one, instead of argparse's
    "unrecognized arguments" (the commands take the runners' names for the same things)."""

    class Renamed(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            parser.error(f"{option_string} is now {names[option_string]}")

    for old in names:
        parser.add_argument(old, action=Renamed, nargs="?", help=argparse.SUPPRESS)


def flag_name(attribute: str) -> str:
    return "--" + attribute.replace("_", "-")


def absolute(path: str) -> str:
    """A local path made absolute (tasks may not run where this runs); a URL as it is."""
    return path if "://" in path else os.path.abspath(path)
