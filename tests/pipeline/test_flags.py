"""The flags every command shares: counts and fractions parsed the same way everywhere (a bad
value is refused by argparse, naming the flag), and the training recipes and their flags."""

import argparse
import dataclasses
import os
import re

import pytest

import kubeflow_runner
import local_runner
from bench import compare_models, serving, trainer_input, transform
from inference import evaluate, predict
from metadata.inspect import cli as inspect_cli
from pipeline import configs, flags, version

# Every command a user types, by the function that parses its flags.
COMMANDS = {
    "local_runner.py": local_runner.parse_args,
    "kubeflow_runner.py": kubeflow_runner.parse_args,
    "predict": predict.parse_args,
    "evaluate": evaluate.parse_args,
    "inspect": inspect_cli.parse_args,
}


def test_at_least_takes_whole_numbers_from_its_minimum():
    assert flags.at_least(0)("0") == 0
    assert flags.at_least(1)("7") == 7
    for text, message in [("0", "0: it must be 1 or more"), ("x", "'x' is not a whole number")]:
        with pytest.raises(flags.argparse.ArgumentTypeError, match=message):
            flags.at_least(1)(text)


def test_between_takes_numbers_in_the_closed_range():
    assert flags.between(0, 1)("0") == 0.0
    assert flags.between(0, 1)("1") == 1.0
    for text in ("1.01", "-0.1", "nan", "inf"):
        with pytest.raises(flags.argparse.ArgumentTypeError):
            flags.between(0, 1)(text)


@pytest.mark.parametrize(
    "main, arguments, message",
    [
        (evaluate.parse_args, ["--limit", "0"], "argument --limit: 0: it must be 1 or more"),
        (evaluate.parse_args, ["--limit", "-1"], "argument --limit: -1: it must be 1 or more"),
        (evaluate.parse_args, ["--worst", "-1"], "argument --worst: -1: it must be 0 or more"),
        (
            predict.parse_args,
            ["x", "--opacity", "2"],
            "argument --opacity: 2.0: it must be between",
        ),
        (serving.main, ["--rounds", "0"], "argument --rounds: 0: it must be 1 or more"),
        (serving.main, ["--images", "8"], "argument --images: 8: it must be 32 or more"),
        (trainer_input.main, ["--steps", "0"], "argument --steps: 0: it must be 1 or more"),
        (transform.main, ["--limit", "0"], "argument --limit: 0: it must be 1 or more"),
        (transform.main, ["--rounds", "-2"], "argument --rounds: -2: it must be 1 or more"),
    ],
)
def test_commands_refuse_a_count_out_of_range(capsys, main, arguments, message):
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(
    "main, arguments",
    [
        (trainer_input.main, ["--batch-size", "0"]),
        (compare_models.main, ["--epochs", "0"]),
    ],
)
def test_benchmarks_check_training_settings_as_the_runners_do(tmp_path, main, arguments):
    # Before any pipeline output is looked for and before the first variant trains.
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--output-dir", str(tmp_path / "none")])
    assert str(exit_info.value).startswith("Configuration error: ")
    assert "it must be 1 or more" in str(exit_info.value)
    assert not (tmp_path / "none").exists()


def parsed_training(*arguments):
    parser = argparse.ArgumentParser()
    flags.add_flags(parser)
    return flags.config_from_args(parser.parse_args(list(arguments)), "out").training


def test_no_training_flag_means_the_default_recipe():
    assert parsed_training() == configs.TrainingConfig() == configs.RECIPES["default"]


def test_a_recipe_sets_every_training_setting_and_given_flags_override_it():
    photos = configs.RECIPES["photos"]
    assert photos != configs.TrainingConfig()
    assert parsed_training("--recipe", "photos") == photos
    overridden = parsed_training("--recipe", "photos", "--alpha", "0.35", "--epochs", "3")
    assert overridden == dataclasses.replace(photos, alpha=0.35, epochs=3)


def test_every_training_flag_reaches_its_setting():
    values = {
        "epochs": "7",
        "train_steps": "9",
        "batch_size": "3",
        "image_size": "160",
        "class_mode": "binary_border_as_pet",
        "learning_rate": "0.01",
        "loss": "focal",
        "augmentation": "none",
        "backbone": "efficientnet_b0",
        "alpha": "0.75",
        "encoder_weights": "none",
        "freeze_encoder_epochs": "2",
    }
    assert set(values) | {"test_time_flip"} == set(flags.TRAINING_FLAGS)
    arguments = [part for name, value in values.items() for part in (flags.flag_name(name), value)]
    training = parsed_training(*arguments, "--test-time-flip")
    for name, value in values.items():
        assert str(getattr(training, name)) == value
    assert training.test_time_flip is True
    assert parsed_training("--recipe", "photos", "--no-test-time-flip").test_time_flip is False


def test_an_unknown_recipe_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit):
        parsed_training("--recipe", "fast")
    assert "invalid choice: 'fast' (choose from 'default', 'photos')" in capsys.readouterr().err


@pytest.mark.parametrize(
    "parse, old, new",
    [
        (evaluate.parse_args, "--data", "--oxford-dir"),
        (evaluate.parse_args, "--images", "--image-dir"),
        (evaluate.parse_args, "--masks", "--mask-dir"),
        (evaluate.parse_args, "--output", "--output-dir"),
        (predict.parse_args, "--output", "--output-dir"),
        (predict.parse_args, "--alpha", "--opacity"),
    ],
)
def test_old_flag_names_say_the_new_one(capsys, parse, old, new):
    arguments = ["x.jpg"] if parse is predict.parse_args else []
    with pytest.raises(SystemExit) as exit:
        parse([*arguments, old, "value"])
    assert exit.value.code == 2
    assert f"error: {old} is now {new}" in capsys.readouterr().err


def test_commands_name_the_same_folders_as_the_runners():
    parser = argparse.ArgumentParser()
    flags.add_flags(parser)
    runner = {action.dest for action in parser._actions}
    evaluated = evaluate.parse_args(["--oxford-dir", "d"])
    assert {"oxford_dir", "image_dir", "mask_dir", "mask_values", "mask_palette"} <= runner
    assert {"oxford_dir", "image_dir", "mask_dir", "mask_values", "mask_palette"} <= set(
        vars(evaluated)
    )
    assert "output_dir" in vars(evaluated) and "output_dir" in vars(predict.parse_args(["x"]))


def test_folder_uris_are_kept_and_local_folders_made_absolute(tmp_path):
    """Tasks may run elsewhere: a local path is made absolute, a URI (gs://, s3://, any
    scheme TensorFlow reads) stays as given, from the flags and from a --config file."""
    parser = argparse.ArgumentParser()
    flags.add_flags(parser)

    def source(*arguments):
        return flags.config_from_args(parser.parse_args(list(arguments)), "out").data

    assert source("--oxford-dir", "gs://bucket/pets").root == "gs://bucket/pets"
    assert source("--oxford-dir", "pets").root == os.path.abspath("pets")
    folder = source(
        *("--image-dir", "s3://b/images", "--mask-dir", "masks"),
        *("--mask-values", "background=0,pet=1"),
    )
    assert (folder.image_dir, folder.mask_dir) == ("s3://b/images", os.path.abspath("masks"))
    config_path = tmp_path / "gcs.toml"
    config_path.write_text('[data]\noxford_dir = "gs://bucket/pets"\n')
    assert source("--config", str(config_path)).root == "gs://bucket/pets"


class _Parser(Exception):
    """Carries the parser a command built out of its parse_args."""


def parser_of(parse_args, monkeypatch) -> argparse.ArgumentParser:
    def capture(parser, *args, **kwargs):
        raise _Parser(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Parser) as captured:
        parse_args([])
    return captured.value.args[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_has_help_that_shows_its_default_and_choices(command, monkeypatch):
    parser = parser_of(COMMANDS[command], monkeypatch)
    formatter = parser._get_formatter()
    checked = 0
    for action in parser._actions:
        name = (action.option_strings or [action.dest])[0]
        if action.help == argparse.SUPPRESS or name in ("-h",):
            continue  # --help itself, and the old names that say the new one
        checked += 1
        assert action.help, f"{command} {name} has no help"
        text = formatter._expand_help(action)  # as --help shows it, %(default)s filled in
        if action.option_strings and action.nargs != 0 and not action.required:
            # A value to give: what leaving it out means.
            assert "default" in text, f"{command} {name}: no default in {text!r}"
        if action.default not in (None, argparse.SUPPRESS, False, []):
            assert str(action.default) in text, f"{command} {name}: {text!r}"
        if action.choices:
            # Shown as {a,b,c} next to the flag, unless a metavar hides them.
            assert action.metavar is None or all(str(c) in text for c in action.choices), name
    assert checked >= 5


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_its_version(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        COMMANDS[command](["--version"])  # alone: even where other flags are required
    assert exit_info.value.code == 0
    line = capsys.readouterr().out.strip()
    # e.g. "evaluate (tfx-segmentation) 0.1.0, commit 1a2b3c4 (with uncommitted changes)"
    expected = rf"\S+ \({version.PACKAGE}\) {re.escape(version.package_version())}"
    if version.git_commit():
        expected += r", commit [0-9a-f]{7,}( \(with uncommitted changes\))?"
    assert re.fullmatch(expected, line), line


def test_the_version_is_pyprojects_and_the_checkouts_commit():
    import tomllib

    with open(f"{configs.PROJECT_DIR}/pyproject.toml", "rb") as file:
        assert version.package_version() == tomllib.load(file)["project"]["version"]
    commit = version.git_commit()
    assert commit is None or commit in version.describe()
