"""Dataset-level Dice coefficient for semantic segmentation, as a native TFMA metric.

Convention (shared by the numpy helpers, the TFMA metric and any CLI):

- Dice is exact over the whole split: per class c, intersections and sizes are
  summed over every pixel of every example first, then
  `dice_c = 2 * |T_c ∩ P_c| / (|T_c| + |P_c|)`. It is *not* a mean of
  per-example scores, so large and small images weigh by their pixel counts.
- A class absent from both the labels and the predictions has 0/0 Dice, which
  is reported as NaN (undefined, not 0 or 1) and left out of `mean_dice`.
- Predictions are per-pixel class scores [..., C]; the predicted class is their
  argmax over the last axis. Labels are integer class ids [...] or [..., 1].

Why a native TFMA metric and not a Keras metric: TFMA gives Keras metrics one
weight per example, which does not broadcast over the H*W pixels of a mask
(Keras MeanIoU fails with "Shapes (262144,) and (16,) are incompatible"). A
Beam CombineFn sees whole masks and sums plain integer counts instead.

Use it in an EvalConfig (the threshold goes on the MetricConfig; see
`DiceCoefficient` for why this attaches it to `mean_dice`). In TFMA 0.52 the
config protos are on `tensorflow_model_analysis` only once `tfx` is imported;
`tensorflow_model_analysis.proto.config_pb2` always has them.

    tfma.MetricConfig(
        class_name="DiceCoefficient",
        module="evaluation.dice",
        config=json.dumps({"class_names": ["pet", "background", "border"]}),
        threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.5}),
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                absolute={"value": -1e-10},
            ),
        ),
    )
"""

from typing import Any, Dict, Iterable, List, Mapping, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

# The math lives in evaluation/metrics.py (numpy only, shared with the evaluate CLI).
from evaluation.metrics import confusion_counts, dice_from_counts, mean_dice

DEFAULT_NAME = "dice"


def metric_names(class_names: List[str], name: str = DEFAULT_NAME) -> List[str]:
    """Metric key names emitted: `<name>_<class>` per class, then `mean_<name>`."""
    return [f"{name}_{c}" for c in class_names] + [f"mean_{name}"]


# ---------------------------------------------------------------------------
# TFMA metric.
# ---------------------------------------------------------------------------


class DiceCoefficient(metric_types.Metric):
    """Exact dataset-level Dice per class plus its mean, as a TFMA metric.

    Emits one MetricKey per class named `dice_<class name>` and one named
    `mean_dice` (with `name="x"`: `x_<class>` and `mean_x`).

    Thresholds: TFMA attaches a `MetricConfig.threshold` only to keys whose
    name is the metric instance's `.name` (`metric_specs.keys_and_metrics_from_specs`).
    So `.name` is set to the mean's key name, `mean_dice`, and a threshold on
    this MetricConfig is checked against `mean_dice` (value thresholds on the
    candidate, change thresholds on its diff to the baseline). Per-class keys
    cannot carry thresholds. `MetricsSpec.thresholds={"mean_dice": ...}` does
    *not* work: TFMA builds those keys with `example_weighted=None`, which
    never equals the `False` of computed keys, and an unmatched threshold fails
    validation.
    """

    def __init__(self, class_names: List[str], name: str = DEFAULT_NAME):
        # `class_names` and `name` are the serialised config (get_config returns
        # these kwargs), so `MetricConfig(config=json.dumps({...}))` rebuilds it.
        # merge_per_key_computations calls _dice_computations once per
        # model_name x output_name x sub_key that TFMA asks for.
        super().__init__(
            metric_util.merge_per_key_computations(_dice_computations),
            class_names=list(class_names),
            name=name,
        )
        self.name = f"mean_{name}"


def _dice_computations(
    class_names: List[str],
    name: str = DEFAULT_NAME,
    model_name: str = "",
    output_name: str = "",
    sub_key: Optional[metric_types.SubKey] = None,
    aggregation_type: Optional[metric_types.AggregationType] = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    # model_name/output_name/sub_key/example_weighted are whatever TFMA derives
    # from the MetricsSpec. They go into every key unchanged, because thresholds
    # are matched on the full key. Dice ignores example weights and sub_keys.
    base = metric_types.MetricKey(
        name=name,
        model_name=model_name,
        output_name=output_name,
        sub_key=sub_key,
        aggregation_type=aggregation_type,
        example_weighted=example_weighted,
    )
    keys = [base._replace(name=n) for n in metric_names(class_names, name)]
    return [
        metric_types.MetricComputation(
            keys=keys,
            # No preprocessors: TFMA passes the default StandardMetricInputs
            # (labels, predictions, example weights) of each example.
            preprocessors=None,
            combiner=_DiceCombiner(keys, len(class_names), model_name, output_name),
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


class _DiceCombiner(beam.CombineFn):
    """Sums per-class [intersection, true size, predicted size] over the split."""

    def __init__(self, keys, num_classes: int, model_name: str, output_name: str):
        self._keys = keys  # per-class keys then the mean key
        self._num_classes = num_classes
        self._model_name = model_name
        self._output_name = output_name

    def create_accumulator(self) -> np.ndarray:
        return np.zeros((3, self._num_classes), dtype=np.int64)

    def add_input(
        self, accumulator: np.ndarray, element: metric_types.StandardMetricInputs
    ) -> np.ndarray:
        # TFMA 0.52 unbatches extracts before metrics (UnbatchExtractor), so an
        # element is one example; the flattening in confusion_counts makes a
        # batched [B, H, W, C] element work the same way.
        names = dict(model_name=self._model_name, output_name=self._output_name)
        labels = _single_value(element.get_labels(**names), "labels", self._output_name)
        scores = _single_value(element.get_predictions(**names), "predictions", self._output_name)
        if scores.ndim == 1:
            # Fixed-shape features read from tf.Examples arrive flattened.
            scores = scores.reshape(-1, self._num_classes)
        if scores.shape[-1] != self._num_classes:
            raise ValueError(
                f"predictions have {scores.shape[-1]} classes on the last axis, "
                f"class_names has {self._num_classes}"
            )
        counts = confusion_counts(labels, scores.argmax(axis=-1), self._num_classes)
        return accumulator + np.stack(counts)

    def merge_accumulators(self, accumulators: Iterable[np.ndarray]) -> np.ndarray:
        return sum(accumulators, self.create_accumulator())

    def extract_output(self, accumulator: np.ndarray) -> Dict[metric_types.MetricKey, float]:
        dice = dice_from_counts(*accumulator)
        values = [float(d) for d in dice] + [mean_dice(dice)]
        return dict(zip(self._keys, values))


# Registered so that a MetricConfig without `module` (e.g. the output of
# tfma.metrics.specs_from_metrics) also resolves once this module is imported.
metric_types.register_metric(DiceCoefficient)
