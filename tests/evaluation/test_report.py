import math
import os

import numpy as np
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


def test_report_writes_every_picture_and_links_it(tmp_path):
    index = report.write_report(full_data(), str(tmp_path))
    assert index == os.path.join(tmp_path, "index.html")
    page = open(index).read()
    for name in ("samples.png", "worst.png", "metrics.png", "slices.png", "training.png"):
        assert f"src='{name}'" in page
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
    assert "<td>n/a (class absent)</td>" in page and "<th>blessed</th><td>yes</td>" in page
    # Slices in the order given (species first), each value with its number of examples.
    assert page.index("Mean Dice by species") < page.index("Mean Dice by breed")
    assert "<th>cat (12)</th><td>0.4000</td>" in page and "<th>dog (24)</th>" in page
    assert "<th>Abyssinian</th><td>0.5000</td>" in page


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
    assert "slices.png" not in open(tmp_path / "index.html").read()
