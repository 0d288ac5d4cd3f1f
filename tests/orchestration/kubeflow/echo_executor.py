"""A TFX executor for the entrypoint's tests: it records what TFX handed it."""

import json
import os

from tfx.dsl.components.base import base_executor


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        seen = {
            "inputs": {
                key: [
                    {
                        "class": type(artifact).__name__,
                        "uri": artifact.uri,
                        "split_names": getattr(artifact, "split_names", None),
                    }
                    for artifact in artifacts
                ]
                for key, artifacts in input_dict.items()
            },
            "outputs": {key: [a.uri for a in artifacts] for key, artifacts in output_dict.items()},
            "exec_properties": exec_properties,
        }
        for key, artifacts in output_dict.items():
            for artifact in artifacts:
                os.makedirs(artifact.uri, exist_ok=True)
                with open(os.path.join(artifact.uri, "seen.json"), "w") as file:
                    json.dump(seen, file)
                # What the Evaluator does: record an input's URI in an output's properties.
                artifact.set_string_custom_property("examples_uri", input_dict["examples"][0].uri)
