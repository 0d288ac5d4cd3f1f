"""Evaluator: TFX's standard Evaluator with one change in its executor.

A Kubeflow task cannot have an optional output, so on a first run LatestPushedModel
(components/latest_pushed_model) still outputs a `model`, one without a SavedModel. This
Evaluator treats such a baseline as none: it evaluates the candidate alone, and the
regression threshold is skipped, exactly as TFX's Evaluator does when its resolver finds
no blessed model. With a real baseline, or none, it is TFX's Evaluator unchanged; the
class keeps its name so that the component id stays "Evaluator" on every target.
"""

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from components.evaluator import executor


class Evaluator(tfx.components.Evaluator):
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
