"""Segmentation quality over a whole set of images, from pixel counts: numpy only.

The one definition of the math, used by the TFMA metric (evaluation/tfma_metrics.py) and the
evaluate command: per class, intersections and sizes are summed over every pixel of every
image first, and the scores divide those sums. They are not means of per-image scores, so a large image weighs
more than a small one, as it does in the TFMA Evaluator's Dice. A class absent from both
labels and predictions scores NaN and is left out of the means.

- Dice_c = 2 I_c / (|T_c| + |P_c|), IoU_c = I_c / (|T_c| + |P_c| - I_c)
- pixel accuracy = sum_c I_c / number of pixels
- foreground Dice: every class but the background merged into one foreground class, Dice
  of that class (for pets: pet + border against background). It is counted on the merged
  masks, because a pet pixel predicted as border is right for the foreground and wrong for
  both classes.
"""

import heapq

import numpy as np


def confusion_counts(true_ids, predicted_ids, num_classes: int):
    """Returns int64 (intersection[C], true_size[C], predicted_size[C]).

    `true_ids` and `predicted_ids` are class-id arrays with the same number of
    elements (any shape; e.g. [H, W] against [H, W, 1], or a whole batch).
    Counts are sums over all their pixels.
    """
    true_ids = np.asarray(true_ids).astype(np.int64).ravel()
    predicted_ids = np.asarray(predicted_ids).astype(np.int64).ravel()
    if true_ids.size != predicted_ids.size:
        raise ValueError(f"labels have {true_ids.size} pixels but predictions {predicted_ids.size}")
    for name, ids in (("label", true_ids), ("prediction", predicted_ids)):
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f"{name} class ids must be in [0, {num_classes})")
    # bincount is a per-class histogram; pixels where both agree are the
    # intersection of that class.
    count = lambda ids: np.bincount(ids, minlength=num_classes).astype(np.int64)
    intersection = count(true_ids[true_ids == predicted_ids])
    return intersection, count(true_ids), count(predicted_ids)


def confusion_matrix(true_ids, predicted_ids, num_classes: int) -> np.ndarray:
    """int64 [C, C]: pixels of true class i (row) predicted as class j (column).

    Its diagonal, row sums and column sums are confusion_counts' intersection, true size
    and predicted size.
    """
    intersection, true_size, _ = confusion_counts(true_ids, predicted_ids, num_classes)
    del intersection, true_size  # confusion_counts checked shapes and ranges
    true_ids = np.asarray(true_ids).astype(np.int64).ravel()
    predicted_ids = np.asarray(predicted_ids).astype(np.int64).ravel()
    pairs = true_ids * num_classes + predicted_ids
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def dice_from_counts(intersection, true_size, predicted_size) -> np.ndarray:
    """Per-class Dice = 2*I / (|T| + |P|); NaN where a class is in neither."""
    intersection = np.asarray(intersection, dtype=np.float64)
    denominator = np.asarray(true_size, np.float64) + np.asarray(predicted_size)
    with np.errstate(divide="ignore", invalid="ignore"):
        # 0/0 -> NaN: the score is undefined, not perfect (1) nor wrong (0).
        return np.where(denominator > 0, 2.0 * intersection / denominator, np.nan)


def mean_dice(dice_per_class) -> float:
    """Mean over classes that are defined (NaN classes excluded); NaN if none."""
    dice_per_class = np.asarray(dice_per_class, dtype=np.float64)
    defined = dice_per_class[~np.isnan(dice_per_class)]
    return float(defined.mean()) if defined.size else float("nan")


def iou_from_counts(intersection, true_size, predicted_size) -> np.ndarray:
    """Per-class IoU = I / (|T| + |P| - I); NaN where a class is in neither."""
    intersection = np.asarray(intersection, np.float64)
    union = np.asarray(true_size, np.float64) + np.asarray(predicted_size) - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, intersection / union, np.nan)


def pixel_accuracy(intersection, true_size) -> float:
    """Share of pixels whose predicted class is the true one."""
    total = np.sum(true_size)
    return float(np.sum(intersection) / total) if total else float("nan")


def foreground_ids(class_ids, background_id: int) -> np.ndarray:
    """Class ids -> 0 for background, 1 for any other class."""
    return (np.asarray(class_ids) != background_id).astype(np.int64)


def metric_names(class_names, background: str | None) -> list[str]:
    """The names the Evaluator reports, in order; foreground Dice needs a background."""
    names = [f"dice_{c}" for c in class_names] + ["mean_dice"]
    names += [f"iou_{c}" for c in class_names] + ["mean_iou", "pixel_accuracy"]
    return names + (["foreground_dice"] if background is not None else [])


def scores(class_names, counts, foreground_counts=None) -> dict[str, float]:
    """{metric name: value} from summed counts; NaN where a score is undefined.

    counts: [3, C] intersection, true size, predicted size per class.
    foreground_counts: the same [3, 2] for (background, foreground), or None.
    """
    dice = dice_from_counts(*counts)
    iou = iou_from_counts(*counts)
    values = [*dice, mean_dice(dice), *iou, mean_dice(iou), pixel_accuracy(*counts[:2])]
    if foreground_counts is not None:
        values.append(dice_from_counts(*foreground_counts)[1])
    background = "background" if foreground_counts is not None else None
    return dict(zip(metric_names(class_names, background), map(float, values)))


class SetMetrics:
    """Sums pixel counts image by image; `result()` scores the whole set from the sums.

        accumulator = SetMetrics(["pet", "background", "border"], background="background")
        for name, true_ids, predicted_ids in ...:
            accumulator.add(name, true_ids, predicted_ids)
        accumulator.result()  # {"dice": {...}, "mean_dice": ..., "iou": {...}, ...}

    Each image's own mean Dice is kept as well (`per_image`), to find the worst images; it
    plays no part in the set's scores.
    """

    def __init__(self, class_names, background: str | None = None):
        self.class_names = tuple(class_names)
        self.background_id = None if background is None else self.class_names.index(background)
        self.counts = np.zeros((3, len(self.class_names)), np.int64)  # I, |T|, |P| per class
        self.foreground_counts = np.zeros((3, 2), np.int64)  # the same for background, fg
        # Pixels of true class i (row) predicted as class j (column), over the set.
        self.confusion = np.zeros((len(self.class_names),) * 2, np.int64)
        self.per_image = {}  # name -> that image's mean Dice

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def add(self, name: str, true_ids, predicted_ids) -> float:
        """Counts one image's pixels; returns the image's own mean Dice."""
        confusion = confusion_matrix(true_ids, predicted_ids, self.num_classes)
        self.confusion += confusion
        counts = np.stack([np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)])
        self.counts += counts
        if self.background_id is not None:
            self.foreground_counts += np.stack(
                confusion_counts(
                    foreground_ids(true_ids, self.background_id),
                    foreground_ids(predicted_ids, self.background_id),
                    num_classes=2,
                )
            )
        self.per_image[name] = mean_dice(dice_from_counts(*counts))
        return self.per_image[name]

    def result(self) -> dict:
        """The set's scores; NaN (undefined) is None, so the dict is valid JSON as it is."""
        dice = dice_from_counts(*self.counts)
        iou = iou_from_counts(*self.counts)
        foreground_dice = None
        if self.background_id is not None:
            foreground_dice = dice_from_counts(*self.foreground_counts)[1]
        intersection, true_size, predicted_size = self.counts.tolist()
        return {
            "dice": dict(zip(self.class_names, map(_number, dice))),
            "mean_dice": _number(mean_dice(dice)),
            "foreground_dice": _number(foreground_dice),
            "iou": dict(zip(self.class_names, map(_number, iou))),
            "mean_iou": _number(mean_dice(iou)),  # the same NaN-excluded mean, of IoU
            "pixel_accuracy": _number(pixel_accuracy(*self.counts[:2])),
            "images": len(self.per_image),
            "pixels": int(self.counts[1].sum()),
            "counts": {
                "intersection": dict(zip(self.class_names, intersection)),
                "true": dict(zip(self.class_names, true_size)),
                "predicted": dict(zip(self.class_names, predicted_size)),
            },
            # Rows: the true class, columns: the predicted class, in class_names' order.
            "confusion_matrix": self.confusion.tolist(),
        }


def _number(value):
    """A float for JSON, None for NaN (JSON has no NaN)."""
    return None if value is None or np.isnan(value) else float(value)


class WorstKept:
    """The `n` lowest-scoring rows seen so far, in memory for `n` rows only (a heap whose
    top is the best of the kept ones): the worst images of `evaluate --worst` and of the
    visual report, whatever the number of images."""

    def __init__(self, n: int):
        self.n = n
        self._heap = []  # (-score, name, row): names are unique, rows never compared

    def add(self, score: float, name: str, row) -> None:
        if self.n <= 0:
            return
        heapq.heappush(self._heap, (-score, name, row))
        if len(self._heap) > self.n:
            heapq.heappop(self._heap)  # drops the best-scoring one

    def rows(self) -> list[tuple[float, str, object]]:
        """(score, name, row) of the kept rows, lowest score first."""
        return [(-negative, name, row) for negative, name, row in sorted(self._heap, reverse=True)]
