"""The visual report of a model: PNG pictures and charts, and an index.html showing them.

`write_report` takes plain data (metrics, slices, training curves, comparison rows) and
writes, into one folder:
- samples.png / worst.png: image | true mask | predicted mask | overlay, for a fixed
  sample of eval examples and for the ones with the lowest Dice;
- metrics.png: Dice and IoU per class, and the summary scores;
- slices.png: mean Dice per slice (e.g. per species and per breed), where there are slices;
- training.png: the training and validation loss and Dice, epoch by epoch;
- index.html (evaluation/templates.py): all of the above, with the numbers as tables: the
  model's and the last blessed model's scores side by side, the blessing checks, the
  confusion matrix, the caveats of the model card, and links to the artifacts.
The pipeline's SegmentationReport component gathers the data (components/segmentation_report).
"""

import dataclasses
import math
import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from evaluation import model_card, templates, visualize  # noqa: E402

INDEX = "index.html"


@dataclasses.dataclass
class ReportData:
    title: str
    class_names: tuple[str, ...]
    metrics: dict[str, float]  # the whole split: dice_<class>, mean_dice, iou_<class>, ...
    # {slice feature: {slice value name: {metric: value}}}, e.g. {"species": {"cat": {...}}},
    # in the order to show them; "example_count" in a slice's metrics is shown beside it.
    slices: dict[str, dict[str, dict[str, float]]]
    # {"loss": {"train": [(epoch, value), ...], "validation": [...]}, "mean_dice": {...}}
    curves: dict[str, dict[str, list[tuple[int, float]]]]
    sample_rows: list  # comparison_grid rows: (title, image, true ids, predicted ids)
    worst_rows: list
    facts: dict[str, str]  # shown as a table at the top: model, data, blessing, ...
    # The last blessed model's scores, as `metrics` and `slices`; empty without a baseline.
    baseline_metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    baseline_slices: dict[str, dict[str, dict[str, float]]] = dataclasses.field(
        default_factory=dict
    )
    # The Evaluator's blessing checks: [{"description", "value", "passed"}].
    checks: list[dict] = dataclasses.field(default_factory=list)
    # Pixels of true class i (row) predicted as class j (column), over `confusion_images`.
    confusion: list[list[int]] | None = None
    confusion_images: int = 0
    caveats: list[str] = dataclasses.field(default_factory=list)  # shown first, boxed
    links: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> path or URI
    tensorboard_dir: str | None = None  # the Trainer's logs


def write_report(data: ReportData, output_dir: str) -> str:
    """Writes every picture and index.html into output_dir; returns index.html's path."""
    os.makedirs(output_dir, exist_ok=True)
    pictures = {}
    num_classes = len(data.class_names)
    for file_name, rows in (("samples.png", data.sample_rows), ("worst.png", data.worst_rows)):
        if rows:
            grid = visualize.comparison_grid(rows, num_classes, class_names=data.class_names)
            grid.save(os.path.join(output_dir, file_name))
            pictures[file_name] = True
    if data.metrics:
        _metrics_chart(data, os.path.join(output_dir, "metrics.png"))
        pictures["metrics.png"] = True
    if data.slices:
        _slices_chart(data.slices, data.baseline_slices, os.path.join(output_dir, "slices.png"))
        pictures["slices.png"] = True
    if data.curves:
        _curves_chart(data.curves, os.path.join(output_dir, "training.png"))
        pictures["training.png"] = True
    path = os.path.join(output_dir, INDEX)
    with open(path, "w") as index:
        index.write(_html(data, pictures))
    return path


def _metrics_chart(data: ReportData, path: str):
    classes = data.class_names
    colors = [
        tuple(c / 255 for c in color) for color in visualize.class_colors(len(classes), classes)
    ]
    summary = [
        name
        for name in ("mean_dice", "mean_iou", "foreground_dice", "pixel_accuracy")
        if name in data.metrics
    ]
    figure, (per_class, overall) = plt.subplots(
        1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [max(2, len(classes)), 2]}
    )
    width = 0.38
    for offset, metric, hatch in ((-width / 2, "dice", None), (width / 2, "iou", "//")):
        values = [_plottable(data.metrics.get(f"{metric}_{c}")) for c in classes]
        bars = per_class.bar(
            [i + offset for i in range(len(classes))],
            values,
            width,
            color=colors,
            edgecolor="black",
            hatch=hatch,
            label="Dice" if metric == "dice" else "IoU",
        )
        per_class.bar_label(bars, fmt="%.2f", fontsize=8)
    per_class.set_xticks(range(len(classes)), classes)
    per_class.set_ylim(0, 1.08)
    per_class.set_title("per class (plain: Dice, hatched: IoU)")
    bars = overall.bar(
        range(len(summary)), [_plottable(data.metrics[n]) for n in summary], color="#4a6fa5"
    )
    overall.bar_label(bars, fmt="%.3f", fontsize=8)
    overall.set_xticks(range(len(summary)), [n.replace("_", "\n") for n in summary])
    overall.set_ylim(0, 1.08)
    overall.set_title("summary")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _slices_chart(slices, baseline_slices, path: str):
    total = sum(len(values) for values in slices.values())
    figure, axes = plt.subplots(
        1, len(slices), figsize=(min(18, 2 + 0.42 * total + 2 * len(slices)), 4), squeeze=False
    )
    # In the order given (species first: components/segmentation_report), best first.
    for axis, (feature, values) in zip(axes[0], slices.items()):
        names = sorted(values, key=lambda name: -_plottable(values[name].get("mean_dice")))
        scores = [_plottable(values[name].get("mean_dice")) for name in names]
        labels = [_with_count(name, values[name]) for name in names]
        axis.bar(range(len(names)), scores, color="#4a6fa5", label="this model")
        baseline = baseline_slices.get(feature, {})
        if baseline:
            axis.scatter(
                range(len(names)),
                [_plottable(baseline.get(name, {}).get("mean_dice")) for name in names],
                marker="_",
                s=300,
                color="black",
                label="last blessed model",
            )
            # Above the plot, right of the title: it would hide bars inside.
            axis.legend(
                fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), ncol=2, frameon=False
            )
        axis.set_xticks(range(len(names)), labels, rotation=90 if len(names) > 4 else 0, fontsize=8)
        # The axis spans the scores, not 0 to 1: differences between slices of a few
        # hundredths must show. The bars do not start at zero, and the axis says where.
        axis.set_ylim(
            *_score_range(
                scores
                + [_plottable(baseline.get(n, {}).get("mean_dice")) for n in names if n in baseline]
            )
        )
        axis.set_title(f"mean Dice by {feature}", loc="left")
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _score_range(scores) -> tuple[float, float]:
    """Bounds of a score axis around the scores, in steps of 0.05, within [0, 1]."""
    low, high = min(scores, default=0.0), max(scores, default=1.0)
    low = max(0.0, math.floor((low - 0.05) * 20) / 20)
    high = min(1.0, math.ceil((high + 0.02) * 20) / 20)
    return low, max(high, low + 0.05)


def _with_count(name, metrics) -> str:
    """'cat (12)': a slice's name and, when known, its number of examples."""
    count = metrics.get("example_count")
    return name if count is None else f"{name} ({int(count)})"


def _curves_chart(curves, path: str):
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.4), squeeze=False)
    for axis, (metric, by_split) in zip(axes[0], sorted(curves.items())):
        for split, points in sorted(by_split.items()):
            if points:
                epochs, values = zip(*points)
                axis.plot([e + 1 for e in epochs], values, marker=".", label=split)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axis.set_title(metric.replace("_", " "))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _plottable(value) -> float:
    """NaN (a class absent from the split) and missing values plot as 0."""
    return 0.0 if value is None or math.isnan(value) else float(value)


def _html(data: ReportData, pictures) -> str:
    confusion_rows = []
    if data.confusion:
        for name, row in zip(data.class_names, data.confusion):
            total = sum(row)
            confusion_rows.append(
                (name, [(count, count / total if total else None) for count in row])
            )
    return templates.render(
        "report.html",
        data=data,
        pictures=pictures,
        confusion_rows=confusion_rows,
        slice_rows=_slice_rows(data),
        number=model_card.number,
        shown=_shown,
        metric_names=list(data.metrics),
    )


def _shown(name: str, value) -> str:
    """A metric's value as the page prints it: TFMA's example counts are doubles."""
    if name.endswith("example_count") and value is not None and not math.isnan(value):
        return model_card.number(int(value))
    return model_card.number(value)


def _slice_rows(data: ReportData):
    """{feature: [(name with count, this model's mean Dice, the baseline's)]}, by name."""
    rows = {}
    for feature, values in data.slices.items():
        baseline = data.baseline_slices.get(feature, {})
        rows[feature] = [
            (
                _with_count(name, values[name]),
                values[name].get("mean_dice"),
                baseline.get(name, {}).get("mean_dice"),
            )
            for name in sorted(values)
        ]
    return rows
