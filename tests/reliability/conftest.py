"""Fixtures shared by the reliability tests."""

import os
import shutil
import subprocess
import uuid

import pytest

from metadata import run_summary
from tests.reliability.helpers import run_runner, runner_command


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """One TFDS data dir for the session: the tiny dataset is generated once."""
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def good_run(tmp_path_factory, tiny_data_dir):
    """A model trained long enough to be clearly better than a few steps, blessed and pushed.

    120 steps give mean Dice ~0.55 on the tiny eval split, 1 to 3 steps ~0.32.
    """
    output_dir = str(tmp_path_factory.mktemp("good") / "outputs")
    console = os.path.join(os.path.dirname(output_dir), "console.txt")
    command = runner_command(output_dir, tiny_data_dir, train_steps=120, epochs=2)
    code, text = run_runner(command, console)
    assert code == 0, text[-3000:]
    summary = run_summary.summarize(os.path.join(output_dir, "metadata.sqlite"), "pet-segmentation")
    assert summary.blessed and summary.pushed_model_dir, text[-3000:]
    return output_dir, summary, console


@pytest.fixture
def tmpfs(tmp_path):
    """Mounts a tmpfs of the given size; skips when mounting is not permitted (not root)."""
    mounted = []

    def mount(size_mb):
        mount_point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
        mount_point.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount command to make a small tmpfs that simulates a full disk")
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs to simulate a full disk: {result.stderr.strip()}")
        mounted.append(mount_point)
        return mount_point

    yield mount
    for mount_point in mounted:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
