"""Command-line flags shared by the commands: the runners' data source, training and
blessing flags, `--config FILE`, `--version`, and the types of counts and fractions.

local_runner.py and kubeflow_runner.py take the same flags for the same settings, with
the defaults of pipeline/configs.py; `config_from_args` turns them, and the settings of a
--config file (pipeline/config_file.py), into a PipelineConfig. Precedence, lowest first:
the defaults, the --recipe, the file, the flags given on the command line.
"""

import argparse
import dataclasses
import types

from pipeline import config_file, configs
from sources.files import absolute


class FlagError(ValueError):
    """Flags that contradict each other."""


def add_flags(parser: argparse.ArgumentParser, default_dataset: str = "synthetic_pets"):
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings from a TOML or YAML file (configs/photos.toml is an example): "
        "PipelineConfig's fields in the flags' names (batch_size for --batch-size), in "
        "sections [data], [training] and [evaluation]; flags given here override the file "
        "(default: none)",
    )
    tfds = configs.TFDSSource
    data = parser.add_argument_group(
        "data source (one of --dataset, --oxford-dir, --image-dir; given here, it replaces "
        "a --config file's [data])"
    )
    data.add_argument(
        "--dataset",
        help=f"a preset ({', '.join(sorted(configs.DATASETS))}) or any TFDS dataset name "
        f"(default: {default_dataset})",
    )
    # Unset --dataset means this runner's default, unless a folder is the source.
    parser.set_defaults(default_dataset=default_dataset)
    data.add_argument("--data-dir", help="TFDS data_dir (default: TFDS's, ~/tensorflow_datasets)")
    data.add_argument(
        "--train-split",
        help="TFDS split expression for training "
        f"(default: the --dataset preset's, else {tfds.train_split})",
    )
    data.add_argument(
        "--eval-split",
        help="TFDS split expression for evaluation "
        f"(default: the --dataset preset's, else {tfds.eval_split})",
    )
    data.add_argument(
        "--image-key", help=f"a TFDS dataset's image feature name (default: {tfds.image_key})"
    )
    data.add_argument(
        "--mask-key", help=f"a TFDS dataset's mask feature name (default: {tfds.mask_key})"
    )
    add_folder_flags(data)
    data.add_argument(
        "--eval-fraction",
        type=float,
        help="folders: share held out for the Evaluator "
        f"(default: {configs.FolderSplit.eval_fraction})",
    )
    parser.add_argument(
        "--pipeline-name",
        help="names the pipeline's directories and ML Metadata records "
        f"(default: {configs.PIPELINE_NAME})",
    )
    group = parser.add_argument_group(
        "training (unset flags take the --config file's values, else the --recipe's; "
        "pipeline/configs.py RECIPES)"
    )
    group.add_argument(
        "--recipe",
        choices=sorted(configs.RECIPES),
        help="a set of training settings: 'default' is tuned for the embedded data and the "
        "15-minute run; 'photos' for real photos, slower (docs/models.md) "
        f"(default: {configs.DEFAULT_RECIPE})",
    )
    training_flag = lambda name, help, **options: group.add_argument(
        flag_name(name), default=None, help=f"{help} ({recipe_values(name)})", **options
    )
    training_flag("epochs", "passes over the training split", type=int)
    training_flag("train_steps", "total training steps instead of whole epochs", type=int)
    training_flag(
        "batch_size",
        "examples per step on one device; with several GPUs, on each of them",
        type=int,
    )
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
        help="the metric blessing looks at: mean_dice, mean_iou, foreground_dice, ... "
        f"(default: {evaluation.blessing_metric})",
    )
    group.add_argument(
        "--blessing-min",
        type=float,
        help="a model whose blessing metric is below this on the eval split is not blessed "
        f"(default: {evaluation.blessing_min})",
    )
    add_version_flag(parser)


# What the runners take masks to be without --mask-values or --mask-palette.
RUNNER_MASKS = (
    "Oxford trimaps, 1 = pet, 2 = background, 3 = border; with --image-dir, this or "
    "--mask-palette is required"
)


def add_folder_flags(group, unset_masks: str = RUNNER_MASKS):
    """The flags naming a folder source and its masks: the runners' and `evaluate`'s.
    unset_masks: what the masks are taken to be when neither mask flag is given."""
    group.add_argument(
        "--oxford-dir",
        help="the Oxford-IIIT Pet archives unpacked: images/, annotations/; a path or a URI "
        "such as gs://bucket/pets (default: none)",
    )
    group.add_argument(
        "--image-dir", help="a folder of images, with --mask-dir; a path or a URI (default: none)"
    )
    group.add_argument(
        "--mask-dir", help="masks named like their images, with --image-dir (default: none)"
    )
    group.add_argument(
        "--mask-values",
        help="what mask values mean, e.g. background=0,pet=1 (pet=1+3: two) "
        f"(default: {unset_masks})",
    )
    group.add_argument(
        "--mask-palette",
        help="colour masks: class colours, e.g. background=#000000,pet=#ff0000 (default: none)",
    )


def add_beam_arg_flag(parser: argparse.ArgumentParser):
    """--beam-arg, repeatable: the runners' Beam pipeline arguments (with_beam_args)."""
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="a Beam pipeline argument for StatisticsGen, Transform and the Evaluator, "
        "repeatable (default: the --config file's beam_pipeline_args, else Beam's in-memory "
        "runner); see docs/kubeflow.md, Beam on a distributed engine",
    )


def with_beam_args(config: configs.PipelineConfig, args) -> configs.PipelineConfig:
    """The config with --beam-arg's arguments, which replace the file's and the default."""
    if not args.beam_arg:
        return config
    return dataclasses.replace(config, beam_pipeline_args=tuple(args.beam_arg))


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


def config_from_args(
    args, output_dir: str | None = None, default_output_dir: str | None = configs.DEFAULT_OUTPUT_DIR
) -> configs.PipelineConfig:
    """The PipelineConfig of the flags and their --config file.

    output_dir is the command line's (None: not given); then the file's, then
    default_output_dir (None: one of them is required). Raises FlagError.
    """
    try:
        settings = config_file.load(args.config) if args.config else config_file.NONE
    except config_file.ConfigFileError as error:
        raise FlagError(str(error)) from None
    top = settings[""]
    output_dir = _first(output_dir, top.get("output_dir"), default_output_dir)
    if output_dir is None:
        raise FlagError("Pass --output-dir, or set output_dir in the --config file.")
    config = configs.PipelineConfig(
        pipeline_name=_first(args.pipeline_name, top.get("pipeline_name"), configs.PIPELINE_NAME),
        output_dir=absolute(output_dir),
        data=data_source_from_args(args, settings),
        training=training_from_args(args, settings),
        evaluation=configs.EvaluationConfig(
            **_layered(settings["evaluation"], args, BLESSING_FLAGS)
        ),
    )
    # The rest of the top level has no flag (kubeflow_runner's --beam-arg comes after).
    rest = {key: value for key, value in top.items() if key not in ("pipeline_name", "output_dir")}
    return dataclasses.replace(config, **rest)


def training_from_args(args, settings=config_file.NONE) -> configs.TrainingConfig:
    """The --recipe's TrainingConfig, with the file's training settings, then the training
    flags that were given."""
    from_file = dict(settings["training"])
    recipe = _first(args.recipe, from_file.pop("recipe", None), configs.DEFAULT_RECIPE)
    return dataclasses.replace(configs.RECIPES[recipe], **_layered(from_file, args, TRAINING_FLAGS))


def _first(*values):
    """The first value that is not None: the flag's, the file's, the default."""
    return next((value for value in values if value is not None), None)


def _layered(from_file: dict, args, names) -> dict:
    """The file's settings, and over them the flags among `names` that were given."""
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return {**from_file, **given}


def recipe_values(name: str) -> str:
    """A training flag's default for its help: "default: 30" where every recipe agrees,
    else each recipe's, "recipe default: 0.5, photos: 1.0"."""
    values = {recipe: getattr(training, name) for recipe, training in configs.RECIPES.items()}
    if len(set(values.values())) == 1:
        return f"default: {values[configs.DEFAULT_RECIPE]}"
    return "recipe " + ", ".join(f"{recipe}: {value}" for recipe, value in values.items())


# Settings whose flag is the field's name in dashes (--batch-size: batch_size); unset, they
# take the recipe's value. The rest of TrainingConfig keeps the recipe's values, and the
# rest of EvaluationConfig its defaults, unless a --config file sets them.
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
# Every data flag; a --config file's [data] takes the same names. Given on the command
# line, the first three (what the source is) replace the file's [data] as a whole.
SOURCE_FLAGS = ("dataset", "oxford_dir", "image_dir")
DATA_FLAGS = (
    *TFDS_FLAGS,
    "oxford_dir",
    "image_dir",
    "mask_dir",
    "mask_values",
    "mask_palette",
    *FOLDER_FLAGS,
)
# A --config file's [data] keys that no flag sets: fields of some folder sources only.
SOURCE_FIELDS = {
    "seed": "oxford_dir or image_dir",
    "max_bad_fraction": "oxford_dir or image_dir",
    "background": "image_dir",
}


def data_source_from_args(args, settings=config_file.NONE) -> configs.DataSource:
    """The source the data flags name, with a --config file's [data] under them."""
    given = {name: getattr(args, name) for name in DATA_FLAGS if getattr(args, name) is not None}
    from_file = {} if set(SOURCE_FLAGS) & set(given) else settings["data"]
    values = {**{k: v for k, v in from_file.items() if k in DATA_FLAGS}, **given}
    try:
        source = _data_source(
            types.SimpleNamespace(**{name: values.get(name) for name in DATA_FLAGS}),
            args.default_dataset,
        )
    except FlagError as error:
        if from_file:  # the flags' names stand for the file's keys too
            also = " with the data flags given" if given else ""
            raise FlagError(f"{settings.path} [data]{also}: {error}") from None
        raise
    fields = {field.name for field in dataclasses.fields(source)}
    extra = {key: value for key, value in from_file.items() if key in SOURCE_FIELDS}
    for key in extra:
        if key not in fields:
            raise FlagError(
                f"{settings.path}: {key} in [data] is for {SOURCE_FIELDS[key]} sources only; "
                f"this source is {type(source).__name__}."
            )
    return dataclasses.replace(source, **extra)


def _data_source(args, default_dataset: str) -> configs.DataSource:
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
    dataset = args.dataset or default_dataset
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
