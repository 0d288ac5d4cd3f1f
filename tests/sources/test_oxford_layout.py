import os

import pytest

from sources import oxford_layout
from sources.image_files import SourceError
from tests import trap_files


def test_lists_give_labels_and_species_and_keep_test_images_out(tmp_path):
    root = trap_files.generated_oxford_folder(str(tmp_path), num_trainval=6, num_test=3)
    trainval = oxford_layout.find_pairs(root, "trainval")
    test = oxford_layout.find_pairs(root, "test")
    every = oxford_layout.find_pairs(root, "all")
    assert len(trainval.pairs) == 6 and len(test.pairs) == 3 and len(every.pairs) == 9
    assert not {p.name for p in trainval.pairs} & {p.name for p in test.pairs}
    lines = open(os.path.join(root, "annotations", "trainval.txt")).read().split("\n")
    name, class_id, species, _ = lines[0].split()
    pair = next(p for p in trainval.pairs if p.name == name)
    assert (pair.label, pair.species) == (int(class_id) - 1, int(species) - 1)
    assert pair.mask_path == os.path.join(root, "annotations", "trimaps", f"{name}.png")


def test_without_lists_breed_and_species_come_from_the_file_name(tmp_path):
    root = trap_files.oxford_folder_with_traps(str(tmp_path), with_lists=False)
    discovery = oxford_layout.find_pairs(root)
    by_name = {p.name: p for p in discovery.pairs}
    # Capitalised breeds are cats (species 0), lowercase ones dogs (1); ids in TFDS order.
    assert (by_name["Abyssinian_1"].label, by_name["Abyssinian_1"].species) == (0, 0)
    assert (by_name["chihuahua_12"].label, by_name["chihuahua_12"].species) == (10, 1)
    # The .mat file and the macOS '._' file are not images or trimaps; Persian_10 has none.
    assert "Abyssinian_101" not in by_name
    assert [os.path.basename(p.path) for p in discovery.problems] == ["Persian_10.jpg"]
    assert "no trimap annotations/trimaps/Persian_10.png" in discovery.problems[0].reason


def test_a_listed_image_that_is_missing_is_reported(tmp_path):
    root = trap_files.generated_oxford_folder(str(tmp_path), num_trainval=3, num_test=0)
    with open(os.path.join(root, "annotations", "trainval.txt"), "a") as lines:
        lines.write("pug_999 26 2 10\n")
    discovery = oxford_layout.find_pairs(root)
    assert len(discovery.pairs) == 3
    assert str(discovery.problems[0]) == "pug_999: listed in annotations/trainval.txt but no image"


def test_config_errors_name_the_fix(tmp_path):
    with pytest.raises(SourceError, match="does not exist. Point it at the folder"):
        oxford_layout.find_pairs(str(tmp_path / "nowhere"))
    (tmp_path / "images").mkdir()
    with pytest.raises(SourceError, match=r"trimaps folder .* does not exist"):
        oxford_layout.find_pairs(str(tmp_path))
    (tmp_path / "annotations" / "trimaps").mkdir(parents=True)
    with pytest.raises(SourceError, match="No image in .* has a trimap"):
        oxford_layout.find_pairs(str(tmp_path))
    with pytest.raises(SourceError, match="test.txt is missing"):
        oxford_layout.find_pairs(str(tmp_path), "test")
    (tmp_path / "annotations" / "trainval.txt").write_text("Abyssinian_1 one 1 1\n")
    with pytest.raises(SourceError, match=r"trainval.txt:1: expected 'NAME CLASS_ID"):
        oxford_layout.find_pairs(str(tmp_path))


def test_breeds_match_the_tfds_label_order():
    assert len(oxford_layout.BREEDS) == 37
    assert oxford_layout.BREEDS[0] == "Abyssinian" and oxford_layout.BREEDS[-1] == (
        "yorkshire_terrier"
    )
    assert sum(b[0].isupper() for b in oxford_layout.BREEDS) == 12  # 12 cat breeds
