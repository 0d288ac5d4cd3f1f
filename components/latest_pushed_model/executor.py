"""LatestPushedModel's executor: find the newest complete pushed version and copy it."""

import json
import os

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components import component_specs as specs
from inference.model import newest_version

RECORD_FILE = "baseline.json"  # in the output: what was found, for people and tests


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        serving_model_dir = exec_properties[specs.SERVING_MODEL_DIR_KEY]
        model = artifact_utils.get_single_instance(output_dict[specs.MODEL_KEY])
        version_dir = newest_version(serving_model_dir)
        record = {"serving_model_dir": serving_model_dir, "found": version_dir is not None}
        if version_dir is None:
            logging.info(
                "No pushed model in %s yet: the Evaluator has no baseline.", serving_model_dir
            )
        else:
            io_utils.copy_dir(version_dir, path_utils.serving_model_dir(model.uri))
            record.update(
                pushed_version=os.path.basename(version_dir), pushed_model_dir=version_dir
            )
            model.set_string_custom_property("pushed_version", record["pushed_version"])
            model.set_string_custom_property("pushed_model_dir", version_dir)
            logging.info("Baseline: the pushed model %s.", version_dir)
        model.set_int_custom_property("found", int(record["found"]))
        # Written in every case: the output directory must exist for Kubeflow's launcher
        # to upload it, and the record says what the model directory's absence means.
        fileio.makedirs(model.uri)
        io_utils.write_string_file(
            os.path.join(model.uri, RECORD_FILE), json.dumps(record, indent=2) + "\n"
        )
