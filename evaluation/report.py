"""The visual report of a model: PNG pictures and charts, and an index.html showing them.

`write_report` takes plain data (metrics, slices, training curves, comparison rows) and
writes, into one folder:
- samples.png / worst.png: image | true mask | predicted mask | overlay, for a fixed
  sample of eval examples and for the ones with the lowest Dice;
- metrics.png: Dice and IoU per class, and the summary scores;
- slices.png: mean Dice per slice (e.g. per species and per breed), where there are slices;
- training.png: the training and validation loss and Dice, epoch by epoch;
- index.html: all of the above, with the numbers as tables.
The pipeline's SegmentationReport component gathers the data (components/segmentation_report).
"""

import dataclasses
import html
import math
import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from evaluation import visualize  # noqa: E402

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


def write_report(data: ReportData, output_dir: str) -> str:
    """Writes every picture and index.html into output_dir; returns index.html's path."""
    os.makedirs(output_dir, exist_ok=True)
    sections = []
    num_classes = len(data.class_names)
    for file_name, heading, rows in (
        ("samples.png", "A fixed sample of the eval split", data.sample_rows),
        ("worst.png", "The eval examples with the lowest mean Dice", data.worst_rows),
    ):
        if rows:
            grid = visualize.comparison_grid(rows, num_classes, class_names=data.class_names)
            grid.save(os.path.join(output_dir, file_name))
            sections.append((heading, file_name))
    if data.metrics:
        _metrics_chart(data, os.path.join(output_dir, "metrics.png"))
        sections.insert(0, ("Metrics on the whole eval split", "metrics.png"))
    if data.slices:
        _slices_chart(data.slices, os.path.join(output_dir, "slices.png"))
        sections.insert(1, ("Mean Dice per slice", "slices.png"))
    if data.curves:
        _curves_chart(data.curves, os.path.join(output_dir, "training.png"))
        sections.append(("Training curves", "training.png"))
    path = os.path.join(output_dir, INDEX)
    with open(path, "w") as index:
        index.write(_html(data, sections))
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


def _slices_chart(slices, path: str):
    total = sum(len(values) for values in slices.values())
    figure, axes = plt.subplots(
        1, len(slices), figsize=(min(18, 2 + 0.42 * total + 2 * len(slices)), 4), squeeze=False
    )
    # In the order given (species first: components/segmentation_report), best first.
    for axis, (feature, values) in zip(axes[0], slices.items()):
        names = sorted(values, key=lambda name: -_plottable(values[name].get("mean_dice")))
        scores = [_plottable(values[name].get("mean_dice")) for name in names]
        labels = [_with_count(name, values[name]) for name in names]
        axis.bar(range(len(names)), scores, color="#4a6fa5")
        axis.set_xticks(range(len(names)), labels, rotation=90 if len(names) > 4 else 0, fontsize=8)
        axis.set_ylim(0, 1.0)
        axis.set_title(f"mean Dice by {feature}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


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


def _html(data: ReportData, sections) -> str:
    def table(rows):
        cells = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in rows
        )
        return f"<table>{cells}</table>"

    def shown(value):
        return "n/a (class absent)" if value is None or math.isnan(value) else f"{value:.4f}"

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(data.title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
        "padding:3px 8px;text-align:left}img{max-width:100%;border:1px solid #ddd}</style>",
        f"</head><body><h1>{html.escape(data.title)}</h1>",
        table(data.facts.items()),
    ]
    if data.metrics:
        parts.append("<h2>Scores on the whole eval split</h2>")
        parts.append(table((name, shown(value)) for name, value in data.metrics.items()))
    for heading, file_name in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2><img src='{file_name}' alt='{heading}'>")
    for feature, values in data.slices.items():
        parts.append(f"<h3>Mean Dice by {html.escape(feature)}</h3>")
        parts.append(
            table(
                (_with_count(name, values[name]), shown(values[name].get("mean_dice")))
                for name in sorted(values)
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)
