"""Pusher: TFX's standard Pusher, pushing a model card with the model.

It pushes what TFX's Pusher pushes, where it pushes it (a blessed model, into a new
version directory of the serving directory) and records the same PushedModel. The pushed
SavedModel also holds assets.extra/model_card.md and model_card.json
(evaluation/model_card.py): the data it was trained on, whether its encoder started from
pretrained weights, its training settings and the Evaluator's scores and checks. So it
takes the Examples and the evaluation as well. The class keeps TFX's name, so the
component id stays "Pusher".
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import component_specs as specs
from components.pusher import executor
from pipeline.code_version import code_version


class PusherSpec(standard_component_specs.PusherSpec):
    PARAMETERS = {
        **standard_component_specs.PusherSpec.PARAMETERS,
        specs.MODEL_NAME_KEY: ExecutionParameter(type=str),  # the card's title
        # The code the executor runs, hashed (pipeline/code_version.py): TFX's cache key.
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {
        **standard_component_specs.PusherSpec.INPUTS,
        specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        specs.EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
    }


class Pusher(base_component.BaseComponent):
    SPEC_CLASS = PusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model, model_blessing, examples, evaluation, push_destination, model_name):
        spec = PusherSpec(
            model=model,
            model_blessing=model_blessing,
            examples=examples,
            evaluation=evaluation,
            push_destination=push_destination,
            model_name=model_name,
            code_version=code_version(executor.__name__),
            pushed_model=types.Channel(type=standard_artifacts.PushedModel),
        )
        super().__init__(spec=spec)
