"""One discover() and one set of layout names for ingestion, preflight and evaluate."""

import pytest

from sources import layouts


def test_each_layout_finds_its_pairs(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    (tmp_path / "masks" / "a.png").write_bytes(b"x")
    discovery, description = layouts.discover(
        "folder", image_dir=str(tmp_path / "images"), mask_dir=str(tmp_path / "masks")
    )
    assert [pair.name for pair in discovery.pairs] == ["a"]
    assert description == f"folder {tmp_path / 'images'} + {tmp_path / 'masks'}"


def test_an_unknown_layout_names_the_known_ones():
    with pytest.raises(
        ValueError, match=r"Unknown layout 'image_folder'; use one of \('oxford', 'folder'\)"
    ):
        layouts.discover("image_folder")
