"""End to end: the pipeline's wall time per component, orchestration overhead, peak memory.

    python -m uv run python -m bench.end_to_end                # the default run
    python -m uv run python -m bench.end_to_end --size full    # the real dataset's size
    python -m uv run python -m bench.end_to_end --size full -- --epochs 3   # runner flags

It runs `python local_runner.py` as a user does, in a fresh output directory
(bench/outputs/end_to_end/<size>/), so that nothing comes from TFX's cache, and measures:
- the wall time of the whole command, from process start to exit;
- each component's time from ML Metadata (its execution's creation to its last update:
  driver, executor and publisher);
- the orchestration overhead: wall time minus the components' time. It is split into the
  time before the first component (interpreter start, imports, config checks, compiling
  the pipeline), between components, and after the last
  (reading the results back for the summary);
- the resident memory of the runner and all its child processes, sampled every 0.5 s:
  the peak of the run and the peak inside each component.

Sizes: `default` is the embedded synthetic dataset (1,000 train / 250 eval scenes,
192..320 px); `full` generates it at the real Oxford-IIIT Pet size (3,680 / 3,669 images,
300..500 px); `tiny` is for smoke runs. A dataset generated for the first time is
generated inside the ExampleGen, which the results record (`dataset_prepared_before`).
Results go to bench/results/end_to_end_<size>.json.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import os
import shutil
import subprocess
import sys
import time

from bench import common
from metadata import run_summary
from metadata.inspect import describe, load
from pipeline import configs

SIZES = {"default": "synthetic_pets", "full": "synthetic_pets_full", "tiny": "synthetic_pets_tiny"}
GOALS = {
    "default": {"max_wall_minutes": 15, "max_overhead_fraction": 0.25},
    "full": {"max_peak_gib": 8},
    "tiny": {},
}
GIB = 2**30


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--output-dir", help="default: bench/outputs/end_to_end/<size>")
    parser.add_argument("--results", help="default: bench/results/end_to_end_<size>.json")
    parser.add_argument(
        "runner_flags", nargs="*", help="after --: extra local_runner.py flags, e.g. --epochs 3"
    )
    args = parser.parse_args(argv)

    output_dir = os.path.abspath(
        args.output_dir or os.path.join("bench", "outputs", "end_to_end", args.size)
    )
    shutil.rmtree(output_dir, ignore_errors=True)  # a cold run: nothing from the cache
    dataset = SIZES[args.size]
    prepared_before = dataset_prepared(configs.DATASETS[dataset].dataset)
    command = [
        sys.executable,
        os.path.join(configs.PROJECT_DIR, "local_runner.py"),
        "--output-dir",
        output_dir,
        "--dataset",
        dataset,
        *args.runner_flags,
    ]
    print("Running:", " ".join(command), flush=True)
    started = time.time()
    process = subprocess.Popen(command, cwd=configs.PROJECT_DIR)
    with common.PeakMemory(process.pid) as memory:
        exit_code = process.wait()
    ended = time.time()
    if exit_code != 0:
        raise SystemExit(f"local_runner.py failed (exit {exit_code}); see {output_dir}/run.log")

    results = measure(output_dir, started, ended, memory)
    results.update(
        size=args.size,
        dataset=dataset,
        dataset_prepared_before=prepared_before,
        command=command,
        goals=GOALS[args.size],
        goals_met=goals_met(args.size, results),
    )
    path = common.write_results(f"end_to_end_{args.size}", results, args.results)
    print()
    print(format_results(results))
    print(f"\nResults: {path}")


def measure(output_dir, started, ended, memory) -> dict:
    """Per-component times and memory from ML Metadata and the samples, and the overhead."""
    metadata_path = os.path.join(output_dir, "metadata.sqlite")
    records = load.load(metadata_path, configs.PIPELINE_NAME)
    run = records.runs[-1]
    executions = [records.executions[i] for i in records.run_execution_ids[run.id]]
    executions.sort(key=lambda execution: execution.create_time_since_epoch)
    wall_seconds = ended - started
    components = []
    for execution in executions:
        start = execution.create_time_since_epoch / 1000
        end = execution.last_update_time_since_epoch / 1000
        components.append(
            {
                "component": records.component[execution.id],
                "state": describe.state_name(execution),
                "seconds": round(end - start, 1),
                "share_of_wall": round((end - start) / wall_seconds, 3),
                "peak_memory_gib": gib(memory.peak_between(start, end)),
            }
        )
    inside = sum(component["seconds"] for component in components)
    first_start = executions[0].create_time_since_epoch / 1000
    last_end = max(execution.last_update_time_since_epoch for execution in executions) / 1000
    summary = run_summary.summarize(metadata_path, configs.PIPELINE_NAME)
    return {
        "wall_seconds": round(wall_seconds, 1),
        "components": components,
        "components_seconds": round(inside, 1),
        "overhead_seconds": round(wall_seconds - inside, 1),
        "overhead_fraction": round((wall_seconds - inside) / wall_seconds, 3),
        "overhead_parts_seconds": {
            "before_first_component": round(first_start - started, 1),
            "between_components": round(last_end - first_start - inside, 1),
            "after_last_component": round(ended - last_end, 1),
        },
        "peak_memory_gib": gib(memory.peak_bytes),
        "mean_dice": summary.metrics.get("mean_dice"),
        "blessed": summary.blessed,
        "example_count_eval": summary.metrics.get("example_count"),
    }


def gib(size_bytes: int | None) -> float | None:
    return None if size_bytes is None else round(size_bytes / GIB, 2)


def dataset_prepared(tfds_name: str) -> bool:
    """Whether TFDS's default data dir already holds the dataset (else ExampleGen makes it)."""
    data_dir = os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
    name, _, config = tfds_name.partition("/")
    return os.path.isdir(os.path.join(data_dir, name, config or "default"))


def goals_met(size: str, results: dict) -> dict:
    goals = GOALS[size]
    met = {}
    if "max_wall_minutes" in goals:
        met["wall_time"] = results["wall_seconds"] / 60 <= goals["max_wall_minutes"]
    if "max_overhead_fraction" in goals:
        met["overhead"] = results["overhead_fraction"] <= goals["max_overhead_fraction"]
    if "max_peak_gib" in goals:
        met["peak_memory"] = results["peak_memory_gib"] <= goals["max_peak_gib"]
    return met


def format_results(results: dict) -> str:
    rows = [
        [c["component"], c["state"], c["seconds"], c["share_of_wall"], c["peak_memory_gib"]]
        for c in results["components"]
    ]
    parts = results["overhead_parts_seconds"]
    rows += [
        ["(overhead) before the first component", "", parts["before_first_component"], "", ""],
        ["(overhead) between components", "", parts["between_components"], "", ""],
        ["(overhead) after the last component", "", parts["after_last_component"], "", ""],
        [
            "total",
            "",
            results["wall_seconds"],
            1.0,
            results["peak_memory_gib"],
        ],
    ]
    table = common.format_table(
        ["component", "state", "seconds", "share of wall", "peak memory GiB"], rows
    )
    lines = [
        f"End to end, {results['size']} ({results['dataset']}): "
        f"{results['wall_seconds'] / 60:.1f} min, overhead {results['overhead_fraction']:.1%}, "
        f"peak memory {results['peak_memory_gib']} GiB, mean Dice {results['mean_dice']}",
        table,
        f"Goals {results['goals']}: {results['goals_met']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
