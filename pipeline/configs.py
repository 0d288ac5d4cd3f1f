"""Pipeline configuration: every knob, with its default, apart from the code.

Runners build a `PipelineConfig` (defaults here, overrides from their flags) and hand it
to `pipeline.pipeline.create_pipeline`.
"""

import dataclasses
import os

from models import features
from models.mask_convention import (
    DEFAULT_CLASS_MODE,
    MaskConvention,
    MaskFormat,
    model_convention,
    parse_mask_format,
)

PIPELINE_NAME = "pet-segmentation"
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT_DIR = os.path.join(PROJECT_DIR, "outputs")
# The seed of every seeded choice unless told otherwise: a folder's eval split, training,
# and `evaluate --limit`'s sample.
DEFAULT_SEED = 0


# Data sources: a TFDS dataset, the Oxford-IIIT Pet archives unpacked, or a generic folder.
# Each becomes the same `Examples` artifact (components/tfds_example_gen, folder_example_gen).


@dataclasses.dataclass(frozen=True)
class TFDSSource:
    """A TFDS segmentation dataset: its name, splits, feature names and mask values."""

    dataset: str = "synthetic_pets"  # a tfds.builder name, "name/config:version" allowed
    data_dir: str | None = None  # None: TFDS's default (~/tensorflow_datasets)
    train_split: str = "train"
    eval_split: str = "test"
    image_key: str = features.IMAGE_KEY
    mask_key: str = features.MASK_KEY
    # None: Oxford trimaps (1 = pet, 2 = background, 3 = border). Otherwise the classes'
    # mask values, e.g. "background=0,person=1" (see models/mask_convention.py).
    mask_values: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class FolderSplit:
    """What every folder source has: the seeded share of its pairs held out for the
    Evaluator, and how many unusable pairs it tolerates."""

    eval_fraction: float = 0.1
    seed: int = DEFAULT_SEED
    max_bad_fraction: float = 0.5  # more unusable pairs than this: fail, do not train


@dataclasses.dataclass(frozen=True)
class OxfordFolderSource(FolderSplit):
    """The Oxford-IIIT Pet archives unpacked: root/images/, root/annotations/trimaps/.

    Uses annotations/trainval.txt when present (the official test images stay out), and
    holds out a seeded `eval_fraction` of it for the Evaluator.
    """

    root: str


@dataclasses.dataclass(frozen=True)
class ImageFolderSource(FolderSplit):
    """Images and masks in two folders, matched by file stem; the masks' classes declared.

    Exactly one of mask_values ("background=0,pet=1", several values as "pet=1+3") or
    mask_palette ("background=#000000,pet=#ff0000") says what the mask pixels mean.
    """

    image_dir: str
    mask_dir: str
    mask_values: str | None = None
    mask_palette: str | None = None
    background: str | None = "background"  # the class left out of foreground Dice


DataSource = TFDSSource | OxfordFolderSource | ImageFolderSource

DATASETS = {
    # Generated offline by sources/synthetic_pets.py: 1,000 train and 250 eval scenes.
    "synthetic_pets": TFDSSource(),
    # A tiny version of it for tests and smoke runs.
    "synthetic_pets_tiny": TFDSSource(dataset="synthetic_pets/tiny"),
    # The real dataset's size (3,680 train / 3,669 eval, sides 300..500 px), for benchmarks.
    "synthetic_pets_full": TFDSSource(dataset="synthetic_pets/full"),
    # The real dataset (needs internet once, or a data_dir that holds it prepared). Its
    # official test split stays untouched: the Evaluator blesses on 10% of trainval.
    "oxford_iiit_pet": TFDSSource(
        dataset="oxford_iiit_pet:4.*.*", train_split="train[:90%]", eval_split="train[90%:]"
    ),
}


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    image_size: int = features.DEFAULT_IMAGE_SIZE
    # For trimap data: keep 3 classes, or merge the border (models/mask_convention.py).
    class_mode: str = DEFAULT_CLASS_MODE
    epochs: int = 30
    batch_size: int = 8  # per replica: with N GPUs, a step takes N x batch_size examples
    train_steps: int | None = None  # None: whole epochs; else this many steps in all
    learning_rate: float = 2e-3
    loss: str = "dice"  # "dice", "dice_ce" or "focal" (models/losses.py LOSSES)
    augmentation: str = "flip"  # "none", "flip" or "affine" (models/augmentation.py)
    backbone: str = "mobilenet_v2"  # the encoder (models/unet.py BACKBONES)
    alpha: float = 0.5  # MobileNetV2 width multiplier: 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4
    encoder_weights: str = "imagenet"  # "imagenet", "none", or a path to no-top weights
    # With pretrained weights: train the decoder alone for this many epochs first.
    freeze_encoder_epochs: int = 0
    decoder_filters: tuple[int, ...] = (128, 64, 48, 16)
    batchnorm_momentum: float = 0.9
    # The exported model averages each image's prediction with its mirror image's:
    # twice the work per image at serving (and in the Evaluator).
    test_time_flip: bool = False
    seed: int = DEFAULT_SEED  # weights, shuffling and augmentation; threads still add noise


# Training recipes: named sets of TrainingConfig values (--recipe), which flags override.
# "default" is tuned on the embedded synthetic data, within the default run's 15 minutes.
# "photos" is chosen by 5-fold cross-validation on real Oxford-IIIT Pet photos
# (bench/cross_validate.py; docs/models.md has the table): twice the default's training
# time, and twice the model's work per served image.
DEFAULT_RECIPE = "default"
RECIPES = {
    DEFAULT_RECIPE: TrainingConfig(),
    "photos": TrainingConfig(augmentation="affine", alpha=1.0, epochs=40, test_time_flip=True),
}


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    # Blessing, on the whole eval split: one of evaluation/metrics.py metric_names().
    blessing_metric: str = "mean_dice"
    blessing_min: float = 0.5  # a model below this is never blessed
    blessing_max_regression: float = 0.01  # allowed drop against the last blessed model
    # Metrics are also reported per value of these features, where the data has them
    # (Oxford pets: species 0 = cat, 1 = dog; label = breed id).
    slice_by: tuple[str, ...] = (features.SPECIES_KEY, features.LABEL_KEY)


# Where the Evaluator's baseline, the model to beat, comes from:
# - "metadata": TFX's resolver, the latest blessed model in ML Metadata;
# - "serving": the newest version the Pusher wrote into the serving directory
#   (components/latest_pushed_model), for backends that cannot run a resolver, such as
#   open-source Kubeflow Pipelines. Only blessed models are pushed, so both find the last
#   blessed model.
BASELINE_SOURCES = ("metadata", "serving")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    pipeline_name: str = PIPELINE_NAME
    output_dir: str = DEFAULT_OUTPUT_DIR
    data: DataSource = TFDSSource()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    baseline_source: str = "metadata"  # one of BASELINE_SOURCES
    # One in-process worker: on a laptop the multi-process runner costs more than it gains.
    # The FnApiRunner by name: Beam 2.77's DirectRunner would first fetch the Prism runner
    # from GitHub and run StatisticsGen, Transform and the Evaluator on that instead.
    beam_pipeline_args: tuple[str, ...] = (
        "--runner=FnApiRunner",
        "--direct_running_mode=in_memory",
        "--direct_num_workers=1",
    )

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, "pipeline_root", self.pipeline_name)

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.output_dir, "metadata.sqlite")

    @property
    def serving_model_dir(self) -> str:
        return os.path.join(self.output_dir, "serving_model", self.pipeline_name)


def mask_format(source: DataSource) -> MaskFormat:
    """How the source's mask files encode classes (models/mask_convention.py)."""
    if isinstance(source, ImageFolderSource):
        return parse_mask_format(source.mask_values, source.mask_palette, source.background)
    if isinstance(source, TFDSSource) and source.mask_values is not None:
        return parse_mask_format(source.mask_values)
    return MaskFormat.trimap()


def mask_convention(config: PipelineConfig) -> MaskConvention:
    """The classes the model learns from this config's data and class mode."""
    return model_convention(mask_format(config.data).stored_convention, config.training.class_mode)


def slice_features(config: PipelineConfig) -> tuple[str, ...]:
    """The slicing features the source has: Oxford pets have species and breed labels."""
    source = config.data
    if isinstance(source, ImageFolderSource):
        return ()
    if isinstance(source, TFDSSource) and source.mask_values is not None:
        return ()  # another TFDS dataset: its features are its own
    return config.evaluation.slice_by
