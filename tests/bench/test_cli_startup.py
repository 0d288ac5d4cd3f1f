import json

from bench import cli_startup


def test_every_command_answers_help_without_tensorflow(tmp_path):
    results_path = tmp_path / "cli_startup.json"
    assert cli_startup.main(["--rounds", "1", "--results", str(results_path)]) == 0
    commands = json.loads(results_path.read_text())["commands"]
    assert list(commands) == [name for name, _ in cli_startup.COMMANDS]
    for name, result in commands.items():
        assert result["imports_tensorflow"] is False, name
        assert len(result["rounds_seconds"]) == 1 and result["median_seconds"] > 0
