"""Tests for inference/predict.py and inference/model.py, on a fake pushed model (conftest)."""

import os

import numpy as np
import pytest
from PIL import Image

from inference import model as model_lib
from inference import predict
from models import mask_convention


def read_png(path):
    image = Image.open(path)
    return image.mode, np.asarray(image)


def test_predict_folder_writes_masks_in_trimap_values_and_overlays(
    models_root, folder_data, tmp_path, capsys
):
    images, _ = folder_data
    output = tmp_path / "out"
    code = predict.main(
        [images, "--model", str(models_root / "pet-segmentation"), "--output-dir", str(output)]
    )

    assert code == 0
    assert sorted(os.listdir(output / "masks")) == ["a.png", "b.png", "d.png"]
    assert sorted(os.listdir(output / "overlays")) == ["a.png", "b.png", "d.png"]
    # Red pixels are predicted pet (trimap value 1), the others background (2).
    mode, mask = read_png(output / "masks" / "a.png")
    assert mode == "L"
    np.testing.assert_array_equal(mask, [[1, 1], [2, 2]])
    np.testing.assert_array_equal(read_png(output / "masks" / "b.png")[1], [[1] * 4, [2] * 4])
    mode, overlay = read_png(output / "overlays" / "b.png")
    assert (mode, overlay.shape) == ("RGB", (2, 4, 3))
    out = capsys.readouterr().out
    assert "Skipped 1 file(s):" in out and "c.png: not a readable image" in out
    assert os.path.join(str(models_root), "pet-segmentation", "12") in out


def test_predict_single_file(models_root, folder_data, tmp_path):
    images, _ = folder_data
    output = tmp_path / "out"
    model_dir = str(models_root / "pet-segmentation" / "7")
    code = predict.main(
        [os.path.join(images, "b.png"), "--model", model_dir, "--output-dir", str(output)]
    )

    assert code == 0
    assert os.listdir(output / "masks") == ["b.png"]
    assert read_png(output / "overlays" / "b.png")[1].shape == (2, 4, 3)


def test_limit_predicts_the_first_images_in_listing_order(
    models_root, folder_data, tmp_path, capsys
):
    images, _ = folder_data
    single = os.path.join(images, "d.png")
    output = tmp_path / "out"
    model = str(models_root / "pet-segmentation")
    # The inputs as given, each folder's images by name: d.png, then a, b, c, d.
    assert (
        predict.main(
            [single, images, "--limit", "2", "--model", model, "--output-dir", str(output)]
        )
        == 0
    )
    assert sorted(os.listdir(output / "masks")) == ["a.png", "d.png"]
    assert "(the first 2 of 4 images: --limit)" in capsys.readouterr().out


def test_version_dir_or_newest_version_below(models_root):
    parent = str(models_root / "pet-segmentation")
    newest = model_lib.load_model(parent)
    assert newest.path == os.path.join(parent, "12")  # numeric order: 12 > 7
    assert "the newest in" in newest.describe()

    pinned = model_lib.load_model(os.path.join(parent, "7"))
    assert (pinned.version, pinned.newest_in) == ("7", None)
    assert pinned.convention == mask_convention.trimap_convention("trimap")


def test_missing_model_names_the_path_and_the_fix(tmp_path, folder_data, capsys):
    images, _ = folder_data
    missing = str(tmp_path / "nothing-here")
    assert predict.main([images, "--model", missing]) == 1
    error = capsys.readouterr().err
    assert missing in error and "python local_runner.py" in error


def test_a_model_without_its_metadata_is_refused_not_guessed(models_root):
    # Its classes and their order are unknown: guessing trimaps would mislabel masks.
    with pytest.raises(model_lib.ModelError, match="segmentation.json is missing, so the classes"):
        model_lib.load_model(str(models_root / "no-metadata"))


def test_a_folder_without_images_is_an_error_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = predict.main([str(tmp_path / "empty"), "--model", str(tmp_path / "no-model")])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: No image to predict in {tmp_path / 'empty'}")
    assert "no-model" not in error  # refused before the model was looked for
    assert len(error.splitlines()) == 1


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_an_output_that_takes_no_files_is_refused_before_the_model_loads(
    tmp_path, folder_data, capsys, monkeypatch, where
):
    images, _ = folder_data
    (tmp_path / "a_file").write_text("")
    output = str(tmp_path / "a_file" / "out") if where == "under_a_file" else "/proc/x"
    loaded = []
    monkeypatch.setattr(model_lib, "load_model", lambda path: loaded.append(path))
    assert predict.main([images, "--output-dir", output]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: The output directory {output} is not usable")
    assert error.endswith("pass another --output-dir.") and len(error.splitlines()) == 1
    assert loaded == []


def test_a_junk_saved_model_is_one_clear_error(tmp_path, folder_data, capsys):
    images, _ = folder_data
    version = tmp_path / "serving" / "5"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"\x08\x01junk that is not a SavedModel")
    assert predict.main([images, "--model", str(version), "--output-dir", str(tmp_path / "o")]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: Cannot load the SavedModel in {version} (")
    assert "Pass --model a version directory the Pusher wrote" in error
    assert len(error.splitlines()) == 1


def test_a_dangling_link_is_reported_not_dropped(models_root, folder_data, tmp_path, capsys):
    images, _ = folder_data
    os.symlink(str(tmp_path / "gone.jpg"), os.path.join(images, "broken_1.jpg"))
    output = tmp_path / "out"
    code = predict.main(
        [images, "--model", str(models_root / "pet-segmentation"), "--output-dir", str(output)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert f"broken_1.jpg: a link to {tmp_path / 'gone.jpg'}, which does not exist" in out


def test_images_on_a_filesystem_with_a_scheme_are_predicted_as_on_disk(
    models_root, folder_data, tmp_path
):
    """ram:// (TensorFlow's in-memory filesystem, this process only) stands for gs://; the
    outputs stay local."""
    from tests import trap_files

    images, _ = folder_data
    uri = trap_files.copy_to_ram(images)
    model = ["--model", str(models_root / "pet-segmentation")]
    runs = {"disk": [images], "ram": [uri], "one_file": [f"{uri}/b.png"]}
    for name, sources in runs.items():
        assert predict.main([*sources, *model, "--output-dir", str(tmp_path / name)]) == 0
    for kind in ("masks", "overlays"):
        assert sorted(os.listdir(tmp_path / "ram" / kind)) == ["a.png", "b.png", "d.png"]
        for name in ("a.png", "b.png", "d.png"):
            written = (tmp_path / "ram" / kind / name).read_bytes()
            assert written == (tmp_path / "disk" / kind / name).read_bytes()
        assert os.listdir(tmp_path / "one_file" / kind) == ["b.png"]
