"""One tiny pipeline run, made by bench/end_to_end.py, that the other benchmarks measure."""

import json
import subprocess
import sys

import pytest

from pipeline import configs
from tests.conftest import tiny_runner_flags


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(output dir of a tiny pipeline run, the end-to-end benchmark's results)."""
    from bench import end_to_end

    root = tmp_path_factory.mktemp("bench")
    results_path = root / "end_to_end_tiny.json"
    end_to_end.main(
        [
            "--size=tiny",
            f"--output-dir={root / 'run'}",
            f"--results={results_path}",
            "--",
            *tiny_runner_flags(root / "tfds"),
        ]
    )
    return root / "run", json.loads(results_path.read_text())


def run_benchmark(module: str, output_dir, results_path, *flags) -> dict:
    """Runs `python -m bench.<module> --quick` on a pipeline run; returns its JSON."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            f"bench.{module}",
            "--quick",
            f"--output-dir={output_dir}",
            f"--results={results_path}",
            *flags,
        ],
        cwd=configs.PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(results_path.read_text())
