"""The Evaluator's executor: TFX's, after dropping baselines that hold no SavedModel."""

import os

from absl import logging
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.dsl.io import fileio
from tfx.types import standard_component_specs
from tfx.utils import path_utils

BASELINE_KEY = standard_component_specs.BASELINE_MODEL_KEY


def has_saved_model(model) -> bool:
    return fileio.exists(os.path.join(path_utils.serving_model_path(model.uri), "saved_model.pb"))


class Executor(tfx_evaluator.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        baselines = input_dict.get(BASELINE_KEY) or []
        usable = [model for model in baselines if has_saved_model(model)]
        if len(usable) < len(baselines):
            logging.info("The baseline holds no model (nothing blessed yet): no baseline.")
        super().Do({**input_dict, BASELINE_KEY: usable}, output_dict, exec_properties)
