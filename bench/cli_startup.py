"""How long each command takes to answer `--help`: the wait before any work or any flag error.
(`--version` is checked the same way by tests/bench/test_cli_startup.py: `probe`.)
With --metadata, also how long `inspect` and `inspect models` take on that store: commands
that answer from ML Metadata and the run's files, without TensorFlow.

    python -m uv run python -m bench.cli_startup
    python -m uv run python -m bench.cli_startup --metadata outputs/metadata.sqlite

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

# (name, module, arguments): commands that read a pipeline's ML Metadata (--metadata).
METADATA_COMMANDS = (
    ("inspect", "metadata.inspect", ()),
    ("inspect models", "metadata.inspect", ("models",)),
)

# Runs a command with these arguments in this process, then says whether TensorFlow was
# imported.
PROBE = """
import runpy, sys
sys.argv = [{module!r}, *{args!r}]
try:
    runpy.run_module({module!r}, run_name="__main__")
except SystemExit:
    pass
print("\\nIMPORTED_TENSORFLOW", "tensorflow" in sys.modules)
"""


def probe(module: str, *args: str) -> tuple[float, bool, str]:
    """(wall seconds, whether TensorFlow was imported, the command's output) of
    `module args...` in a fresh process."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, args=args)],
        cwd=configs.PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0 or "IMPORTED_TENSORFLOW" not in completed.stdout:
        raise SystemExit(f"{module} {' '.join(args)} failed: {completed.stderr[-2000:]}")
    output, _, imported = completed.stdout.rstrip().rpartition("\nIMPORTED_TENSORFLOW ")
    return seconds, imported == "True", output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=flags.at_least(1), default=5, help="(default: 5)")
    parser.add_argument("--results", help="(default: bench/results/cli_startup.json)")
    parser.add_argument(
        "--metadata",
        help="an ML Metadata store with runs: time `inspect` and `inspect models` on it too "
        "(default: neither is timed)",
    )
    args = parser.parse_args(argv)
    results = {"commands": {}}
    for name, module in COMMANDS:
        results["commands"][name] = timed(args.rounds, module, "--help")
    if args.metadata:
        results["metadata_commands"] = metadata_commands(args.metadata, args.rounds)
    path = common.write_results("cli_startup", results, args.results)
    header = ["command", "median s", "imports TensorFlow"]
    rows = [
        [name + (" --help" if kind == "commands" else ""), f"{result['median_seconds']:.2f}"]
        + ["yes" if result["imports_tensorflow"] else "no"]
        for kind, by_name in results.items()
        for name, result in by_name.items()
    ]
    print(common.format_table(header, rows))
    print(f"Written to {path}")
    return 0


def metadata_commands(metadata_path: str, rounds: int) -> dict:
    """{name: timings} of METADATA_COMMANDS on this store."""
    return {
        name: timed(rounds, module, *arguments, "--metadata", metadata_path)
        for name, module, arguments in METADATA_COMMANDS
    }


def timed(rounds: int, module: str, *args: str) -> dict:
    """The wall times of `module args...` in `rounds` fresh processes, after one not counted."""
    probe(module, *args)  # warms the file cache
    measured = [probe(module, *args) for _ in range(rounds)]
    return {
        "median_seconds": statistics.median(seconds for seconds, _, _ in measured),
        "rounds_seconds": [seconds for seconds, _, _ in measured],
        "imports_tensorflow": measured[-1][1],
    }


if __name__ == "__main__":
    sys.exit(main())
