"""Tests for the numpy metric math (evaluation/metrics.py) and the TFMA metric."""

import json
import math

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing import util as beam_util
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.api import model_eval_lib
from tensorflow_model_analysis.api import types as tfma_types
from tensorflow_model_analysis.evaluators import (
    metrics_plots_and_validations_evaluator as evaluator_lib,
)
from tensorflow_model_analysis.evaluators import metrics_validator
from tensorflow_model_analysis.extractors import (
    example_weights_extractor,
    features_extractor,
    labels_extractor,
    materialized_predictions_extractor,
    slice_key_extractor,
    unbatch_extractor,
)
from tensorflow_model_analysis.metrics import metric_specs, metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2
from tfx_bsl.tfxio import test_util as tfxio_test_util

from evaluation import metrics, tfma_metrics

CLASS_NAMES = ["pet", "background", "border"]
METRIC_CONFIG_JSON = json.dumps({"class_names": CLASS_NAMES, "background": "background"})


# ---------------------------------------------------------------------------
# numpy helpers
# ---------------------------------------------------------------------------

# 3x3 masks with 4 classes; class 3 appears in neither.
TRUE_3X3 = np.array([[0, 0, 1], [0, 1, 1], [2, 2, 2]])
PRED_3X3 = np.array([[0, 1, 1], [0, 1, 1], [2, 2, 0]])
# Counted by hand, cell by cell:
#   class 0: true {00, 01, 10} = 3, pred {00, 10, 22} = 3, both {00, 10} = 2
#   class 1: true {02, 11, 12} = 3, pred {01, 02, 11, 12} = 4, both = 3
#   class 2: true {20, 21, 22} = 3, pred {20, 21} = 2, both = 2
#   class 3: 0, 0, 0


def test_confusion_counts_by_hand():
    intersection, true_size, predicted_size = metrics.confusion_counts(
        TRUE_3X3, PRED_3X3, num_classes=4
    )
    np.testing.assert_array_equal(intersection, [2, 3, 2, 0])
    np.testing.assert_array_equal(true_size, [3, 3, 3, 0])
    np.testing.assert_array_equal(predicted_size, [3, 4, 2, 0])
    assert intersection.dtype == np.int64


def test_confusion_counts_accepts_trailing_channel_axis():
    counts = metrics.confusion_counts(TRUE_3X3[..., None], PRED_3X3, num_classes=4)
    np.testing.assert_array_equal(counts[0], [2, 3, 2, 0])


def test_confusion_counts_rejects_out_of_range_ids():
    with pytest.raises(ValueError):
        metrics.confusion_counts(TRUE_3X3, PRED_3X3, num_classes=2)


def test_dice_and_mean_by_hand():
    per_class = metrics.dice_from_counts([2, 3, 2, 0], [3, 3, 3, 0], [3, 4, 2, 0])
    # 2*2/(3+3), 2*3/(3+4), 2*2/(3+2), 0/0
    np.testing.assert_allclose(per_class[:3], [4 / 6, 6 / 7, 4 / 5])
    assert math.isnan(per_class[3])
    # The absent class is left out: (4/6 + 6/7 + 4/5) / 3 = 244/315.
    assert metrics.mean_dice(per_class) == pytest.approx(244 / 315)
    assert metrics.mean_dice(per_class) == pytest.approx(0.7746032)


def test_dice_edge_cases():
    # Present in only one of the two: Dice 0, not NaN.
    np.testing.assert_array_equal(metrics.dice_from_counts([0, 0], [5, 0], [0, 5]), [0, 0])
    assert math.isnan(metrics.mean_dice([np.nan, np.nan]))


# ---------------------------------------------------------------------------
# TFMA metric
# ---------------------------------------------------------------------------


def _probabilities(class_ids, num_classes=3):
    """Softmax-like scores whose argmax is class_ids."""
    scores = np.full(class_ids.shape + (num_classes,), 0.1, dtype=np.float32)
    np.put_along_axis(scores, class_ids[..., None], 0.8, axis=-1)
    return scores


# Two 2x2 examples; labels as TFMA gives them with the dict-form label_keys
# {"probabilities": "mask_xf"}, one [H, W] and one [H, W, 1].
LABELS_1 = np.array([[0, 0], [0, 0]])
PRED_1 = np.array([[0, 0], [0, 1]])
LABELS_2 = np.array([[1, 1], [1, 2]])[..., None]
PRED_2 = np.array([[1, 1], [0, 2]])
EXAMPLES = [
    {
        "labels": {"probabilities": LABELS_1},
        "predictions": {"probabilities": _probabilities(PRED_1)},
        "example_weights": np.array([1.0]),
    },
    {
        "labels": {"probabilities": LABELS_2},
        "predictions": {"probabilities": _probabilities(PRED_2)},
        "example_weights": np.array([1.0]),
    },
]
# Summed over both examples by hand (intersection, |T|, |P|):
#   pet:        3, 4+0, 3+1  -> 2*3/8 = 0.75
#   background: 2, 0+3, 1+2  -> 2*2/6 = 0.666667
#   border:     1, 0+1, 0+1  -> 2*1/2 = 1.0
#   mean_dice = (0.75 + 2/3 + 1) / 3 = 29/36
# IoU = I / (|T| + |P| - I): pet 3/5, background 2/4, border 1/1; mean 0.7.
# Pixel accuracy: (3 + 2 + 1) / 8 pixels = 0.75.
# Foreground (pet or border) against background: true fg = 4 (example 1) + 1 (border at
# 11 of example 2) = 5; predicted fg = 3 + 2 (pet at 10, border at 11) = 5; both = 3 + 1
# = 4 -> foreground Dice 2*4/10 = 0.8.
EXPECTED = {
    "dice_pet": 0.75,
    "dice_background": 2 / 3,
    "dice_border": 1.0,
    "mean_dice": 29 / 36,
    "iou_pet": 0.6,
    "iou_background": 0.5,
    "iou_border": 1.0,
    "mean_iou": 0.7,
    "pixel_accuracy": 0.75,
    "foreground_dice": 0.8,
}
# A mean of per-example scores would give something else, e.g. pet:
# example 1 -> 2*3/(4+3) = 6/7, example 2 -> 0/(0+1) = 0, mean 3/7.
PER_EXAMPLE_MEAN_PET = 3 / 7


def _check_combiner(computation, examples, expected, not_expected_pet=None):
    """Runs a computation's CombineFn in a Beam pipeline and checks its output.

    The check runs inside the pipeline (Beam pickles it, so it cannot hand
    values back through a closure).
    """

    def check(outputs):
        try:
            assert len(outputs) == 1
            slice_key, metrics = outputs[0]
            assert slice_key == ()
            assert set(metrics) == set(computation.keys)
            got = {k.name: v for k, v in metrics.items()}
            assert got == pytest.approx(expected)
            if not_expected_pet is not None:
                assert got["dice_pet"] != pytest.approx(not_expected_pet)
        except AssertionError as err:
            raise beam_util.BeamAssertException(err)

    with beam.Pipeline() as pipeline:
        result = (
            pipeline
            | "Create" >> beam.Create(examples)
            | "Process" >> beam.Map(metric_util.to_standard_metric_inputs)
            | "AddSlice" >> beam.Map(lambda x: ((), x))
            | "ComputeMetric" >> beam.CombinePerKey(computation.combiner)
        )
        beam_util.assert_that(result, check)


def test_metric_is_exact_over_the_split():
    metric = tfma_metrics.SegmentationMetrics(class_names=CLASS_NAMES, background="background")
    (computation,) = metric.computations(output_names=["probabilities"])
    assert [k.name for k in computation.keys] == list(EXPECTED)
    assert all(k.output_name == "probabilities" for k in computation.keys)

    _check_combiner(computation, EXAMPLES, EXPECTED, not_expected_pet=PER_EXAMPLE_MEAN_PET)

    # The hand-computed numbers agree with the numpy helpers on all pixels.
    counts = metrics.confusion_counts(
        np.concatenate([LABELS_1.ravel(), LABELS_2.ravel()]),
        np.concatenate([PRED_1.ravel(), PRED_2.ravel()]),
        num_classes=3,
    )
    assert metrics.mean_dice(metrics.dice_from_counts(*counts)) == pytest.approx(29 / 36)


def test_metric_handles_unnamed_output_and_batched_input():
    # No MetricsSpec.output_names: TFMA passes output_name="" and the values
    # are still {"probabilities": ...}; a batch of both examples gives the same
    # sums as the two examples one by one.
    metric = tfma_metrics.SegmentationMetrics(class_names=CLASS_NAMES, background="background")
    (computation,) = metric.computations()
    batch = {
        "labels": {"probabilities": np.stack([LABELS_1[..., None], LABELS_2])},
        "predictions": {
            "probabilities": np.stack([_probabilities(PRED_1), _probabilities(PRED_2)])
        },
        "example_weights": np.array([1.0, 1.0]),
    }
    _check_combiner(computation, [batch], EXPECTED)


def test_metric_reads_its_own_model_with_a_baseline():
    # With a baseline, TFMA keys predictions by model name; labels are shared.
    metric = tfma_metrics.SegmentationMetrics(class_names=CLASS_NAMES, background="background")
    computations = metric.computations(
        model_names=["candidate", "baseline"], output_names=["probabilities"]
    )
    inputs = metric_util.to_standard_metric_inputs(
        {
            "labels": {"probabilities": LABELS_1},
            "predictions": {
                "candidate": {"probabilities": _probabilities(LABELS_1)},  # perfect
                "baseline": {"probabilities": _probabilities(PRED_1)},
            },
        }
    )
    got = {}
    for computation in computations:
        combiner = computation.combiner
        accumulator = combiner.add_input(combiner.create_accumulator(), inputs)
        got.update(combiner.extract_output(accumulator))
    by_name = {(k.model_name, k.name): v for k, v in got.items()}
    assert by_name[("candidate", "dice_pet")] == 1.0
    assert by_name[("baseline", "dice_pet")] == pytest.approx(6 / 7)
    assert math.isnan(by_name[("baseline", "dice_border")])
    assert by_name[("baseline", "mean_dice")] == pytest.approx((6 / 7 + 0) / 2)


# ---------------------------------------------------------------------------
# Config round trip and thresholds
# ---------------------------------------------------------------------------


def _threshold(lower_bound):
    return config_pb2.MetricThreshold(
        value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": lower_bound}),
        change_threshold=config_pb2.GenericChangeThreshold(
            direction=config_pb2.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -1e-10},
        ),
    )


def _metric_with_overall_threshold(threshold):
    """The metric as pipeline.eval_config() sets it up: thresholds on the whole split only.

    A MetricConfig.threshold would apply to every slice, and small slices would fail it.
    """
    return config_pb2.MetricConfig(
        class_name="SegmentationMetrics",
        module="evaluation.tfma_metrics",
        config=METRIC_CONFIG_JSON,
        per_slice_thresholds=[
            config_pb2.PerSliceMetricThreshold(
                slicing_specs=[config_pb2.SlicingSpec()], threshold=threshold
            )
        ],
    )


def _eval_config(metrics_spec):
    label_keys = {"probabilities": "mask_xf"}
    return config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(name="candidate", label_keys=label_keys),
            config_pb2.ModelSpec(name="baseline", label_keys=label_keys, is_baseline=True),
        ],
        metrics_specs=[metrics_spec],
    )


def test_metric_config_round_trip():
    config = config_pb2.MetricConfig(
        class_name="SegmentationMetrics",
        module="evaluation.tfma_metrics",
        config=METRIC_CONFIG_JSON,
    )
    metric = metric_specs.metric_instance(config)
    assert isinstance(metric, tfma_metrics.SegmentationMetrics)
    assert metric.get_config() == {
        "class_names": CLASS_NAMES,
        "background": "background",
        "threshold_metric": "mean_dice",
    }
    assert metric.name == "mean_dice"
    # The pipeline's config also carries the code's version (TFX's cache key); the metric
    # keeps it in its config and computes the same.
    versioned = config_pb2.MetricConfig(
        class_name="SegmentationMetrics",
        module="evaluation.tfma_metrics",
        config=json.dumps({**json.loads(METRIC_CONFIG_JSON), "code_version": "abc"}),
    )
    assert metric_specs.metric_instance(versioned).get_config()["code_version"] == "abc"

    # specs_from_metrics serialises without `module`; that resolves because the class is
    # registered once evaluation.tfma_metrics is imported.
    specs = metric_specs.specs_from_metrics(
        [tfma_metrics.SegmentationMetrics(["a", "b"], threshold_metric="mean_iou")]
    )
    (config,) = [m for s in specs for m in s.metrics if m.class_name == "SegmentationMetrics"]
    assert not config.module
    metric = metric_specs.metric_instance(config)
    assert metric.name == "mean_iou"
    (computation,) = metric.computations()
    # No background: no foreground Dice.
    assert [k.name for k in computation.keys] == [
        "dice_a",
        "dice_b",
        "mean_dice",
        "iou_a",
        "iou_b",
        "mean_iou",
        "pixel_accuracy",
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold_metric": "mean_f1"}, "threshold_metric 'mean_f1' is not one of"),
        ({"threshold_metric": "foreground_dice"}, "is not one of"),  # needs a background
        ({"background": "sky"}, "background 'sky' is not one of"),
    ],
)
def test_bad_metric_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tfma_metrics.SegmentationMetrics(CLASS_NAMES, **kwargs)


def test_overall_slice_threshold_attaches_to_the_threshold_metric():
    spec = config_pb2.MetricsSpec(
        metrics=[_metric_with_overall_threshold(_threshold(0.5))],
        # TFMA fills model_names in from the model specs before evaluating.
        model_names=["candidate", "baseline"],
    )
    eval_config = _eval_config(spec)

    computed = {
        k
        for c in metric_specs.to_computations(eval_config.metrics_specs, eval_config)
        for k in c.keys
    }
    thresholds = metric_specs.metric_thresholds_from_metrics_specs(
        eval_config.metrics_specs, eval_config
    )
    assert {k.name for k in thresholds} == {"mean_dice"}
    for key in thresholds:
        assert key._replace(is_diff=False) in computed

    def validate(candidate_mean, baseline_mean):
        mean = metric_types.MetricKey("mean_dice", model_name="candidate")
        base = mean._replace(model_name="baseline")
        metrics = {
            mean: candidate_mean,
            base: baseline_mean,
            mean.make_diff_key(): candidate_mean - baseline_mean,
        }
        return metrics_validator.validate_metrics(((), metrics), eval_config).validation_ok

    assert validate(0.8, 0.7)
    assert not validate(0.4, 0.3)  # below the lower bound
    assert not validate(0.8, 0.9)  # worse than the baseline


def test_metrics_spec_thresholds_do_not_match_post_export_metrics():
    # Documents TFMA 0.52 behaviour: MetricsSpec.thresholds keys carry
    # example_weighted=None, computed keys carry False, so they never match and
    # the unmatched threshold fails validation even for a perfect score.
    spec = config_pb2.MetricsSpec(
        metrics=[
            config_pb2.MetricConfig(
                class_name="SegmentationMetrics",
                module="evaluation.tfma_metrics",
                config=METRIC_CONFIG_JSON,
            )
        ],
        thresholds={
            "mean_dice": config_pb2.MetricThreshold(
                value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": 0.5})
            )
        },
    )
    eval_config = config_pb2.EvalConfig(model_specs=[config_pb2.ModelSpec()], metrics_specs=[spec])
    (computation,) = metric_specs.to_computations(eval_config.metrics_specs, eval_config)
    metrics = {k: 1.0 for k in computation.keys}
    assert not metrics_validator.validate_metrics(((), metrics), eval_config).validation_ok


def test_tfma_evaluator_end_to_end_with_threshold():
    """Runs TFMA's own evaluator (unbatching, slicing, validation) model-agnostic.

    The "model" is the probabilities stored next to the mask in tf.Examples.
    """

    def example(labels, probabilities, species):
        feature = {
            "species": tf.train.Feature(int64_list=tf.train.Int64List(value=[species])),
            "mask_xf": tf.train.Feature(int64_list=tf.train.Int64List(value=labels.ravel())),
            "probs": tf.train.Feature(float_list=tf.train.FloatList(value=probabilities.ravel())),
        }
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

    schema = text_format.Parse(
        'feature { name: "mask_xf" type: INT } feature { name: "probs" type: FLOAT } '
        'feature { name: "species" type: INT }',
        schema_pb2.Schema(),
    )
    eval_config = config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(
                label_keys={"probabilities": "mask_xf"},
                prediction_keys={"probabilities": "probs"},
            )
        ],
        metrics_specs=[
            config_pb2.MetricsSpec(
                output_names=["probabilities"],
                metrics=[
                    # mean_dice is 29/36 = 0.806 overall, 3/7 for cats: the cats' slice
                    # must not fail the overall-only threshold.
                    _metric_with_overall_threshold(
                        config_pb2.MetricThreshold(
                            value_threshold=config_pb2.GenericValueThreshold(
                                lower_bound={"value": 0.8}
                            )
                        )
                    )
                ],
            )
        ],
        slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=["species"])],
    )
    extractors = [
        features_extractor.FeaturesExtractor(eval_config),
        labels_extractor.LabelsExtractor(eval_config),
        example_weights_extractor.ExampleWeightsExtractor(eval_config),
        materialized_predictions_extractor.MaterializedPredictionsExtractor(eval_config),
        unbatch_extractor.UnbatchExtractor(),
        slice_key_extractor.SliceKeyExtractor(eval_config=eval_config),
    ]
    tfx_io = tfxio_test_util.InMemoryTFExampleRecord(
        schema=schema, raw_record_column_name=constants.ARROW_INPUT_COLUMN
    )

    # The species=0 slice is example 1 alone: labels all pet (4 px), predictions 3 pet and
    # 1 background. Dice pet 2*3/7, background 0/1 = 0, border undefined (NaN, left out of
    # the means); IoU pet 3/4, background 0; pixel accuracy 3/4; foreground 2*3/7.
    expected_cats = {
        "dice_pet": 6 / 7,
        "dice_background": 0.0,
        "mean_dice": 3 / 7,
        "iou_pet": 0.75,
        "iou_background": 0.0,
        "mean_iou": 0.375,
        "pixel_accuracy": 0.75,
        "foreground_dice": 6 / 7,
    }

    def check_metrics(outputs):
        try:
            by_slice = {
                slice_key: {k.name: v for k, v in metrics.items() if k.output_name}
                for slice_key, metrics in outputs
            }
            assert set(by_slice) == {(), (("species", 0),), (("species", 1),)}
            assert by_slice[()] == pytest.approx(EXPECTED)
            cats = by_slice[(("species", 0),)]
            assert math.isnan(cats.pop("dice_border")) and math.isnan(cats.pop("iou_border"))
            assert cats == pytest.approx(expected_cats)
        except (AssertionError, ValueError) as err:
            raise beam_util.BeamAssertException(err)

    def check_validation(outputs):
        try:
            # One result per slice (the writer merges them); only the overall slice has a
            # threshold, so the cats' 3/7 fails nothing.
            assert len(outputs) == 3
            assert all(validation.validation_ok for validation in outputs), outputs
        except (AssertionError, ValueError) as err:
            raise beam_util.BeamAssertException(err)

    with beam.Pipeline() as pipeline:
        evaluation = (
            pipeline
            | "Create"
            >> beam.Create(
                [
                    example(LABELS_1, _probabilities(PRED_1), species=0),
                    example(LABELS_2, _probabilities(PRED_2), species=1),
                ]
            )
            | "Batch" >> tfx_io.BeamSource()
            | "ToExtracts" >> model_eval_lib.BatchedInputsToExtracts()
            | "Evaluate"
            >> model_eval_lib.ExtractAndEvaluate(
                extractors=extractors,
                evaluators=[evaluator_lib.MetricsPlotsAndValidationsEvaluator(eval_config)],
            )
        )
        beam_util.assert_that(evaluation[constants.METRICS_KEY], check_metrics, label="metrics")
        beam_util.assert_that(
            evaluation[constants.VALIDATIONS_KEY], check_validation, label="validation"
        )


# ---------------------------------------------------------------------------
# Reading an evaluation back: the baseline beside the candidate, the blessing checks
# ---------------------------------------------------------------------------


def _write_evaluation(output_path, candidate_ids):
    """An evaluation as TFX's Evaluator writes it, of a candidate against a baseline: the
    "models" are the probabilities stored in the examples (TFMA's model-agnostic mode)."""
    labels = [np.array([[0, 0], [0, 0]]), np.array([[1, 1], [2, 0]])]
    baseline_ids = [np.array([[0, 0], [0, 1]]), np.array([[1, 1], [1, 0]])]

    def example(index):
        values = {
            "species": tf.train.Int64List(value=[index]),
            "mask_xf": tf.train.Int64List(value=labels[index].ravel()),
            "candidate": tf.train.FloatList(value=_probabilities(candidate_ids[index]).ravel()),
            "baseline": tf.train.FloatList(value=_probabilities(baseline_ids[index]).ravel()),
        }
        feature = {
            name: tf.train.Feature(
                **{"int64_list" if name in ("species", "mask_xf") else "float_list": value}
            )
            for name, value in values.items()
        }
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

    schema = text_format.Parse(
        'feature { name: "mask_xf" type: INT } feature { name: "candidate" type: FLOAT } '
        'feature { name: "baseline" type: FLOAT } feature { name: "species" type: INT }',
        schema_pb2.Schema(),
    )
    threshold = config_pb2.MetricThreshold(
        value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": 0.5}),
        change_threshold=config_pb2.GenericChangeThreshold(
            direction=config_pb2.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -0.01}
        ),
    )
    label_keys = {"probabilities": "mask_xf"}
    eval_config = config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(
                name="candidate",
                label_keys=label_keys,
                prediction_keys={"probabilities": "candidate"},
            ),
            config_pb2.ModelSpec(
                name="baseline",
                is_baseline=True,
                label_keys=label_keys,
                prediction_keys={"probabilities": "baseline"},
            ),
        ],
        metrics_specs=[
            config_pb2.MetricsSpec(
                output_names=["probabilities"],
                model_names=["candidate", "baseline"],
                metrics=[
                    config_pb2.MetricConfig(class_name="ExampleCount"),
                    _metric_with_overall_threshold(threshold),
                ],
            )
        ],
        slicing_specs=[config_pb2.SlicingSpec(), config_pb2.SlicingSpec(feature_keys=["species"])],
    )
    tfx_io = tfxio_test_util.InMemoryTFExampleRecord(
        schema=schema, raw_record_column_name=constants.ARROW_INPUT_COLUMN
    )
    # TFMA refuses change thresholds without a baseline model; these name the two models
    # (the extractors read their predictions from the examples).
    models = [
        tfma_types.EvalSharedModel(model_name="candidate"),
        tfma_types.EvalSharedModel(model_name="baseline", is_baseline=True),
    ]
    with beam.Pipeline() as pipeline:
        _ = (
            pipeline
            | beam.Create([example(0), example(1)])
            | tfx_io.BeamSource()
            | model_eval_lib.ExtractEvaluateAndWriteResults(
                eval_config=eval_config,
                eval_shared_model=models,
                output_path=str(output_path),
                extractors=[
                    features_extractor.FeaturesExtractor(eval_config),
                    labels_extractor.LabelsExtractor(eval_config),
                    example_weights_extractor.ExampleWeightsExtractor(eval_config),
                    materialized_predictions_extractor.MaterializedPredictionsExtractor(
                        eval_config
                    ),
                    unbatch_extractor.UnbatchExtractor(),
                    slice_key_extractor.SliceKeyExtractor(eval_config=eval_config),
                ],
                evaluators=[evaluator_lib.MetricsPlotsAndValidationsEvaluator(eval_config)],
            )
        )
    return str(output_path)


# The baseline: example 0 (all pet) with 3 of 4 pet pixels right, 1 called background;
# example 1 (2 background, 1 border, 1 pet) with the border called background.
# Pet 2*4/(5+4) = 8/9, background 2*2/(2+4) = 2/3, border 0: mean Dice 14/27 = 0.5185.
BASELINE_MEAN_DICE = (8 / 9 + 2 / 3 + 0) / 3


def test_evaluation_read_back_with_baseline_and_passed_checks(tmp_path):
    perfect = [np.array([[0, 0], [0, 0]]), np.array([[1, 1], [2, 0]])]
    uri = _write_evaluation(tmp_path, perfect)

    by_model = tfma_metrics.metrics_by_model(uri)
    assert by_model[tfma_metrics.CANDIDATE][()]["mean_dice"] == pytest.approx(1.0)
    assert by_model[tfma_metrics.BASELINE][()]["mean_dice"] == pytest.approx(BASELINE_MEAN_DICE)
    assert by_model[tfma_metrics.DIFF][()]["mean_dice"] == pytest.approx(1 - BASELINE_MEAN_DICE)
    # Per slice as well: the cat alone (example 0): baseline pet 6/7, background 0.
    cats = (("species", 0),)
    assert by_model[tfma_metrics.BASELINE][cats]["mean_dice"] == pytest.approx(3 / 7)
    assert by_model[tfma_metrics.CANDIDATE][cats]["example_count"] == 1
    candidate = tfma_metrics.candidate_metrics_by_slice(uri)
    assert set(candidate) == {(), cats, (("species", 1),)}
    assert candidate[()]["mean_dice"] == pytest.approx(1.0)

    checks, validation_ok = tfma_metrics.blessing_checks(uri)
    assert validation_ok is True
    assert [(c.description, c.passed) for c in checks] == [
        ("mean_dice >= 0.5", True),
        ("mean_dice - baseline's >= -0.01", True),
    ]
    assert checks[0].value == pytest.approx(1.0)
    assert checks[1].value == pytest.approx(1 - BASELINE_MEAN_DICE)


def test_failed_checks_are_named(tmp_path):
    # Everything called background: pet 0, background 2*2/(2+8) = 0.4, border 0.
    everything_background = [np.ones((2, 2), int), np.ones((2, 2), int)]
    uri = _write_evaluation(tmp_path, everything_background)

    checks, validation_ok = tfma_metrics.blessing_checks(uri)
    assert validation_ok is False
    assert [(c.description, c.passed) for c in checks] == [
        ("mean_dice >= 0.5", False),
        ("mean_dice - baseline's >= -0.01", False),
    ]
    assert checks[0].value == pytest.approx(0.4 / 3)
    assert checks[1].value == pytest.approx(0.4 / 3 - BASELINE_MEAN_DICE)
