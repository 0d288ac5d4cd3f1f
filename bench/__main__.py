"""Every benchmark, one after the other: `python -m bench` (add --full for the full size).

    python -m uv run python -m bench           # about 25 minutes on 2 cores
    python -m uv run python -m bench --full    # and the real dataset's size (about 25 more)

The end-to-end run comes first: its pipeline output (bench/outputs/end_to_end/default)
is what the Transform, Trainer-input and serving benchmarks then measure. Each benchmark
runs in its own process, so that one's memory and threads do not weigh on the next, and
writes bench/results/<name>.json. docs/performance.md explains each figure.
"""

import argparse
import os
import subprocess
import sys

from pipeline import configs

DEFAULT_RUN = os.path.join(configs.PROJECT_DIR, "bench", "outputs", "end_to_end", "default")


def commands(full: bool) -> list[list[str]]:
    python = [sys.executable, "-m"]
    on_the_run = ["--output-dir", DEFAULT_RUN]
    steps = [
        python + ["bench.end_to_end", "--size", "default"],
        python + ["bench.transform", *on_the_run],
        python + ["bench.trainer_input", *on_the_run],
        python + ["bench.serving", *on_the_run],
    ]
    if full:
        # Three epochs: the memory peak and the per-epoch time are what this run is for.
        steps.append(python + ["bench.end_to_end", "--size", "full", "--", "--epochs", "3"])
    return steps


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="also the full-size run")
    args = parser.parse_args(argv)
    for command in commands(args.full):
        print("\n$", " ".join(command[1:]), flush=True)
        completed = subprocess.run(command, cwd=configs.PROJECT_DIR)
        if completed.returncode != 0:
            raise SystemExit(f"{command[2]} failed (exit {completed.returncode}); stopping.")


if __name__ == "__main__":
    main()
