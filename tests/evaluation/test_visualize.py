"""Tests for evaluation/visualize.py: one colour per class, overlays, comparison grids."""

import numpy as np
import pytest

from evaluation import visualize

TRIMAP_CLASSES = ("pet", "background", "border")


def test_a_class_keeps_its_colour_under_every_convention():
    trimap = visualize.class_colors(3, TRIMAP_CLASSES)
    binary = visualize.class_colors(2, ("background", "pet"))
    np.testing.assert_array_equal(trimap[0], binary[1])  # pet
    np.testing.assert_array_equal(trimap[1], binary[0])  # background
    assert len({tuple(c) for c in visualize.class_colors(12, [f"c{i}" for i in range(12)])}) == 12


def test_colorize():
    colors = visualize.colorize([[0, 1], [2, 2]], 3, TRIMAP_CLASSES)
    assert colors.shape == (2, 2, 3) and colors.dtype == np.uint8
    assert tuple(colors[0, 1]) == visualize.NAMED_COLORS["background"]
    assert tuple(colors[1, 0]) == visualize.NAMED_COLORS["border"]
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        visualize.colorize([[3]], 3)


def test_overlay_blends_photo_and_class_colour():
    image = np.full((1, 2, 3), 100, np.uint8)
    blended = visualize.overlay(image, [[0, 1]], 3, alpha=0.5, class_names=TRIMAP_CLASSES)
    # pet (255, 140, 0) and background (40, 40, 48), half each with gray 100.
    np.testing.assert_array_equal(blended, [[[178, 120, 50], [70, 70, 74]]])
    np.testing.assert_array_equal(visualize.overlay(image, [[0, 1]], 3, alpha=0.0), image)


def test_comparison_grid_rows_of_different_sizes():
    rows = [
        ("small", np.zeros((2, 3, 3), np.uint8), [[0, 1, 1], [1, 1, 2]], [[0, 0, 1], [1, 1, 1]]),
        ("tall", np.zeros((40, 10, 3), np.uint8), np.ones((40, 10), int), np.ones((40, 10), int)),
    ]
    grid = visualize.comparison_grid(rows, 3, TRIMAP_CLASSES, cell_size=32)
    assert grid.mode == "RGB"
    assert grid.width == 4 * (32 + 4) + 4  # four columns
    assert grid.height > 2 * 32
    # The true mask of the first row (second column) shows pet's colour somewhere.
    pixels = np.asarray(grid)
    assert (pixels == visualize.NAMED_COLORS["pet"]).all(axis=-1).any()
