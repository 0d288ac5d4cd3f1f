"""The project's version, for every command's `--version`: the installed package's version
(pyproject.toml's) and, when the code runs from a git checkout, its commit.

No TensorFlow, and `git` only inside this project's own checkout: `--version` must
answer at once.
"""

import importlib.metadata
import os
import subprocess
import tomllib

from pipeline.configs import PROJECT_DIR

PACKAGE = "tfx-segmentation"  # pyproject.toml's [project] name


def package_version() -> str:
    """The installed distribution's version; pyproject.toml's when it is not installed."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        try:
            with open(os.path.join(PROJECT_DIR, "pyproject.toml"), "rb") as file:
                return tomllib.load(file)["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def git_commit(short: bool = True) -> str | None:
    """HEAD's commit when this code is a git checkout (not an installed copy), else None."""
    if not os.path.exists(os.path.join(PROJECT_DIR, ".git")):
        return None  # installed (the image): a git repository above would not be this one
    commit = _git("rev-parse", *(["--short"] if short else []), "HEAD")
    return commit.stdout.strip() if commit and commit.returncode == 0 else None


def has_uncommitted_changes() -> bool:
    """Whether tracked files differ from HEAD (files nobody added do not count)."""
    # --no-optional-locks: never write the index, which others' git commands may hold.
    diff = _git("--no-optional-locks", "diff", "--quiet", "HEAD", "--")
    return bool(diff and diff.returncode == 1)


def describe() -> str:
    """'0.1.0, commit fdfae5d (with uncommitted changes)', or '0.1.0' when installed."""
    text = package_version()
    commit = git_commit()
    if commit:
        text += f", commit {commit}"
        if has_uncommitted_changes():
            text += " (with uncommitted changes)"
    return text


def _git(*arguments) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(
            ["git", *arguments], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
