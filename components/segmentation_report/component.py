"""SegmentationReport: a page of pictures and charts about the trained model.

Runs after the Evaluator and the Pusher. Its `report` artifact (recorded in ML Metadata)
holds index.html and the PNGs it shows: a fixed sample and the worst-Dice examples of the
eval split (image | true mask | predicted mask | overlay), Dice and IoU per class beside
the last blessed model's, the blessing checks, mean Dice per slice (species, breed) with
each slice's count, a confusion matrix, the training curves from the Trainer's
TensorBoard logs, and links to the artifacts. It also holds the model card
(model_card.md, .json: evaluation/model_card.py), for blessed and unblessed models alike.
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import component_specs as specs
from components.segmentation_report import executor
from pipeline.code_version import code_version


class VisualReport(types.Artifact):
    """A folder with index.html and the pictures it shows."""

    TYPE_NAME = "components.VisualReport"  # see components/__init__.py


class SegmentationReportSpec(types.ComponentSpec):
    PARAMETERS = {
        specs.NUM_SAMPLES_KEY: ExecutionParameter(type=int),  # rows of the fixed sample
        specs.NUM_WORST_KEY: ExecutionParameter(type=int),  # rows of the worst examples
        specs.MAX_EXAMPLES_KEY: ExecutionParameter(type=int),  # eval examples predicted, at most
        specs.MODEL_NAME_KEY: ExecutionParameter(type=str),  # the title: the pipeline's name
        # The code the executor runs, hashed (pipeline/code_version.py): TFX's cache key.
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {
        specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        specs.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        specs.EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        specs.MODEL_RUN_KEY: ChannelParameter(type=standard_artifacts.ModelRun, optional=True),
        specs.BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing, optional=True),
        # The Pusher's record: which version was pushed, if any.
        specs.PUSHED_MODEL_KEY: ChannelParameter(
            type=standard_artifacts.PushedModel, optional=True
        ),
    }
    OUTPUTS = {specs.REPORT_KEY: ChannelParameter(type=VisualReport)}


class SegmentationReport(base_component.BaseComponent):
    SPEC_CLASS = SegmentationReportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        examples,
        model,
        evaluation,
        model_run=None,
        blessing=None,
        pushed_model=None,
        model_name: str = "segmentation",
        num_samples: int = 6,
        num_worst: int = 6,
        max_examples: int = 300,
    ):
        spec = SegmentationReportSpec(
            code_version=code_version(executor.__name__),
            examples=examples,
            model=model,
            evaluation=evaluation,
            model_run=model_run,
            blessing=blessing,
            pushed_model=pushed_model,
            model_name=model_name,
            num_samples=num_samples,
            num_worst=num_worst,
            max_examples=max_examples,
            report=types.Channel(type=VisualReport),
        )
        super().__init__(spec=spec)
