import os

import pytest

from sources import image_folder, pairs
from sources.image_files import SourceError
from tests import trap_files


def test_pairs_match_by_stem_and_orphans_are_reported(tmp_path):
    for name in ["a", "b", "only_image"]:
        trap_files.write_image("rgb_jpeg", str(tmp_path / "images" / f"{name}.jpg"))
    for name in ["a", "b", "only_mask"]:
        trap_files.write_trimap("ok", str(tmp_path / "masks" / f"{name}.png"))
    (tmp_path / "images" / "README.txt").write_text("not an image: ignored")
    trap_files.write_image("png_named_jpg", str(tmp_path / "images" / "b.png"))  # b.jpg twin
    discovery = image_folder.find_pairs(str(tmp_path / "images"), str(tmp_path / "masks"))
    assert [p.name for p in discovery.pairs] == ["a", "b"]
    assert discovery.pairs[0].label == pairs.UNKNOWN
    reasons = sorted(f"{os.path.basename(p.path)}: {p.reason}" for p in discovery.problems)
    assert reasons[0] == "b.png: b.jpg has the same name stem; rename one of them"
    assert reasons[1].startswith("only_image.jpg: no mask named only_image.*")
    assert reasons[2].startswith("only_mask.png: no image named only_mask.*")


def test_no_pairs_and_missing_folders_say_how_pairs_are_matched(tmp_path):
    trap_files.write_image("rgb_jpeg", str(tmp_path / "images" / "a.jpg"))
    trap_files.write_trimap("ok", str(tmp_path / "masks" / "b.png"))
    with pytest.raises(SourceError, match="matched by name without extension"):
        image_folder.find_pairs(str(tmp_path / "images"), str(tmp_path / "masks"))
    with pytest.raises(SourceError, match="masks folder .* does not exist"):
        image_folder.find_pairs(str(tmp_path / "images"), str(tmp_path / "nope"))


def test_split_is_seeded_and_keeps_both_splits_non_empty():
    found = [pairs.Pair(f"p{i}", "", "") for i in range(10)]
    train, eval_ = pairs.split_pairs(found, 0.2, seed=0)
    assert len(train) == 8 and len(eval_) == 2
    assert pairs.split_pairs(list(reversed(found)), 0.2, seed=0) == (train, eval_)
    assert pairs.split_pairs(found, 0.2, seed=1) != (train, eval_)
    assert [len(s) for s in pairs.split_pairs(found[:2], 0.01, seed=0)] == [1, 1]
    with pytest.raises(SourceError, match="need two"):
        pairs.split_pairs(found[:1], 0.2, seed=0)


def test_a_dangling_link_is_reported_as_such(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    trap_files.write_image("rgb_jpeg", str(images / "cat_1.jpg"))
    trap_files.write_trimap("ok", str(masks / "cat_1.png"))
    trap_files.write_trimap("ok", str(masks / "broken_1.png"))
    os.symlink(str(tmp_path / "moved" / "broken_1.jpg"), images / "broken_1.jpg")

    discovery = image_folder.find_pairs(str(images), str(masks))

    assert [pair.name for pair in discovery.pairs] == ["cat_1"]
    reasons = {os.path.basename(problem.path): problem.reason for problem in discovery.problems}
    assert reasons["broken_1.jpg"] == (
        f"a link to {tmp_path / 'moved' / 'broken_1.jpg'}, which does not exist"
    )
