"""Image/mask pairs found in a folder, and the seeded train/eval split of them."""

import dataclasses
import math
import os
import random

from sources import files
from sources.image_files import BadFile, SourceError

# What counts as an image file when listing a folder; anything else is ignored (the Oxford
# archive has a few .mat files among its images). Decoding is by content, not by these.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")
UNKNOWN = -1  # label or species that the source does not know


@dataclasses.dataclass(frozen=True)
class Pair:
    name: str  # file stem, unique within the source
    image_path: str
    mask_path: str
    label: int = UNKNOWN  # breed id for Oxford pets
    species: int = UNKNOWN  # 0 = cat, 1 = dog for Oxford pets


@dataclasses.dataclass
class Discovery:
    """What a folder holds: usable-looking pairs, and files that cannot form a pair."""

    pairs: list[Pair]
    problems: list[BadFile]


def list_files(directory: str, what: str, extensions=None, problems=None) -> dict[str, str]:
    """{stem: path} of the files in `directory`; hidden files (e.g. macOS '._*') skipped.

    Two files with one stem (a.jpg and a.png) cannot both pair by name: the first in
    sorted order is kept, and the other is added to `problems` when it is given.
    """
    if not files.isdir(directory):
        raise SourceError(
            f"The {what} folder {directory} does not exist. Check the path in the data source "
            "config (or the flag you passed)."
        )
    found = {}
    for entry in files.list_dir(directory):
        stem, extension = os.path.splitext(entry.name)
        if entry.name.startswith("."):
            continue
        if entry.dangling_link is not None:
            if problems is not None and (extensions is None or extension.lower() in extensions):
                problems.append(
                    BadFile(entry.path, f"a link to {entry.dangling_link}, which does not exist")
                )
            continue
        if not entry.is_file:
            continue
        if extensions is not None and extension.lower() not in extensions:
            continue
        if stem in found:
            if problems is not None:
                problems.append(
                    BadFile(
                        entry.path,
                        f"{os.path.basename(found[stem])} has the same name stem; "
                        "rename one of them",
                    )
                )
            continue
        found[stem] = entry.path
    return found


def split_pairs(pairs: list[Pair], eval_fraction: float, seed: int):
    """A seeded shuffle, then the first `eval_fraction` of it for eval (at least one each)."""
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be between 0 and 1, not {eval_fraction}.")
    if len(pairs) < 2:
        raise SourceError(f"Only {len(pairs)} usable pair(s): a train and an eval split need two.")
    shuffled = sorted(pairs, key=lambda pair: pair.name)
    random.Random(seed).shuffle(shuffled)
    num_eval = min(len(pairs) - 1, max(1, math.ceil(len(pairs) * eval_fraction)))
    return shuffled[num_eval:], shuffled[:num_eval]
