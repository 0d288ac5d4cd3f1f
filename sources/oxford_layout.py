"""The Oxford-IIIT Pet layout: the dataset's two archives downloaded and unpacked.

    ROOT/images/NAME.jpg                  photos (a few are PNG, GIF or CMYK inside)
    ROOT/annotations/trimaps/NAME.png     trimaps: 1 = pet, 2 = background, 3 = border
    ROOT/annotations/trainval.txt         optional: the official split, one line per image,
    ROOT/annotations/test.txt             "NAME CLASS_ID SPECIES BREED_ID" (1-based ids)

With the lists, labels and species come from them and the official test images are kept
out of training. Without them, every image is used and the breed comes from the file name
(`Egyptian_Mau_12`), whose capitalisation tells the species: Oxford names cat breeds with a
capital letter and dog breeds in lowercase.
"""

import io
import os

from sources import files
from sources.image_files import BadFile, SourceError
from sources.pairs import IMAGE_EXTENSIONS, UNKNOWN, Discovery, Pair, list_files

SUBSETS = ("trainval", "test", "all")

# Species ids, as in the `oxford_iiit_pet` builder: 0 = cat, 1 = dog.
SPECIES = ("cat", "dog")


def species_of(breed: str) -> int:
    """The dataset's convention: capitalised breed names are cats, lowercase ones dogs."""
    return SPECIES.index("cat") if breed[0].isupper() else SPECIES.index("dog")


# Copied from the `oxford_iiit_pet` builder, same order: label ids must mean the
# same breed in both datasets (species_of tells cats from dogs by their names).
BREEDS = (
    "Abyssinian",
    "american_bulldog",
    "american_pit_bull_terrier",
    "basset_hound",
    "beagle",
    "Bengal",
    "Birman",
    "Bombay",
    "boxer",
    "British_Shorthair",
    "chihuahua",
    "Egyptian_Mau",
    "english_cocker_spaniel",
    "english_setter",
    "german_shorthaired",
    "great_pyrenees",
    "havanese",
    "japanese_chin",
    "keeshond",
    "leonberger",
    "Maine_Coon",
    "miniature_pinscher",
    "newfoundland",
    "Persian",
    "pomeranian",
    "pug",
    "Ragdoll",
    "Russian_Blue",
    "saint_bernard",
    "samoyed",
    "scottish_terrier",
    "shiba_inu",
    "Siamese",
    "Sphynx",
    "staffordshire_bull_terrier",
    "wheaten_terrier",
    "yorkshire_terrier",
)


def find_pairs(root: str, subset: str = "trainval") -> Discovery:
    """Pairs of the Oxford layout under `root`.

    subset: "trainval" (the official trainval list if present, else every image), "test"
    (needs annotations/test.txt), or "all" (every image, lists used only for labels).
    """
    if subset not in SUBSETS:
        raise ValueError(f"Unknown subset {subset!r}; use one of {SUBSETS}.")
    if not files.isdir(root):
        raise SourceError(
            f"The Oxford-IIIT Pet folder {root} does not exist. Point it at the folder that "
            "holds images/ and annotations/trimaps/ (the two archives, unpacked)."
        )
    problems = []
    images = list_files(os.path.join(root, "images"), "images", IMAGE_EXTENSIONS, problems)
    trimaps = list_files(os.path.join(root, "annotations", "trimaps"), "trimaps", None, problems)
    lists = {name: _read_list(root, name) for name in ("trainval", "test")}
    listed = {**lists["test"], **lists["trainval"]}  # name -> (label, species)

    if subset == "all" or (subset == "trainval" and not lists["trainval"]):
        names = sorted(images)
    elif lists[subset]:
        names = sorted(lists[subset])
    else:
        raise SourceError(
            f"{os.path.join(root, 'annotations', subset + '.txt')} is missing or empty; it "
            "lists the official test images. Use subset 'all' to take every image."
        )
    if subset == "trainval" and not lists["trainval"]:
        # No official split: keep the listed test images apart all the same.
        names = [name for name in names if name not in lists["test"]]

    pairs = []
    for name in names:
        if name not in images:
            problems.append(BadFile(name, f"listed in annotations/{subset}.txt but no image"))
            continue
        if name not in trimaps:
            problems.append(
                BadFile(images[name], f"no trimap annotations/trimaps/{name}.png for this image")
            )
            continue
        label, species = listed.get(name) or _label_from_name(name)
        pairs.append(Pair(name, images[name], trimaps[name], label, species))
    if not pairs:
        raise SourceError(
            f"No image in {os.path.join(root, 'images')} has a trimap in "
            f"{os.path.join(root, 'annotations', 'trimaps')} (subset {subset!r}). Check that "
            "both archives are unpacked into the same folder."
        )
    return Discovery(pairs, problems)


def has_list(root: str, split: str) -> bool:
    """Whether annotations/<split>.txt ("trainval" or "test") exists and lists an image."""
    return bool(_read_list(root, split))


def _read_list(root: str, split: str) -> dict[str, tuple[int, int]]:
    """annotations/<split>.txt -> {name: (label, species)}, 0-based as in TFDS."""
    path = os.path.join(root, "annotations", f"{split}.txt")
    if not files.isfile(path):
        return {}
    entries = {}
    with io.StringIO(files.read_text(path)) as list_file:
        for line_number, line in enumerate(list_file, 1):
            fields = line.split()
            if not fields or line.startswith("#"):
                continue
            try:
                class_id, species = int(fields[1]), int(fields[2])
            except (IndexError, ValueError):
                raise SourceError(
                    f"{path}:{line_number}: expected 'NAME CLASS_ID SPECIES BREED_ID', got "
                    f"{line.strip()!r}."
                ) from None
            entries[fields[0]] = (class_id - 1, species - 1)
    return entries


def _label_from_name(name: str) -> tuple[int, int]:
    """(label, species) from an Oxford file name such as 'Egyptian_Mau_12'."""
    breed = name.rsplit("_", 1)[0]
    if breed not in BREEDS:
        return UNKNOWN, UNKNOWN
    return BREEDS.index(breed), species_of(breed)
