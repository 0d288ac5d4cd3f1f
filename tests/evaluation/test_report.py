import html.parser
import math
import os

import numpy as np
import pytest
from PIL import Image

from evaluation import report, visualize

CLASSES = ("pet", "background", "border")


def rows(count):
    image = np.full([30, 40, 3], 128, np.uint8)
    true_ids = np.ones([30, 40], np.int64)
    true_ids[10:20, 10:30] = 0
    return [(f"img{i}", image, true_ids, np.roll(true_ids, i, axis=1)) for i in range(count)]


def full_data():
    metrics = {f"dice_{c}": 0.5 for c in CLASSES} | {f"iou_{c}": 0.3 for c in CLASSES}
    metrics |= {"mean_dice": 0.5, "mean_iou": 0.3, "pixel_accuracy": 0.8, "foreground_dice": 0.6}
    metrics["dice_border"] = math.nan  # a class absent from the split
    return report.ReportData(
        title="Segmentation report",
        class_names=CLASSES,
        metrics=metrics,
        slices={
            "species": {
                "cat": {"mean_dice": 0.4, "example_count": 12.0},
                "dog": {"mean_dice": 0.7, "example_count": 24.0},
            },
            "breed": {"Abyssinian": {"mean_dice": 0.5}},  # no count: the name alone
        },
        curves={
            "loss": {"train": [(0, 0.9), (1, 0.5)], "validation": [(0, 1.0), (1, 0.6)]},
            "mean_dice": {"train": [(0, 0.2), (1, 0.6)]},
        },
        sample_rows=rows(3),
        worst_rows=rows(2),
        facts={"model": "/models/1", "blessed": "yes"},
    )


class _Tables(html.parser.HTMLParser):
    """The page's tables as lists of rows of cell texts, and its image sources."""

    def __init__(self, page):
        super().__init__()
        self.tables, self.images, self._cell = [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(" ".join(self._cell.split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def rows(self):
        return [tuple(row) for table in self.tables for row in table]


def test_report_writes_every_picture_and_links_it(tmp_path):
    index = report.write_report(full_data(), str(tmp_path))
    assert index == os.path.join(tmp_path, "index.html")
    page = open(index).read()
    parsed = _Tables(page)
    for name in ("samples.png", "worst.png", "metrics.png", "slices.png", "training.png"):
        assert name in parsed.images
        with Image.open(tmp_path / name) as picture:
            picture.verify()  # a complete, valid PNG
        assert Image.open(tmp_path / name).format == "PNG"
    # Grids: 4 columns of 192 px cells; one row per example below a header, then a legend.
    width = 4 * (192 + 4) + 4
    assert Image.open(tmp_path / "samples.png").size == (
        width,
        14 + 4 + 3 * (14 + 192 + 4) + 14 + 8,
    )
    assert Image.open(tmp_path / "worst.png").size == (width, 14 + 4 + 2 * (14 + 192 + 4) + 14 + 8)
    assert Image.open(tmp_path / "metrics.png").size == (1000, 360)
    assert Image.open(tmp_path / "training.png").size == (1000, 340)
    rows = parsed.rows()
    assert ("dice_border", "n/a") in rows and ("blessed", "yes") in rows
    assert ("mean_dice", "0.5000") in rows
    # Slices in the order given (species first), each value with its number of examples.
    assert page.index("By species") < page.index("By breed")
    assert ("cat (12)", "0.4000") in rows and ("dog (24)", "0.7000") in rows
    assert ("Abyssinian", "0.5000") in rows
    # Without a baseline, no baseline column.
    assert "last blessed model" not in page


def test_the_report_sets_the_baseline_beside_the_candidate_with_the_checks(tmp_path):
    data = full_data()
    data.metrics["example_count"] = 250.0  # TFMA's ExampleCount is a double
    data.baseline_metrics = dict(data.metrics, mean_dice=0.45, example_count=250.0)
    data.baseline_slices = {"species": {"cat": {"mean_dice": 0.5}, "dog": {"mean_dice": 0.6}}}
    data.checks = [
        {"description": "mean_dice >= 0.5", "value": 0.5, "passed": True},
        {"description": "mean_dice - baseline's >= -0.01", "value": -0.02, "passed": False},
    ]
    data.confusion = [[3, 1, 0], [0, 4, 0], [0, 0, 0]]
    data.confusion_images = 2
    data.caveats = ["Trained on generated scenes."]
    data.links = {"model (id 7)": "/runs/Trainer/model/7/Format-Serving"}
    data.tensorboard_dir = "/runs/Trainer/model_run/7"
    page = open(report.write_report(data, str(tmp_path))).read()
    rows = _Tables(page).rows()

    assert ("metric", "this model", "last blessed model", "change") in rows
    assert ("mean_dice", "0.5000", "0.4500", "0.0500") in rows
    assert ("example_count", "250", "250", "0") in rows  # a count, not "250.0000"
    assert ("cat (12)", "0.4000", "0.5000") in rows and ("dog (24)", "0.7000", "0.6000") in rows
    assert ("Abyssinian", "0.5000", "n/a") in rows  # a slice the baseline did not have
    assert ("mean_dice >= 0.5", "0.5000", "passed") in rows
    assert ("mean_dice - baseline's >= -0.01", "-0.0200", "FAILED") in rows
    assert "the regression check did not apply" not in page
    # The confusion matrix: counts and the share of the true class's pixels.
    assert ("true \\ predicted", "pet", "background", "border") in rows
    assert ("pet", "3 (75.0%)", "1 (25.0%)", "0 (0.0%)") in rows
    assert ("border", "0 (n/a)", "0 (n/a)", "0 (n/a)") in rows  # a class never true
    assert "over the 2 eval examples" in " ".join(page.split())
    assert "Trained on generated scenes." in page and "Caveat." in page
    assert ("model (id 7)", "/runs/Trainer/model/7/Format-Serving") in rows
    assert "tensorboard --logdir /runs/Trainer/model_run/7" in page


def test_text_is_escaped(tmp_path):
    data = full_data()
    data.facts = {"model": "<script>alert(1)</script>"}
    page = open(report.write_report(data, str(tmp_path))).read()
    assert "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([0.71, 0.93], (0.65, 0.95)),  # the spread of the slices, in steps of 0.05
        ([0.02, 0.5], (0.0, 0.55)),  # never below 0
        ([0.97, 0.99], (0.9, 1.0)),  # never above 1
        ([0.8, 0.8], (0.75, 0.85)),
    ],
)
def test_the_slice_axis_spans_the_scores(scores, expected):
    assert report._score_range(scores) == pytest.approx(expected)


def test_grid_cells_use_the_class_colours(tmp_path):
    report.write_report(full_data(), str(tmp_path))
    grid = np.asarray(Image.open(tmp_path / "samples.png"))
    # The true mask of the first row sits in the second column, below header and title.
    top, left = 14 + 4 + 14, 4 + 192 + 4
    cell = grid[top : top + 144, left : left + 192]
    pet, background = visualize.class_colors(3, CLASSES)[:2]
    colours = {tuple(c) for c in cell.reshape(-1, 3)}
    assert tuple(pet) in colours and tuple(background) in colours


def test_a_report_without_slices_or_curves_leaves_them_out(tmp_path):
    data = full_data()
    data.slices, data.curves = {}, {}
    report.write_report(data, str(tmp_path))
    assert not (tmp_path / "slices.png").exists() and not (tmp_path / "training.png").exists()
    assert "slices.png" not in _Tables(open(tmp_path / "index.html").read()).images
