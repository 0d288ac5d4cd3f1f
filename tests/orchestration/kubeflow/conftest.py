"""The project's image, built from this checkout, for the tests that run tasks in it."""

import os
import shutil
import subprocess

import pytest

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
TEST_IMAGE = "localhost/pet-segmentation:test"


@pytest.fixture(scope="session")
def project_image(tmp_path_factory):
    """Builds the Dockerfile with podman (minutes; its layer cache makes rebuilds quick)."""
    if not shutil.which("podman"):
        pytest.skip(
            "podman is not installed: the image cannot be built here "
            "(../shared/containers/setup.sh installs it; see docs/kubeflow.md)"
        )
    log_path = tmp_path_factory.mktemp("image") / "build.log"
    with open(log_path, "w") as log:
        built = subprocess.run(
            ["podman", "build", "--tag", TEST_IMAGE, PROJECT_DIR],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    if built.returncode:
        pytest.fail(f"podman build failed; its log: {log_path}\n{log_path.read_text()[-3000:]}")
    return TEST_IMAGE
