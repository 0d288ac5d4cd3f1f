"""Colours, overlays and comparison grids for segmentation masks: pure numpy and PIL.

One palette serves every picture the project draws (predict's overlays, evaluate's
worst-images grid, reports), so a class looks the same everywhere. Classes are coloured by
name when they have a well-known one (the background stays dark so the objects stand out)
and by class id otherwise; pass `class_names` to keep a class's colour under every mask
convention (class ids differ between them: pet is 0 in `trimap` but 1 in the binary modes).
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

NAMED_COLORS = {
    "background": (40, 40, 48),  # dark neutral: the scene recedes, the objects stand out
    "pet": (255, 140, 0),  # orange
    "border": (0, 200, 255),  # cyan: readable against both the orange and the dark
}
# For classes without a named colour, by class id (none repeats a named colour).
PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (145, 30, 180),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (170, 110, 40),
    (128, 0, 0),
    (170, 255, 195),
)
_GRID_BACKGROUND = (255, 255, 255)
_TEXT_COLOR = (0, 0, 0)


def class_colors(num_classes: int, class_names=None) -> np.ndarray:
    """The colour of each class id, uint8 [num_classes, 3]."""
    names = list(class_names) if class_names is not None else [None] * num_classes
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes.")
    colors = [NAMED_COLORS.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]
    return np.array(colors, np.uint8)


def colorize(class_ids, num_classes: int, class_names=None) -> np.ndarray:
    """Class ids [H, W] -> uint8 RGB [H, W, 3], one colour per class."""
    class_ids = np.asarray(class_ids)
    if class_ids.size and (class_ids.min() < 0 or class_ids.max() >= num_classes):
        raise ValueError(f"class ids must be in [0, {num_classes})")
    return class_colors(num_classes, class_names)[class_ids]


def overlay(image_rgb, class_ids, num_classes: int, alpha: float = 0.5, class_names=None):
    """The photo blended with its class colours: `alpha` of colour, the rest of photo."""
    image_rgb = np.asarray(image_rgb, np.float32)
    if image_rgb.shape[:2] != np.shape(class_ids):
        raise ValueError(f"image {image_rgb.shape[:2]} and mask {np.shape(class_ids)} differ")
    colors = colorize(class_ids, num_classes, class_names).astype(np.float32)
    return np.round((1.0 - alpha) * image_rgb + alpha * colors).astype(np.uint8)


def comparison_grid(
    rows, num_classes: int, class_names=None, cell_size: int = 192, alpha: float = 0.5
) -> Image.Image:
    """A grid with one row per image: image | true mask | predicted mask | overlay.

    rows: (title, image_rgb [H, W, 3], true_ids [H, W], predicted_ids [H, W]) tuples; the
    title (e.g. the file name and its score) is written above the row. Each picture is
    scaled to fit a `cell_size` square (masks with nearest neighbour, so no new colours).
    A legend of the class colours ends the grid.
    """
    font = ImageFont.load_default()
    line = 14  # text line height, in pixels
    pad = 4
    columns = ("image", "true mask", "predicted mask", "overlay (predicted)")
    width = len(columns) * (cell_size + pad) + pad
    height = line + pad + len(rows) * (line + cell_size + pad) + line + 2 * pad
    grid = Image.new("RGB", (width, height), _GRID_BACKGROUND)
    draw = ImageDraw.Draw(grid)
    for j, column in enumerate(columns):
        draw.text((pad + j * (cell_size + pad), pad // 2), column, fill=_TEXT_COLOR, font=font)

    y = line + pad
    for title, image_rgb, true_ids, predicted_ids in rows:
        draw.text((pad, y), str(title), fill=_TEXT_COLOR, font=font)
        y += line
        pictures = (
            (np.asarray(image_rgb, np.uint8), Image.BILINEAR),
            (colorize(true_ids, num_classes, class_names), Image.NEAREST),
            (colorize(predicted_ids, num_classes, class_names), Image.NEAREST),
            (overlay(image_rgb, predicted_ids, num_classes, alpha, class_names), Image.BILINEAR),
        )
        for j, (picture, resample) in enumerate(pictures):
            cell = _fit(Image.fromarray(picture), cell_size, resample)
            grid.paste(cell, (pad + j * (cell_size + pad), y))
        y += cell_size + pad

    names = class_names if class_names is not None else [str(i) for i in range(num_classes)]
    x = pad
    for name, color in zip(names, class_colors(num_classes, class_names)):
        draw.rectangle([x, y + 2, x + 10, y + 12], fill=tuple(int(c) for c in color))
        draw.text((x + 14, y), str(name), fill=_TEXT_COLOR, font=font)
        x += 14 + int(draw.textlength(str(name), font=font)) + 3 * pad
    return grid


def _fit(picture: Image.Image, size: int, resample) -> Image.Image:
    """Scaled to fit a size x size square, keeping its aspect ratio."""
    scale = size / max(picture.width, picture.height)
    new_size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(new_size, resample)
