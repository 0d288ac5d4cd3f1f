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

from typing import Any, Dict, Iterable, List, Mapping, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

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

    The slice key is () for the whole split, else ((feature, value), ...). Once a blessed
    baseline exists, TFMA also records the baseline's metrics (model_name "baseline") and
    the candidate's differences to them (is_diff), under the same names: both are left out.
    """
    import tensorflow_model_analysis as tfma

    by_slice = {}
    for metrics_for_slice in tfma.load_metrics(evaluation_uri):
        slice_key = tuple(
            (key.column, _slice_value(key)) for key in metrics_for_slice.slice_key.single_slice_keys
        )
        values = by_slice.setdefault(slice_key, {})
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            key = key_and_value.key
            if key.is_diff or key.model_name == "baseline":
                continue
            if key_and_value.value.HasField("double_value"):
                values[key.name] = key_and_value.value.double_value.value
    return by_slice


def _slice_value(single_slice_key):
    kind = single_slice_key.WhichOneof("kind")
    value = getattr(single_slice_key, kind)
    return value.decode() if isinstance(value, bytes) else value
