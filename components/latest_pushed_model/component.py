"""LatestPushedModel: the newest model the Pusher wrote, as the Evaluator's baseline.

TFX finds "the latest blessed model" with a resolver that queries ML Metadata. The
open-source Kubeflow Pipelines backend cannot run resolver tasks, so on that target this
component takes its place. It needs no query: the Pusher pushes only blessed models, each
into a new numbered version directory under the serving directory, and writes
`saved_model.pb` last. The newest version with `saved_model.pb` is therefore the last
blessed model, and the one being served.

Its `model` output is a copy of that version in the Trainer's layout
(`<uri>/Format-Serving/`), so the Evaluator reads it like any trained model. When nothing
was pushed yet (a first run), the output holds no model and the Evaluator
(components/evaluator) evaluates without a baseline. Either way `baseline.json` in the
output says what was found, and the artifact's properties `found`, `pushed_version` and
`pushed_model_dir` record it in ML Metadata.

It reads storage outside its inputs, so a cached result could be stale: the Kubeflow
compiler (orchestration/kubeflow/compiler.py) turns caching off for it. It also takes the
candidate model as an input, though it does not read it: a new candidate is a new input,
so even where caching is forced on for every task (kfp's Client(enable_caching=True)),
every new candidate is compared with the model pushed last.
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import component_specs as specs
from components.latest_pushed_model import executor
from pipeline.code_version import code_version


class LatestPushedModelSpec(types.ComponentSpec):
    PARAMETERS = {
        # The Pusher's base directory: <serving_model_dir>/<version>/saved_model.pb.
        specs.SERVING_MODEL_DIR_KEY: ExecutionParameter(type=str),
        # The code the executor runs, hashed (pipeline/code_version.py): TFX's cache key.
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {
        # Not read; it makes each new candidate a new execution (see the module docstring).
        specs.CANDIDATE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
    }
    OUTPUTS = {specs.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model)}


class LatestPushedModel(base_component.BaseComponent):
    SPEC_CLASS = LatestPushedModelSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, candidate_model, serving_model_dir: str):
        spec = LatestPushedModelSpec(
            code_version=code_version(executor.__name__),
            candidate_model=candidate_model,
            serving_model_dir=serving_model_dir,
            model=types.Channel(type=standard_artifacts.Model),
        )
        super().__init__(spec=spec)
