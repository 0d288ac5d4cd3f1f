"""An output directory that cannot be used is refused before any work, in seconds."""

import collections
import os
import subprocess

import pytest

import local_runner
from pipeline import preflight
from tests.reliability.helpers import fill

TINY = ["--dataset", "synthetic_pets_tiny", "--image-size", "64", "--encoder-weights", "none"]


def refusal(output_dir, data_dir):
    """The message main() exits with for this output directory."""
    with pytest.raises(SystemExit) as exit_info:
        local_runner.main(TINY + ["--data-dir", str(data_dir), "--output-dir", str(output_dir)])
    return str(exit_info.value)


def test_an_output_dir_that_cannot_be_created_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("not a directory")
    message = refusal(tmp_path / "a_file" / "outputs", tmp_path / "tfds")
    assert message.startswith("Configuration error: The output directory")
    assert "is not usable: Not a directory" in message and "--output-dir" in message


def test_a_read_only_output_dir_is_refused(tmp_path, tmpfs):
    if os.geteuid() == 0:  # root writes through permissions: use a read-only mount
        output_dir = tmpfs(10)
        subprocess.run(["mount", "-o", "remount,ro", str(output_dir)], check=True)
        reason = "Read-only file system"
    else:
        output_dir = tmp_path / "outputs"
        output_dir.mkdir(mode=0o500)
        reason = "Permission denied"
    message = refusal(output_dir, tmp_path / "tfds")
    assert f"The output directory {output_dir} is not usable: {reason}" in message


def test_a_full_disk_is_refused(tmp_path, tmpfs):
    output_dir = tmpfs(10)
    fill(output_dir)
    message = refusal(output_dir, tmp_path / "tfds")
    assert f"The output directory {output_dir} is not usable: No space left on device" in message


def test_a_nearly_full_disk_is_refused(tmp_path, tmpfs):
    output_dir = tmpfs(50)
    message = refusal(output_dir, tmp_path / "tfds")
    assert f"Only 50 MB free for the output directory {output_dir}" in message
    assert f"needs at least {preflight.MIN_FREE_MB} MB" in message


@pytest.mark.parametrize(
    "free_mb, outcome",
    [(preflight.MIN_FREE_MB - 1, "refused"), (preflight.MIN_FREE_MB, "warned"), (10**6, "ok")],
)
def test_free_space_thresholds(tmp_path, monkeypatch, free_mb, outcome):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda _: usage(0, 0, free_mb * 2**20))
    if outcome == "refused":
        with pytest.raises(preflight.ConfigError, match=f"Only {free_mb} MB free"):
            preflight.check_output_dir(str(tmp_path))
    elif outcome == "warned":
        assert f"Only {free_mb} MB free" in preflight.check_output_dir(str(tmp_path))
    else:
        assert preflight.check_output_dir(str(tmp_path)) is None
