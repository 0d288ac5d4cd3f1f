"""Checks a pipeline config before anything runs, so that config mistakes fail in seconds.

A missing folder, a folder without pairs, an unknown TFDS name or feature key, or masks
whose values do not match the declared convention would otherwise fail minutes later in
the middle of a component. So would an output directory that cannot be written or has
no room (`check_output_dir`). Each check raises `ConfigError` with the problem and the fix.
"""

import os
import re
import shutil
import tempfile

from pipeline import configs
from sources import image_files, layouts

SAMPLE_PAIRS = 20  # pairs read to check a folder's images and masks
# Free space in the output directory. Every training writes the model (~22 MB at the
# default width) three times: Trainer, Pusher's archive, serving directory; with the
# examples, even the tiny test dataset's first run writes ~70 MB. Below MIN: refuse.
# Below LOW: warn (Oxford-IIIT Pet at 128 px alone writes over 1 GB of examples).
MIN_FREE_MB = 200
LOW_FREE_MB = 2000


class ConfigError(ValueError):
    pass


def check(config: configs.PipelineConfig) -> str:
    """Raises ConfigError if the config cannot work; returns a one-line description."""
    check_settings(config)
    try:
        _check_encoder_weights(config.training.encoder_weights)
        if isinstance(config.data, configs.TFDSSource):
            return _check_tfds(config.data)
        return _check_folder(config.data)
    except (image_files.SourceError, ValueError) as error:
        raise ConfigError(str(error)) from None


def check_settings(config: configs.PipelineConfig):
    """The checks that read no data and no file: what a machine that only compiles the
    pipeline for a cluster (kubeflow_runner.py) can check. Raises ConfigError."""
    try:
        _check_pipeline_name(config.pipeline_name)
        convention = configs.mask_convention(config)  # a bad class_mode or mask declaration
        _check_training(config.training)
        _check_blessing_metric(config.evaluation, convention)
        _check_eval_fraction(config.data)
    except (image_files.SourceError, ValueError) as error:
        raise ConfigError(str(error)) from None


def check_output_dir(
    output_dir: str, flag: str = "--output-dir", min_free_mb: int = MIN_FREE_MB
) -> str | None:
    """Creates output_dir if needed and checks that it takes files and has room.

    Raises ConfigError if not, naming the command's `flag`; returns a warning to show when
    space is low, else None.
    """
    try:
        os.makedirs(output_dir, exist_ok=True)
        # Write a file rather than trust os.access: root passes that on a read-only mount.
        with tempfile.TemporaryFile(dir=output_dir) as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
        free_mb = shutil.disk_usage(output_dir).free // 2**20
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise ConfigError(
            f"The output directory {output_dir} is not usable: {error.strerror or error}{where}."
            f" Fix its permissions or free space, or pass another {flag}."
        ) from None
    if free_mb < min_free_mb:
        raise ConfigError(
            f"Only {free_mb} MB free for the output directory {output_dir}; a run needs at "
            f"least {min_free_mb} MB. Free some space or pass another {flag}."
        )
    if free_mb < LOW_FREE_MB:
        return (
            f"Only {free_mb} MB free for the output directory {output_dir}: enough for small "
            "runs, not for a full dataset (over 1 GB). A run that fills the disk fails; free "
            "space and run again, and it resumes from TFX's cache."
        )
    return None


# The pipeline's name is a directory under the pipeline root and the serving directory,
# and the name of ML Metadata contexts: one path component, never empty.
PIPELINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _check_pipeline_name(name: str):
    if not PIPELINE_NAME.fullmatch(name):
        raise ConfigError(
            f"pipeline_name {name!r}: it names directories and ML Metadata records; use "
            "letters, digits, '-', '_' and '.', starting with a letter or digit "
            "(--pipeline-name)."
        )


def _check_training(training: configs.TrainingConfig):
    from models import augmentation, losses, unet

    losses.get_loss(training.loss)
    augmentation.augment_fn(training.augmentation)
    unet.check_alpha(training.backbone, training.alpha)  # an unknown backbone too
    multiple = unet.IMAGE_SIZE_MULTIPLE
    if training.image_size < multiple or training.image_size % multiple:
        raise ConfigError(
            f"image_size={training.image_size}: the U-Net halves the image 5 times, so it "
            f"needs a multiple of {multiple} (--image-size 128, 160, 192, ...)."
        )
    for name in ("epochs", "batch_size"):
        if getattr(training, name) < 1:
            raise ConfigError(f"{name}={getattr(training, name)}; it must be 1 or more.")
    if training.freeze_encoder_epochs < 0:
        raise ConfigError(
            f"freeze_encoder_epochs={training.freeze_encoder_epochs}; it must be 0 or more."
        )
    if training.freeze_encoder_epochs and training.encoder_weights == "none":
        raise ConfigError(
            f"freeze_encoder_epochs={training.freeze_encoder_epochs} with encoder_weights="
            "'none': a randomly initialised encoder would stay random. Drop "
            "--freeze-encoder-epochs or give pretrained weights (--encoder-weights)."
        )
    if training.train_steps is not None and training.train_steps < 1:
        raise ConfigError(
            f"train_steps={training.train_steps}; it must be 1 or more (or unset: whole epochs)."
        )


def _check_eval_fraction(source: configs.DataSource):
    fraction = getattr(source, "eval_fraction", None)  # folder sources only
    if fraction is not None and not 0 < fraction < 1:
        raise ConfigError(
            f"eval_fraction={fraction}: the share of the folder's pairs held out for the "
            "Evaluator must be between 0 and 1 (--eval-fraction 0.1 holds out 10 %)."
        )


def _check_encoder_weights(weights: str):
    if weights not in ("imagenet", "none") and not os.path.isfile(weights):
        raise ConfigError(
            f"encoder_weights {weights!r} is neither 'imagenet', 'none' nor a weights file."
        )


def _check_blessing_metric(evaluation: configs.EvaluationConfig, convention):
    from evaluation.metrics import metric_names

    names = metric_names(convention.class_names, convention.background)
    if evaluation.blessing_metric not in names:
        raise ConfigError(
            f"blessing_metric {evaluation.blessing_metric!r} is not a metric of this data; "
            f"use one of {names}."
        )


def _check_tfds(source: configs.TFDSSource) -> str:
    import tensorflow_datasets as tfds

    import sources.synthetic_pets  # noqa: F401  Registers the embedded default with TFDS.

    try:
        builder = tfds.builder(source.dataset, data_dir=source.data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(
            f"TFDS has no dataset {source.dataset!r} ({first_line}). Use a name from "
            "https://www.tensorflow.org/datasets/catalog, a preset of pipeline/configs.py "
            "DATASETS, or --oxford-dir / --image-dir for files on disk."
        ) from None
    available = set(builder.info.features.keys())
    for what, key in (("image", source.image_key), ("mask", source.mask_key)):
        if key not in available:
            raise ConfigError(
                f"TFDS dataset {builder.info.full_name} has no feature {key!r} for the "
                f"{what}; it has {sorted(available)}. Set the {what} key (--{what}-key)."
            )
    return f"TFDS {builder.info.full_name}"


def _check_folder(source) -> str:
    mask_format = configs.mask_format(source)
    if isinstance(source, configs.OxfordFolderSource):
        discovery, description = layouts.discover("oxford", root=source.root)
    else:
        discovery, description = layouts.discover(
            "folder", image_dir=source.image_dir, mask_dir=source.mask_dir
        )
    # Read pairs spread over the whole folder: a wrong convention shows up in all of them.
    step = max(1, len(discovery.pairs) // SAMPLE_PAIRS)
    sample = discovery.pairs[::step][:SAMPLE_PAIRS]
    problems = []
    for pair in sample:
        try:
            image = image_files.read_image(pair.image_path)
            image_files.read_mask(pair.mask_path, mask_format, expected_size=image.size)
        except image_files.BadFile as problem:
            problems.append(problem)
    if len(problems) > source.max_bad_fraction * len(sample):
        raise ConfigError(
            f"{len(problems)} of {len(sample)} sampled pairs in {description} are unusable, "
            f"e.g. {problems[0]}. Check the paths and the masks' declared values or palette "
            "(--mask-values / --mask-palette)."
        )
    return (
        f"{description}: {len(discovery.pairs)} pairs, {len(discovery.problems)} files "
        f"without a partner ({os.path.basename(discovery.problems[0].path)}, ...)"
        if discovery.problems
        else f"{description}: {len(discovery.pairs)} pairs"
    )
