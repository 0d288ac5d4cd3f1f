"""A generic folder: images and masks in two directories, matched by file stem.

    IMAGES/cat_001.jpg    MASKS/cat_001.png
    IMAGES/dog_17.png     MASKS/dog_17.png

The masks' value convention (class values, or a colour palette) is declared in the data
source config; see models/mask_convention.py MaskFormat.
"""

from sources.image_files import BadFile, SourceError
from sources.pairs import IMAGE_EXTENSIONS, Discovery, Pair, list_files


def find_pairs(image_dir: str, mask_dir: str) -> Discovery:
    problems = []
    images = list_files(image_dir, "images", IMAGE_EXTENSIONS, problems)
    masks = list_files(mask_dir, "masks", None, problems)
    pairs = [Pair(stem, path, masks[stem]) for stem, path in images.items() if stem in masks]
    problems += [
        BadFile(path, f"no mask named {stem}.* in {mask_dir}")
        for stem, path in images.items()
        if stem not in masks
    ] + [
        BadFile(path, f"no image named {stem}.* in {image_dir}")
        for stem, path in masks.items()
        if stem not in images
    ]
    if not pairs:
        raise SourceError(
            f"No image in {image_dir} has a mask with the same file stem in {mask_dir} "
            f"({len(images)} images, {len(masks)} masks). Images and masks are matched by "
            "name without extension: images/cat_1.jpg goes with masks/cat_1.png."
        )
    return Discovery(sorted(pairs, key=lambda pair: pair.name), problems)
