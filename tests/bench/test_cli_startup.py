import json
import re

import pytest

from bench import cli_startup
from pipeline import version


def test_every_command_answers_help_without_tensorflow(tmp_path):
    results_path = tmp_path / "cli_startup.json"
    assert cli_startup.main(["--rounds", "1", "--results", str(results_path)]) == 0
    commands = json.loads(results_path.read_text())["commands"]
    assert list(commands) == [name for name, _ in cli_startup.COMMANDS]
    for name, result in commands.items():
        assert result["imports_tensorflow"] is False, name
        assert len(result["rounds_seconds"]) == 1 and result["median_seconds"] > 0


@pytest.mark.parametrize("name, module", cli_startup.COMMANDS)
def test_every_command_answers_version_without_tensorflow(name, module):
    _, imported_tensorflow, output = cli_startup.probe(module, "--version")
    assert imported_tensorflow is False
    # e.g. "predict (tfx-segmentation) 0.1.0, commit 1a2b3c4": the commit in a checkout.
    assert f" ({version.PACKAGE}) {version.package_version()}" in output, output
    if version.git_commit() is not None:
        assert re.search(r", commit [0-9a-f]{7,}", output), output
    assert len(output.strip().splitlines()) == 1
