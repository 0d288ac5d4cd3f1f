"""The Evaluator takes a baseline without a SavedModel as no baseline, and a real one as is."""

from tfx.components.evaluator import executor as tfx_evaluator
from tfx.types import standard_artifacts

from components.evaluator import Evaluator, executor


def model_at(path, with_saved_model):
    (path / "Format-Serving").mkdir(parents=True)
    if with_saved_model:
        (path / "Format-Serving" / "saved_model.pb").write_text("graph")
    model = standard_artifacts.Model()
    model.uri = str(path)
    return model


def test_only_baselines_that_hold_a_model_reach_tfxs_evaluator(tmp_path, monkeypatch):
    received = []
    monkeypatch.setattr(
        tfx_evaluator.Executor, "Do", lambda self, inputs, outputs, props: received.append(inputs)
    )
    candidate = model_at(tmp_path / "candidate", True)
    empty = model_at(tmp_path / "nothing-pushed-yet", False)
    real = model_at(tmp_path / "last-blessed", True)

    for baselines in ([empty], [real], []):
        executor.Executor().Do({"model": [candidate], "baseline_model": baselines}, {}, {})

    assert [inputs["baseline_model"] for inputs in received] == [[], [real], []]
    assert all(inputs["model"] == [candidate] for inputs in received)


def test_the_component_keeps_its_id_and_runs_this_executor():
    assert Evaluator.EXECUTOR_SPEC.executor_class is executor.Executor
    assert issubclass(executor.Executor, tfx_evaluator.Executor)
