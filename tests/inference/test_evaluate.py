"""Tests for inference/evaluate.py, on a fake pushed model and tiny folders (see conftest).

The fake model predicts pet where the red channel is above 128, background elsewhere, and
never border. The data (conftest IMAGES, TRIMAPS), predicted vs true, in class letters
(P = pet, B = background, R = border):

    a (2x2):  predicted  P P    true  P B        b (2x4):  predicted  P P P P   true  P P R B
                         B B          B B                             B B B B         R B B B

Counts, image a + image b = set (I = intersection, T = true size, P = predicted size):
    pet:         I 1 + 2 = 3    T 1 + 2 = 3    P 2 + 4 = 6
    background:  I 2 + 3 = 5    T 3 + 4 = 7    P 2 + 4 = 6
    border:      I 0 + 0 = 0    T 0 + 2 = 2    P 0 + 0 = 0
Set scores:
    Dice  pet 2*3/9 = 2/3, background 2*5/13 = 10/13, border 0/2 = 0; mean 0.478632...
    IoU   pet 3/6 = 0.5,   background 5/8 = 0.625,    border 0;       mean 0.375
    pixel accuracy (3 + 5 + 0) / 12 = 2/3
    foreground (pet + border): true a {00} + b {00, 01, 02, 10} = 5, predicted 2 + 4 = 6,
    both 1 + 3 = 4 (b's border pixel 02, predicted pet, is right for the foreground):
    Dice 8/11
Per image, mean Dice: a (2/3 + 4/5) / 2 = 0.7333 (border absent: NaN, left out),
b (2/3 + 6/8 + 0) / 3 = 0.4722. Their mean, 0.6028, is not the set's 0.4786.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inference import evaluate

EXPECTED = {
    "dice": {"pet": 2 / 3, "background": 10 / 13, "border": 0.0},
    "mean_dice": (2 / 3 + 10 / 13) / 3,
    "iou": {"pet": 0.5, "background": 0.625, "border": 0.0},
    "mean_iou": 0.375,
    "pixel_accuracy": 2 / 3,
    "foreground_dice": 8 / 11,
}
PER_IMAGE = {"a": (2 / 3 + 4 / 5) / 2, "b": (2 / 3 + 6 / 8) / 3}


def assert_scores(report):
    for key, expected in EXPECTED.items():
        assert report[key] == pytest.approx(expected), key
    assert report["per_image_mean_dice"] == pytest.approx(PER_IMAGE)
    assert report["pixels"] == 12


def run(models_root, *args, model="pet-segmentation"):
    return evaluate.main(["--model", str(models_root / model), *map(str, args)])


def test_folder_layout_scores_the_whole_set(models_root, folder_data, tmp_path, capsys):
    images, masks = folder_data
    output = tmp_path / "eval"
    assert run(models_root, "--image-dir", images, "--mask-dir", masks, "--output-dir", output) == 0

    report = json.loads((output / "metrics.json").read_text())
    assert_scores(report)
    # Summed over the set, not averaged over images.
    assert report["mean_dice"] != pytest.approx(np.mean(list(PER_IMAGE.values())))
    assert report["model"]["version"] == "12"
    assert report["pairs_evaluated"] == 2
    assert report["pairs_skipped"] == 2
    skipped = {os.path.basename(item["path"]): item["reason"] for item in report["skipped"]}
    assert sorted(skipped) == ["c.png", "d.png"]
    assert "not a readable image" in skipped["c.png"] and "no mask" in skipped["d.png"]

    out = " ".join(capsys.readouterr().out.split())  # the table, whitespace aside
    assert "Evaluated 2 pairs, skipped 2." in out
    assert "c.png" in out and "d.png" in out
    assert "mean 0.4786 0.3750" in out
    assert "foreground Dice 0.7273" in out and "pixel accuracy 0.6667" in out
    assert not (output / "worst.png").exists()


def test_worst_grid_and_limit(models_root, folder_data, tmp_path, capsys):
    images, masks = folder_data
    output = tmp_path / "eval"
    args = ["--image-dir", images, "--mask-dir", masks, "--output-dir", output, "--worst", 1]
    assert run(models_root, *args, "--limit", 1) == 0

    report = json.loads((output / "metrics.json").read_text())
    # Drawn at random with the default seed, 0: b, not the first by name.
    assert report["pairs_evaluated"] == 1 and list(report["per_image_mean_dice"]) == ["b"]
    assert report["data"] | {"image_dir": None, "mask_dir": None, "mask_format": None} == {
        "layout": "folder",
        "image_dir": None,
        "mask_dir": None,
        "mask_format": None,
        "pairs_found": 3,  # a, b and c, whose image turns out unreadable
        "limit": 1,
        "seed": 0,
    }
    assert "(1 drawn at random from 3: --limit 1, --seed 0)" in capsys.readouterr().out
    grid = Image.open(output / "worst.png")
    assert grid.mode == "RGB" and grid.width > grid.height > 0

    assert run(models_root, *args, "--limit", 1, "--seed", 1) == 0
    report = json.loads((output / "metrics.json").read_text())
    assert list(report["per_image_mean_dice"]) == ["a"] and report["data"]["seed"] == 1
    # A limit that leaves none out draws nothing: no seed to report.
    assert run(models_root, *args, "--limit", 5) == 0
    report = json.loads((output / "metrics.json").read_text())
    assert (report["pairs_evaluated"], report["data"]["limit"], report["data"]["seed"]) == (
        2,
        5,
        None,
    )


def test_limit_samples_across_the_set_seeded_in_listing_order():
    pairs = [f"pair{index:03}" for index in range(200)]
    drawn = evaluate.sample(pairs, 20, seed=0)
    assert len(drawn) == 20 and drawn == sorted(drawn)
    assert drawn != pairs[:20] and drawn[-1] > "pair100"  # across the set, not its start
    assert evaluate.sample(pairs, 20, seed=0) == drawn  # the same seed, the same pairs
    assert evaluate.sample(pairs, 20, seed=1) != drawn
    assert evaluate.sample(pairs, 200, seed=0) == pairs == evaluate.sample(pairs, None, 0)


def test_subset_defaults_to_the_test_list_where_the_folder_has_one(
    models_root, oxford_data, tmp_path, capsys
):
    output = tmp_path / "eval"
    args = ["--oxford-dir", oxford_data, "--output-dir", output]
    assert run(models_root, *args) == 0  # no lists: every image
    report = json.loads((output / "metrics.json").read_text())
    assert report["data"]["subset"] == "all" and report["pairs_evaluated"] == 2

    with open(os.path.join(oxford_data, "annotations", "test.txt"), "w") as lines:
        lines.write("b 1 1 1\n")
    assert run(models_root, *args) == 0
    report = json.loads((output / "metrics.json").read_text())
    assert report["data"]["subset"] == "test" and list(report["per_image_mean_dice"]) == ["b"]
    assert "Evaluated 1 pairs (subset test), skipped 0." in capsys.readouterr().out
    assert run(models_root, *args, "--subset", "all") == 0
    assert json.loads((output / "metrics.json").read_text())["pairs_evaluated"] == 2


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--seed", "3"], "--seed chooses the --limit sample: pass --limit N too"),
        (["--image-dir", "i", "--mask-dir", "m", "--subset", "test"], "--subset chooses among"),
    ],
)
def test_flags_that_would_change_nothing_are_refused(capsys, arguments, message):
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


def test_mask_classes_are_matched_to_the_model_by_name(models_root, tmp_path):
    """Masks storing background=0, pet=10, border=20, declared in another order."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    recode = np.zeros(4, np.uint8)
    recode[[1, 2, 3]] = [10, 0, 20]  # trimap value -> this folder's value
    for name, pet_map in {"a": [[1, 1], [0, 0]], "b": [[1, 1, 1, 1], [0, 0, 0, 0]]}.items():
        rgb = np.where(np.array(pet_map)[..., None] == 1, (255, 0, 0), (0, 0, 255))
        Image.fromarray(rgb.astype(np.uint8)).save(images / f"{name}.png")
    Image.fromarray(recode[np.array([[1, 2], [2, 2]])]).save(masks / "a.png")
    Image.fromarray(recode[np.array([[1, 1, 3, 2], [3, 2, 2, 2]])]).save(masks / "b.png")

    values = "border=20,background=0,pet=10"
    output = tmp_path / "eval"
    args = [
        "--image-dir",
        images,
        "--mask-dir",
        masks,
        "--mask-values",
        values,
        "--output-dir",
        output,
    ]
    assert run(models_root, *args) == 0
    assert_scores(json.loads((output / "metrics.json").read_text()))


def test_mask_classes_not_the_models_are_an_error(models_root, folder_data, capsys):
    images, masks = folder_data
    args = ["--image-dir", images, "--mask-dir", masks, "--mask-values", "background=2,cat=1"]
    assert run(models_root, *args) == 1
    error = capsys.readouterr().err
    assert "(background, cat) are not the model's (pet, background, border)" in error
    assert "pet=1,background=2,border=3" in error


def test_not_an_oxford_folder_says_what_to_pass(models_root, folder_data, capsys):
    images, _ = folder_data
    assert run(models_root, "--oxford-dir", images) == 1
    assert "--image-dir DIR --mask-dir DIR" in capsys.readouterr().err


def test_oxford_layout_in_a_fresh_process(models_root, oxford_data, tmp_path):
    """`python -m inference.evaluate` with only the model and the installed project."""
    output = tmp_path / "eval"
    command = [sys.executable, "-m", "inference.evaluate", "--oxford-dir", oxford_data]
    command += ["--model", str(models_root / "pet-segmentation"), "--output-dir", str(output)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr
    report = json.loads((output / "metrics.json").read_text())
    assert_scores(report)
    assert report["data"]["layout"] == "oxford"
    assert [os.path.basename(item["path"]) for item in report["skipped"]] == ["c.jpg"]
    assert "the newest in" in result.stdout


def test_a_missing_data_folder_is_said_to_be_missing(models_root, tmp_path, capsys):
    assert run(models_root, "--oxford-dir", str(tmp_path / "no" / "such" / "dir")) == 1
    error = capsys.readouterr().err.strip()
    assert (
        error
        == f"error: --oxford-dir {tmp_path / 'no' / 'such' / 'dir'} does not exist (or is not a folder)."
    )


def folder_flags(folder_data):
    images, masks = folder_data
    return ["--image-dir", images, "--mask-dir", masks]


def test_an_unwritable_output_is_refused_before_any_scoring(
    models_root, folder_data, tmp_path, capsys, monkeypatch
):
    (tmp_path / "a_file").write_text("")
    scored = []
    monkeypatch.setattr(evaluate, "evaluate_pairs", lambda *args: scored.append(args))
    output = str(tmp_path / "a_file" / "eval")
    code = evaluate.main(
        ["--model", str(models_root / "pet-segmentation"), *folder_flags(folder_data)]
        + ["--output-dir", output]
    )
    assert code == 1 and scored == []
    assert "pass another --output-dir." in capsys.readouterr().err


def test_metrics_are_printed_even_when_they_cannot_be_written(
    models_root, folder_data, tmp_path, capsys, monkeypatch
):
    output = tmp_path / "eval"
    real_open = open

    def full_disk(path, *args, **kwargs):
        if str(path).endswith("metrics.json"):
            raise OSError(28, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk)
    code = evaluate.main(
        ["--model", str(models_root / "pet-segmentation"), *folder_flags(folder_data)]
        + ["--output-dir", str(output)]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "foreground Dice   0.7273" in captured.out  # the table is there
    assert captured.err.strip().splitlines()[-1] == (
        f"error: cannot write {output / 'metrics.json'} (No space left on device); "
        "the metrics are above."
    )


def test_an_oxford_folder_on_a_filesystem_with_a_scheme_scores_as_on_disk(
    models_root, oxford_data, tmp_path, capsys
):
    """ram:// (TensorFlow's in-memory filesystem, this process only) stands for gs://."""
    from tests import trap_files

    uri = trap_files.copy_to_ram(oxford_data)
    assert run(models_root, "--oxford-dir", uri, "--output-dir", tmp_path / "eval") == 0
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert_scores(report)
    assert report["data"]["oxford_dir"] == uri
    assert [item["path"] for item in report["skipped"]] == [f"{uri}/images/c.jpg"]
    capsys.readouterr()
    assert run(models_root, "--oxford-dir", f"{uri}/missing") == 1
    assert capsys.readouterr().err.strip() == (
        f"error: --oxford-dir {uri}/missing does not exist (or is not a folder)."
    )
