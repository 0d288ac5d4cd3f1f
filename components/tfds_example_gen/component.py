"""TFDSExampleGen: a TFDS dataset in, TFX's own `Examples` artifact out.

It prepares the dataset with TFDS (downloading it if it is not already in `data_dir`) and
writes the train and eval splits as gzipped TFRecords of tf.train.Example in TFX's split
layout (`Split-train/`, `Split-eval/`), so that every standard component downstream reads
them as if a stock ExampleGen had written them.
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import component_specs as specs
from components.tfds_example_gen import executor
from pipeline.code_version import code_version


class TFDSExampleGenSpec(types.ComponentSpec):
    PARAMETERS = {
        # A TFDS name as tfds.builder takes it: "oxford_iiit_pet", "name/config:1.2.0".
        specs.DATASET_KEY: ExecutionParameter(type=str),
        # Where TFDS keeps prepared datasets; empty means TFDS's default.
        specs.DATA_DIR_KEY: ExecutionParameter(type=str, optional=True),
        # TFDS split expressions, e.g. "train[:90%]".
        specs.TRAIN_SPLIT_KEY: ExecutionParameter(type=str),
        specs.EVAL_SPLIT_KEY: ExecutionParameter(type=str),
        # The dataset's own names of the image and mask features; they are written under
        # the project's feature keys (models/features.py).
        specs.IMAGE_FEATURE_KEY: ExecutionParameter(type=str, optional=True),
        specs.MASK_FEATURE_KEY: ExecutionParameter(type=str, optional=True),
        # The code the executor runs, hashed (pipeline/code_version.py): TFX's cache key.
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {}
    OUTPUTS = {specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}


class TFDSExampleGen(base_component.BaseComponent):
    SPEC_CLASS = TFDSExampleGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        dataset: str,
        *,
        train_split: str,
        eval_split: str,
        image_key: str,
        mask_key: str,
        data_dir: str | None = None,
    ):
        spec = TFDSExampleGenSpec(
            code_version=code_version(executor.__name__),
            dataset=dataset,
            data_dir=data_dir or "",
            train_split=train_split,
            eval_split=eval_split,
            image_key=image_key,
            mask_key=mask_key,
            examples=types.Channel(type=standard_artifacts.Examples),
        )
        super().__init__(spec=spec)
