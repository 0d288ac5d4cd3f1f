import json

import numpy as np
import pytest

from bench import cross_validate
from tests import trap_files


@pytest.mark.parametrize("num_examples, folds", [(10, 5), (11, 3), (358, 5)])
def test_each_example_is_held_out_in_exactly_one_fold(num_examples, folds):
    held_out = []
    for fold in range(folds):
        train, fold_held_out = cross_validate.fold_indices(num_examples, folds, fold, seed=0)
        assert not set(train) & set(fold_held_out)
        assert len(train) + len(fold_held_out) == num_examples
        held_out.append(fold_held_out)
    assert sorted(np.concatenate(held_out).tolist()) == list(range(num_examples))
    sizes = [len(fold) for fold in held_out]
    assert max(sizes) - min(sizes) <= 1


def test_cross_validation_scores_every_fold_and_keeps_earlier_recipes(tmp_path, capsys):
    oxford_dir = trap_files.generated_oxford_folder(str(tmp_path / "oxford"), 9, num_test=3)
    trap_files.write_image("truncated_jpeg", f"{oxford_dir}/images/samoyed_900.jpg")
    trap_files.write_trimap("ok", f"{oxford_dir}/annotations/trimaps/samoyed_900.png")
    with open(f"{oxford_dir}/annotations/trainval.txt", "a") as lines:
        lines.write("samoyed_900 30 2 20\n")
    results = tmp_path / "cv.json"
    common_flags = ["--oxford-dir", oxford_dir, "--folds", "2", "--results", str(results)]
    tiny = ["--epochs", "1", "--train-steps", "1", "--image-size", "64", "--alpha", "0.35"]
    tiny += ["--encoder-weights", "none", "--batch-size", "2"]

    assert cross_validate.main([*common_flags, *tiny, "--name", "first"]) == 0
    assert cross_validate.main([*common_flags, *tiny, "--augmentation", "affine"]) == 0

    recipes = json.loads(results.read_text())["recipes"]
    # Unnamed, a recipe is named by the settings it changes from the defaults.
    assert list(recipes) == [
        "first",
        "image_size=64, epochs=1, batch_size=2, train_steps=1, augmentation=affine, "
        "alpha=0.35, encoder_weights=none",
    ]
    first = recipes["first"]
    # The 9 trainval pairs, not the 3 test ones nor the truncated photo, split 2 ways.
    assert first["pairs"] == 9
    assert [fold["held_out"] for fold in first["per_fold"]] == [5, 4]
    for fold in first["per_fold"]:
        for kind in ("plain", "flip_averaged"):
            assert 0 <= fold[kind]["mean_dice"] <= 1
            assert set(fold[kind]) >= {"dice_pet", "dice_background", "dice_border"}
    values = [fold["plain"]["mean_dice"] for fold in first["per_fold"]]
    assert first["plain"]["mean_dice"]["mean"] == pytest.approx(np.mean(values))
    assert first["plain"]["mean_dice"]["std"] == pytest.approx(np.std(values, ddof=1))
    assert first["training"]["augmentation"] == "flip"
    output = capsys.readouterr()
    assert "samoyed_900" in output.err  # the skipped pair is named
    assert "first" in output.out and "augmentation=affine" in output.out  # both in the table


def test_a_source_other_than_a_folder_is_refused(capsys):
    assert cross_validate.main(["--dataset", "synthetic_pets_tiny"]) == 2
    assert "pass --oxford-dir or --image-dir" in capsys.readouterr().err


def test_the_folder_may_come_from_a_config_file(tmp_path, capsys):
    missing = tmp_path / "not-there"
    config_file = tmp_path / "cv.toml"
    config_file.write_text(f'[data]\noxford_dir = "{missing}"\n')
    assert cross_validate.main(["--config", str(config_file)]) == 2
    error = capsys.readouterr().err
    # Not refused as "no folder": the file's folder reached the folder checks.
    assert "pass --oxford-dir" not in error and str(missing) in error


def test_every_epoch_records_the_learning_curve_and_the_time_to_quality(tmp_path):
    oxford_dir = trap_files.generated_oxford_folder(str(tmp_path / "oxford"), 6, num_test=0)
    results = tmp_path / "cv.json"
    flags = ["--oxford-dir", oxford_dir, "--folds", "2", "--results", str(results)]
    flags += ["--epochs", "3", "--train-steps", "3", "--image-size", "64", "--alpha", "0.35"]
    flags += ["--encoder-weights", "none", "--batch-size", "2", "--every-epoch"]

    assert cross_validate.main([*flags, "--name", "curve", "--target-dice", "0"]) == 0

    result = json.loads(results.read_text())["recipes"]["curve"]
    for fold in result["per_fold"]:
        points = fold["per_epoch"]
        assert [point["epoch"] for point in points] == [1, 2, 3]
        seconds = [point["train_seconds"] for point in points]
        assert 0 < seconds[0] < seconds[1] < seconds[2]
        # Both count from the same start, without the scoring between epochs: the whole
        # training ends where the curve's last epoch ends.
        # (Keras's teardown after the last epoch is the difference.)
        assert seconds[-1] <= fold["train_seconds"] <= seconds[-1] + 5
        # After the last epoch the curve scores the model that the fold's scores score.
        assert points[-1]["mean_dice"] == pytest.approx(fold["plain"]["mean_dice"])
    curve = result["per_epoch"]
    assert curve[1]["foreground_dice"] == pytest.approx(
        np.mean([fold["per_epoch"][1]["foreground_dice"] for fold in result["per_fold"]])
    )
    # Any model reaches a target of 0 after its first epoch, and stays there.
    reached = result["time_to_quality"]
    assert reached["first"]["epoch"] == reached["held_from"]["epoch"] == 1
    assert reached["first"]["train_seconds"] == curve[0]["train_seconds"]


def test_time_to_quality_is_the_first_epoch_whose_mean_reaches_the_target():
    curve = [
        {"epoch": 1, "train_seconds": 10.0, "foreground_dice": 0.5, "mean_dice": 0.4},
        {"epoch": 2, "train_seconds": 20.0, "foreground_dice": 0.78, "mean_dice": 0.6},
        {"epoch": 3, "train_seconds": 30.0, "foreground_dice": 0.76, "mean_dice": 0.6},
        {"epoch": 4, "train_seconds": 40.0, "foreground_dice": 0.80, "mean_dice": 0.7},
    ]
    reached = cross_validate.time_to_quality(curve, 0.771)
    assert reached == {
        "target_foreground_dice": 0.771,
        "reached": True,
        # Reached at epoch 2, below again at 3, above from 4 to the end.
        "first": {"epoch": 2, "train_seconds": 20.0, "of_all_training": 0.5},
        "held_from": {"epoch": 4, "train_seconds": 40.0, "of_all_training": 1.0},
    }
    assert cross_validate.format_time_to_quality(reached) == (
        "fg Dice 0.771: epoch 2, 20 s (held from 4, 40 s)"
    )
    assert cross_validate.time_to_quality(curve, 0.9)["reached"] is False
    assert "not reached" in cross_validate.format_time_to_quality(
        cross_validate.time_to_quality(curve, 0.9)
    )
