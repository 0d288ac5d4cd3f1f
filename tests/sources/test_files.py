"""Folder sources on any filesystem TensorFlow reads: the same folder in TensorFlow's
in-memory filesystem (ram://, this process only: no subprocess here) is found and read
exactly as on disk."""

import os

import pytest
import tensorflow as tf

from sources import files, image_folder, oxford_layout
from sources.image_files import BadFile, SourceError, read_image
from tests import trap_files


def as_uri(text: str, local_dir, uri: str) -> str:
    """A local path or message with the local folder's path replaced by its ram:// copy's."""
    return text.replace(str(local_dir), uri)


def described(discovery, local_dir=None, uri=None):
    """What a Discovery found, comparable between the disk and ram:// copies."""
    rename = (lambda text: as_uri(text, local_dir, uri)) if local_dir else (lambda text: text)
    return (
        [
            (p.name, rename(p.image_path), rename(p.mask_path), p.label, p.species)
            for p in discovery.pairs
        ],
        [rename(str(problem)) for problem in discovery.problems],
    )


def test_uris_are_told_from_local_paths_and_kept_as_they_are():
    for uri in ("gs://bucket/pets", "s3://bucket/pets", "ram://pets", "hdfs://host:8020/p"):
        assert files.is_uri(uri) and files.absolute(uri) == uri
    for path in ("pets", "/data/pets", "./a:b", "C:/pets"):
        assert not files.is_uri(path)
    assert files.absolute("pets") == os.path.abspath("pets")


@pytest.mark.parametrize("subset", ["trainval", "test", "all"])
def test_an_oxford_folder_in_ram_is_found_as_on_disk(tmp_path, subset):
    root = trap_files.generated_oxford_folder(str(tmp_path / "oxford"), 6, 3)
    uri = trap_files.copy_to_ram(root)
    on_disk = oxford_layout.find_pairs(root, subset)
    assert described(oxford_layout.find_pairs(uri, subset)) == described(on_disk, root, uri)
    assert oxford_layout.has_list(uri, "test")


def test_an_oxford_folder_with_traps_in_ram_is_found_as_on_disk(tmp_path):
    for with_lists in (True, False):
        root = trap_files.oxford_folder_with_traps(
            str(tmp_path / f"oxford{with_lists}"), with_lists
        )
        uri = trap_files.copy_to_ram(root)
        found = oxford_layout.find_pairs(uri)
        assert described(found) == described(oxford_layout.find_pairs(root), root, uri)
        assert [os.path.basename(p.path) for p in found.problems] == ["Persian_10.jpg"]


def test_a_plain_folder_in_ram_is_paired_as_on_disk(tmp_path):
    for name in ["a", "b", "only_image"]:
        trap_files.write_image("rgb_jpeg", str(tmp_path / "images" / f"{name}.jpg"))
    for name in ["a", "b", "only_mask"]:
        trap_files.write_trimap("ok", str(tmp_path / "masks" / f"{name}.png"))
    (tmp_path / "images" / "README.txt").write_text("not an image: ignored")
    (tmp_path / "images" / "sub.jpg").mkdir()  # a folder named like an image
    trap_files.write_image("png_named_jpg", str(tmp_path / "images" / "b.png"))  # b.jpg twin
    uri = trap_files.copy_to_ram(tmp_path)
    found = image_folder.find_pairs(f"{uri}/images", f"{uri}/masks")
    on_disk = image_folder.find_pairs(str(tmp_path / "images"), str(tmp_path / "masks"))
    assert described(found) == described(on_disk, tmp_path, uri)
    assert [pair.name for pair in found.pairs] == ["a", "b"] and len(found.problems) == 3


def test_files_read_from_ram_are_the_files_on_disk(tmp_path):
    trap_files.write_image("cmyk_jpeg", str(tmp_path / "cmyk.jpg"))
    (tmp_path / "list.txt").write_bytes(b"first line\r\nsecond\n")
    uri = trap_files.copy_to_ram(tmp_path)
    local = read_image(str(tmp_path / "cmyk.jpg"))
    remote = read_image(f"{uri}/cmyk.jpg")
    assert remote.encoded == local.encoded and (remote.rgb == local.rgb).all()
    assert files.read_text(f"{uri}/list.txt") == files.read_text(str(tmp_path / "list.txt"))
    assert files.isfile(f"{uri}/list.txt") and not files.isdir(f"{uri}/list.txt")
    assert files.isdir(uri) and not files.isfile(uri) and not files.exists(f"{uri}/nope")


def test_missing_folders_and_files_in_ram_fail_as_on_disk(tmp_path):
    uri = trap_files.copy_to_ram(tmp_path)
    for make_error in (
        lambda where: oxford_layout.find_pairs(f"{where}/missing"),
        lambda where: image_folder.find_pairs(f"{where}/images", f"{where}/masks"),
    ):
        with pytest.raises(SourceError) as on_disk:
            make_error(str(tmp_path))
        with pytest.raises(SourceError) as in_ram:
            make_error(uri)
        assert str(in_ram.value) == as_uri(str(on_disk.value), tmp_path, uri)
    with pytest.raises(BadFile) as on_disk:
        read_image(str(tmp_path / "gone.jpg"))
    with pytest.raises(BadFile) as in_ram:
        read_image(f"{uri}/gone.jpg")
    assert str(in_ram.value) == as_uri(str(on_disk.value), tmp_path, uri)
    assert in_ram.value.reason == "cannot read the file (No such file or directory)"


def test_a_scheme_tensorflow_does_not_have_is_one_line_naming_it():
    with pytest.raises(files.StorageError) as error:
        oxford_layout.find_pairs("s3://bucket/pets")
    message = str(error.value)
    assert message.startswith("Cannot read s3://bucket/pets: TensorFlow has no filesystem for ")
    assert "(it has file://, gs://, ram://)" in message and "tensorflow-io" in message
    assert "\n" not in message and isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    "directory, asked",
    [
        # Cloud storage lists folders as 'name/': the rest are files, with no request each.
        ("gs://bucket/listed", []),
        # Other filesystems are asked about each name.
        ("ram://listed", ["ram://listed/README", "ram://listed/b.png"]),
    ],
)
def test_folders_are_told_from_files_by_the_listing_where_it_marks_them(
    monkeypatch, directory, asked
):
    requests = []
    monkeypatch.setattr(tf.io.gfile, "listdir", lambda _: ["b.png", "a.jpg/", "README"])
    monkeypatch.setattr(tf.io.gfile, "isdir", lambda path: requests.append(path) or False)
    entries = files.list_dir(directory)
    assert [(e.name, e.path, e.is_file) for e in entries] == [
        ("README", f"{directory}/README", True),
        ("a.jpg", f"{directory}/a.jpg", False),
        ("b.png", f"{directory}/b.png", True),
    ]
    assert requests == asked
