"""Counts and fractions every command parses the same way: a bad value is refused by
argparse, naming the flag, instead of meaning the default or a slice from the end."""

import pytest

from bench import compare_models, serving, trainer_input, transform
from inference import evaluate, predict
from pipeline import flags


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
        (predict.parse_args, ["x", "--alpha", "2"], "argument --alpha: 2.0: it must be between"),
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
