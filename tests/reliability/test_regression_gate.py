"""The regression gate: a worse candidate is not blessed, and serving keeps the good model.

A model trained for 120 steps is blessed and pushed (the session's `good_run`); then the
same pipeline trains a candidate for 1 step. Blessing needs mean Dice >= --blessing-min
(0 here, so only the second rule decides) and at most 0.01 below the last blessed model.
"""

import os

import pytest
import tensorflow_model_analysis as tfma

from metadata import run_summary
from pipeline import configs
from tests.reliability.helpers import UPSTREAM, execution_states, run_runner, runner_command

pytestmark = pytest.mark.slow  # two pipeline runs: about 6 minutes on 2 cores


@pytest.fixture(scope="module")
def worse_candidate(good_run, tiny_data_dir):
    output_dir, _, console = good_run
    command = runner_command(output_dir, tiny_data_dir, train_steps=1, epochs=1)
    code, output = run_runner(command, console)
    assert code == 0, output[-3000:]
    summary = run_summary.summarize(os.path.join(output_dir, "metadata.sqlite"), "pet-segmentation")
    return output, summary


def test_a_worse_candidate_is_not_blessed_or_pushed(good_run, worse_candidate):
    output_dir, good, _ = good_run
    output, candidate = worse_candidate
    allowed_drop = configs.EvaluationConfig().blessing_max_regression
    assert candidate.metrics["mean_dice"] < good.metrics["mean_dice"] - allowed_drop
    assert candidate.blessed is False and candidate.pushed_model_dir is None
    assert "Blessed: no" in output and "Pushed model: none" in output
    # Trained again from the cached examples: only the candidate's own steps ran.
    states = execution_states(output_dir)
    for component in UPSTREAM:
        assert states[component] == ["COMPLETE", "CACHED"], component
    assert states["Trainer"] == ["COMPLETE", "COMPLETE"]


def test_the_candidate_fails_on_the_regression_rule_alone(worse_candidate):
    _, candidate = worse_candidate
    validation = tfma.load_validation_result(candidate.evaluation_uri)
    assert not validation.validation_ok
    failures = [f for s in validation.metric_validations_per_slice for f in s.failures]
    # One failure, on the whole split: mean Dice's change against the blessed baseline
    # (its value is above --blessing-min 0, so the lower bound did not fail).
    assert len(failures) == 1
    (failure,) = failures
    assert failure.metric_key.name == "mean_dice" and failure.metric_key.is_diff
    assert failure.metric_threshold.HasField("change_threshold")


def test_the_serving_dir_still_holds_only_the_good_model(good_run, worse_candidate):
    output_dir, good, _ = good_run
    serving_dir = os.path.join(output_dir, "serving_model", configs.PIPELINE_NAME)
    assert os.listdir(serving_dir) == [os.path.basename(good.pushed_model_dir)]
    assert os.path.isfile(os.path.join(good.pushed_model_dir, "saved_model.pb"))
