"""Pipeline configuration: every knob, with its default, apart from the code.

Runners build a `PipelineConfig` (defaults here, overrides from their flags) and hand it
to `pipeline.pipeline.create_pipeline`.
"""

import dataclasses
import os

from models import features

PIPELINE_NAME = "pet-segmentation"
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT_DIR = os.path.join(PROJECT_DIR, "outputs")
MODULES_DIR = os.path.join(PROJECT_DIR, "models")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """A TFDS segmentation dataset: its name, splits and image/mask feature names."""

    dataset: str = "synthetic_pets"  # a tfds.builder name, "name/config:version" allowed
    data_dir: str | None = None  # None: TFDS's default (~/tensorflow_datasets)
    train_split: str = "train"
    eval_split: str = "test"
    image_key: str = features.IMAGE_KEY
    mask_key: str = features.MASK_KEY


DATASETS = {
    # Generated offline by sources/synthetic_pets.py: 1,000 train and 250 eval scenes.
    "synthetic_pets": DataConfig(),
    # A tiny version of it for tests and smoke runs.
    "synthetic_pets_tiny": DataConfig(dataset="synthetic_pets/tiny"),
    # The real dataset (needs internet once, or a data_dir that holds it prepared). Its
    # official test split stays untouched: the Evaluator blesses on 10% of trainval.
    "oxford_iiit_pet": DataConfig(
        dataset="oxford_iiit_pet:4.*.*", train_split="train[:90%]", eval_split="train[90%:]"
    ),
}


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    image_size: int = features.DEFAULT_IMAGE_SIZE
    class_mode: str = features.DEFAULT_CLASS_MODE  # see models/features.py CLASS_MODES
    epochs: int = 30
    batch_size: int = 8
    train_steps: int | None = None  # None: whole epochs; else this many steps in all
    learning_rate: float = 2e-3
    loss: str = "dice"
    augment: bool = True
    alpha: float = 0.5  # MobileNetV2 width multiplier
    encoder_weights: str = "imagenet"  # "imagenet", "none", or a path to a .h5 file
    decoder_filters: tuple[int, ...] = (128, 64, 48, 16)
    batchnorm_momentum: float = 0.9
    seed: int = 0  # weights, shuffling and augmentation; threads still add some noise


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    min_mean_dice: float = 0.5  # a model below this is never blessed
    max_mean_dice_regression: float = 0.01  # allowed drop against the last blessed model


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    pipeline_name: str = PIPELINE_NAME
    output_dir: str = DEFAULT_OUTPUT_DIR
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    # One in-process worker: on a laptop the multi-process runner costs more than it gains.
    beam_pipeline_args: tuple[str, ...] = (
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
