"""How long each command takes to answer `--help`: the wait before any work or any flag error.
(`--version` is checked the same way by tests/bench/test_cli_startup.py: `probe`.)

    python -m uv run python -m bench.cli_startup

Each command runs --rounds times in a fresh process (as a user starts it, through its
module); the median wall time goes to bench/results/cli_startup.json, with whether the
process imported TensorFlow to answer. The first round of each is not counted: it warms
the file cache.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import statistics
import subprocess
import sys
import time

from bench import common
from pipeline import configs, flags

# (name, module): every command a user types.
COMMANDS = (
    ("local_runner.py", "local_runner"),
    ("kubeflow_runner.py", "kubeflow_runner"),
    ("predict", "inference.predict"),
    ("evaluate", "inference.evaluate"),
    ("inspect", "metadata.inspect"),
)

# Runs a command's --help (or other flag) in this process, then says whether TensorFlow was
# imported.
PROBE = """
import runpy, sys
sys.argv = [{module!r}, {flag!r}]
try:
    runpy.run_module({module!r}, run_name="__main__")
except SystemExit:
    pass
print("\\nIMPORTED_TENSORFLOW", "tensorflow" in sys.modules)
"""


def measure(module: str) -> tuple[float, bool]:
    seconds, imported_tensorflow, _ = probe(module, "--help")
    return seconds, imported_tensorflow


def probe(module: str, flag: str) -> tuple[float, bool, str]:
    """(wall seconds, whether TensorFlow was imported, the command's output) of
    `module flag` in a fresh process."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, flag=flag)],
        cwd=configs.PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0 or "IMPORTED_TENSORFLOW" not in completed.stdout:
        raise SystemExit(f"{module} {flag} failed: {completed.stderr[-2000:]}")
    output, _, imported = completed.stdout.rstrip().rpartition("\nIMPORTED_TENSORFLOW ")
    return seconds, imported == "True", output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=flags.at_least(1), default=5, help="(default: 5)")
    parser.add_argument("--results", help="(default: bench/results/cli_startup.json)")
    args = parser.parse_args(argv)
    results = {}
    for name, module in COMMANDS:
        measure(module)  # warms the file cache
        rounds = [measure(module) for _ in range(args.rounds)]
        results[name] = {
            "median_seconds": statistics.median(seconds for seconds, _ in rounds),
            "rounds_seconds": [seconds for seconds, _ in rounds],
            "imports_tensorflow": rounds[-1][1],
        }
    path = common.write_results("cli_startup", {"commands": results}, args.results)
    rows = [
        [name, f"{result['median_seconds']:.2f}", "yes" if result["imports_tensorflow"] else "no"]
        for name, result in results.items()
    ]
    print(common.format_table(["command --help", "median s", "imports TensorFlow"], rows))
    print(f"Written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
