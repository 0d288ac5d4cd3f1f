"""The Evaluator's segmentation metrics: exact over the whole split, as one TFMA metric.

`SegmentationMetrics` emits, per model and slice (names from evaluation/metrics.py):
`dice_<class>`, `mean_dice`, `iou_<class>`, `mean_iou`, `pixel_accuracy` and, when the
classes have a background, `foreground_dice` (every other class merged against it).

- Scores are exact over the split: per class, intersections and sizes are summed over
  every pixel of every example first, then divided (evaluation/metrics.py holds the math).
  They are *not* means of per-example scores.
- A class absent from both labels and predictions has undefined (NaN) Dice and IoU and is
  left out of the means.
- Predictions are per-pixel class scores [..., C] (argmax = predicted class); labels are
  class ids [...] or [..., 1].

Why a native TFMA metric and not a Keras metric: TFMA gives Keras metrics one weight per
example, which does not broadcast over the H*W pixels of a mask (Keras MeanIoU fails with
"Shapes (262144,) and (16,) are incompatible"). A Beam CombineFn sees whole masks and sums
plain integer counts instead.

Thresholds: TFMA attaches a `MetricConfig.threshold` only to keys whose name is the metric
instance's `.name` (`metric_specs.keys_and_metrics_from_specs`). So `.name` is the metric
chosen for blessing (`threshold_metric`, default `mean_dice`): a threshold on this
MetricConfig is checked against it (value thresholds on the candidate, change thresholds
on its diff to the baseline). `MetricsSpec.thresholds={"mean_dice": ...}` does *not* work
in TFMA 0.52: those keys carry `example_weighted=None`, which never equals the `False` of
computed keys, and an unmatched threshold fails validation. In TFMA 0.52 the config
protos are on `tensorflow_model_analysis` only once `tfx` is imported.

    tfma.MetricConfig(
        class_name="SegmentationMetrics",
        module="evaluation.tfma_metrics",
        config=json.dumps({"class_names": ["pet", "background", "border"],
                           "background": "background", "threshold_metric": "mean_dice"}),
        threshold=tfma.MetricThreshold(...),
    )
"""

import dataclasses
from typing import Any, Dict, Iterable, List, Mapping, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_specs, metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

from evaluation.metrics import confusion_counts, foreground_ids, metric_names, scores


class SegmentationMetrics(metric_types.Metric):
    """Dice, IoU, pixel accuracy and foreground Dice over the split, as a TFMA metric."""

    def __init__(
        self,
        class_names: List[str],
        background: Optional[str] = None,
        threshold_metric: str = "mean_dice",
        code_version: Optional[str] = None,
    ):
        # The arguments are the serialised config (get_config returns these kwargs), so
        # `MetricConfig(config=json.dumps({...}))` rebuilds it. merge_per_key_computations
        # calls _computations once per model_name x output_name x sub_key TFMA asks for.
        names = metric_names(class_names, background)
        if threshold_metric not in names:
            raise ValueError(f"threshold_metric {threshold_metric!r} is not one of {names}.")
        if background is not None and background not in class_names:
            raise ValueError(f"background {background!r} is not one of {class_names}.")
        super().__init__(
            metric_util.merge_per_key_computations(_computations),
            class_names=list(class_names),
            background=background,
            threshold_metric=threshold_metric,
            # Not used by the metric: in its config, it is part of TFX's cache key for the
            # Evaluator, so that an edit to this code re-runs it (pipeline/code_version.py).
            **({"code_version": code_version} if code_version else {}),
        )
        self.name = threshold_metric


def _computations(
    class_names: List[str],
    background: Optional[str] = None,
    threshold_metric: str = "mean_dice",
    code_version: Optional[str] = None,
    model_name: str = "",
    output_name: str = "",
    sub_key: Optional[metric_types.SubKey] = None,
    aggregation_type: Optional[metric_types.AggregationType] = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    # model_name/output_name/sub_key/example_weighted are whatever TFMA derives from the
    # MetricsSpec. They go into every key unchanged, because thresholds are matched on the
    # full key. Example weights and sub_keys do not apply to pixel counts.
    del threshold_metric  # only the metric's .name, for thresholds
    del code_version  # only for TFX's cache key
    base = metric_types.MetricKey(
        name="",
        model_name=model_name,
        output_name=output_name,
        sub_key=sub_key,
        aggregation_type=aggregation_type,
        example_weighted=example_weighted,
    )
    keys = [base._replace(name=name) for name in metric_names(class_names, background)]
    background_id = None if background is None else list(class_names).index(background)
    return [
        metric_types.MetricComputation(
            keys=keys,
            # No preprocessors: TFMA passes the default StandardMetricInputs (labels,
            # predictions, example weights) of each example.
            preprocessors=None,
            combiner=_CountsCombiner(keys, class_names, background_id, model_name, output_name),
        )
    ]


def _single_value(value: Any, what: str, output_name: str):
    # With dict-form label_keys ({"probabilities": "mask_xf"}) and no
    # MetricsSpec.output_names, TFMA hands over {"probabilities": array}.
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise ValueError(
                f"{what} is a dict with keys {sorted(value)} for output_name="
                f"{output_name!r}; set MetricsSpec.output_names to pick one."
            )
        (value,) = value.values()
    if value is None:
        raise ValueError(f"no {what} found for output_name={output_name!r}")
    return np.asarray(value)


class _CountsCombiner(beam.CombineFn):
    """Sums [intersection, true size, predicted size] per class over the split.

    The accumulator is [3, C + 2]: C classes, then (background, foreground).
    """

    def __init__(self, keys, class_names, background_id, model_name, output_name):
        self._keys = keys
        self._class_names = list(class_names)
        self._num_classes = len(class_names)
        self._background_id = background_id
        self._model_name = model_name
        self._output_name = output_name

    def create_accumulator(self) -> np.ndarray:
        return np.zeros((3, self._num_classes + 2), dtype=np.int64)

    def add_input(
        self, accumulator: np.ndarray, element: metric_types.StandardMetricInputs
    ) -> np.ndarray:
        # TFMA 0.52 unbatches extracts before metrics (UnbatchExtractor), so an element is
        # one example; the flattening in confusion_counts makes a batched [B, H, W, C]
        # element work the same way.
        names = dict(model_name=self._model_name, output_name=self._output_name)
        labels = _single_value(element.get_labels(**names), "labels", self._output_name)
        scores_ = _single_value(element.get_predictions(**names), "predictions", self._output_name)
        if scores_.ndim == 1:
            # Fixed-shape features read from tf.Examples arrive flattened.
            scores_ = scores_.reshape(-1, self._num_classes)
        if scores_.shape[-1] != self._num_classes:
            raise ValueError(
                f"predictions have {scores_.shape[-1]} classes on the last axis, "
                f"class_names has {self._num_classes}"
            )
        predicted = scores_.argmax(axis=-1)
        counts = np.zeros_like(accumulator)
        counts[:, : self._num_classes] = confusion_counts(labels, predicted, self._num_classes)
        if self._background_id is not None:
            counts[:, self._num_classes :] = confusion_counts(
                foreground_ids(labels, self._background_id),
                foreground_ids(predicted, self._background_id),
                num_classes=2,
            )
        return accumulator + counts

    def merge_accumulators(self, accumulators: Iterable[np.ndarray]) -> np.ndarray:
        return sum(accumulators, self.create_accumulator())

    def extract_output(self, accumulator: np.ndarray) -> Dict[metric_types.MetricKey, float]:
        foreground = (
            accumulator[:, self._num_classes :] if self._background_id is not None else None
        )
        values = scores(self._class_names, accumulator[:, : self._num_classes], foreground)
        return {key: values[key.name] for key in self._keys}


# Registered so that a MetricConfig without `module` (e.g. the output of
# tfma.metrics.specs_from_metrics) also resolves once this module is imported.
metric_types.register_metric(SegmentationMetrics)


def candidate_metrics_by_slice(evaluation_uri: str) -> dict[tuple, dict[str, float]]:
    """{slice key: {metric name: value}} of the candidate model in a TFMA evaluation.

    The slice key is () for the whole split, else ((feature, value), ...).
    """
    return metrics_by_model(evaluation_uri)[CANDIDATE]


# The models of an evaluation, as metrics_by_model names them.
CANDIDATE = "candidate"
BASELINE = "baseline"
DIFF = "diff"  # the candidate's metric minus the baseline's


def metrics_by_model(evaluation_uri: str) -> dict[str, dict[tuple, dict[str, float]]]:
    """{CANDIDATE | BASELINE | DIFF: {slice key: {metric name: value}}} of an evaluation.

    Without a baseline, TFMA names the one model "" and the BASELINE and DIFF entries are
    empty. With one, TFX's Evaluator names the models "candidate" and "baseline", and the
    candidate's keys marked is_diff hold its differences to the baseline.
    """
    import tensorflow_model_analysis as tfma

    by_model = {CANDIDATE: {}, BASELINE: {}, DIFF: {}}
    for metrics_for_slice in tfma.load_metrics(evaluation_uri):
        slice_key = tuple(
            (key.column, _slice_value(key)) for key in metrics_for_slice.slice_key.single_slice_keys
        )
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            key = key_and_value.key
            if not key_and_value.value.HasField("double_value"):
                continue
            model = BASELINE if key.model_name == BASELINE else CANDIDATE
            if key.is_diff:
                model = DIFF
            values = by_model[model].setdefault(slice_key, {})
            values[key.name] = key_and_value.value.double_value.value
    return by_model


@dataclasses.dataclass
class Check:
    """One blessing threshold of the Evaluator, and how the candidate fared."""

    metric: str
    description: str  # e.g. "mean_dice >= 0.5", "mean_dice - baseline's >= -0.01"
    value: float | None  # the candidate's value, or its difference to the baseline
    passed: bool | None  # None: the Evaluator recorded no validation result


def blessing_checks(evaluation_uri: str) -> tuple[list[Check], bool | None]:
    """The thresholds the Evaluator applied to the whole split, each passed or failed, and
    TFMA's overall validation verdict (None when it recorded none).

    The thresholds are read from the evaluation's own eval_config.json: on a first run, with
    no blessed baseline, TFX's Evaluator drops the change thresholds, so only the checks
    that were made are listed.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.writers import eval_config_writer

    eval_config = eval_config_writer.load_eval_run(evaluation_uri)[0]
    try:
        validation = tfma.load_validation_result(evaluation_uri)
    except (FileNotFoundError, IndexError, OSError):
        validation = None
    failed = set()
    if validation is not None:
        for per_slice in validation.metric_validations_per_slice:
            if per_slice.slice_key.single_slice_keys:
                continue  # the pipeline's thresholds are on the whole split only
            for failure in per_slice.failures:
                failed.add((failure.metric_key.name, failure.metric_key.is_diff))
    by_model = metrics_by_model(evaluation_uri)
    overall = {model: by_slice.get((), {}) for model, by_slice in by_model.items()}
    checks = []
    for metric, threshold in _whole_split_thresholds(eval_config):
        if threshold.HasField("value_threshold"):
            bounds = threshold.value_threshold
            for field, operator in (("lower_bound", ">="), ("upper_bound", "<=")):
                if bounds.HasField(field):
                    checks.append(
                        Check(
                            metric,
                            f"{metric} {operator} {getattr(bounds, field).value:g}",
                            overall[CANDIDATE].get(metric),
                            None if validation is None else (metric, False) not in failed,
                        )
                    )
        if threshold.HasField("change_threshold"):
            change = threshold.change_threshold
            higher = change.direction == config_pb2.MetricDirection.HIGHER_IS_BETTER
            for field, what in (("absolute", ""), ("relative", " (relative)")):
                if change.HasField(field):
                    bound = getattr(change, field).value
                    checks.append(
                        Check(
                            metric,
                            f"{metric} - baseline's{what} {'>=' if higher else '<='} {bound:g}",
                            overall[DIFF].get(metric),
                            None if validation is None else (metric, True) not in failed,
                        )
                    )
    return checks, None if validation is None else validation.validation_ok


def _whole_split_thresholds(eval_config):
    """(metric name, MetricThreshold) of every threshold that applies to the whole split."""
    for metrics_spec in eval_config.metrics_specs:
        for name, threshold in metrics_spec.thresholds.items():
            yield name, threshold
        for metric in metrics_spec.metrics:
            if not (metric.HasField("threshold") or metric.per_slice_thresholds):
                continue
            # A MetricConfig's thresholds apply to its metric's .name: for ours, the
            # threshold_metric of its config (see the module docstring).
            name = metric_specs.metric_instance(metric).name
            if metric.HasField("threshold"):
                yield name, metric.threshold
            for per_slice in metric.per_slice_thresholds:
                if any(not spec.ListFields() for spec in per_slice.slicing_specs):
                    yield name, per_slice.threshold


def _slice_value(single_slice_key):
    kind = single_slice_key.WhichOneof("kind")
    value = getattr(single_slice_key, kind)
    return value.decode() if isinstance(value, bytes) else value
