"""What every benchmark shares: the machine's description, results as JSON, a table.

Each benchmark measures its figures as ratios within one run (the machine is shared and
noisy), writes bench/results/<name>.json and prints a table.
"""

import datetime
import json
import os
import platform
import threading
import time

import psutil

from pipeline import configs
from pipeline.version import git_commit  # noqa: F401  (the commit results record; bench/*)

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def machine() -> dict:
    """The machine and software the figures were measured on."""
    cpu_model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    description = {
        "cpu": cpu_model,
        "cpu_cores_available": len(os.sched_getaffinity(0)),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": "none used (CUDA_VISIBLE_DEVICES is ignored; TensorFlow runs on CPU here)",
        "python": platform.python_version(),
        "platform": platform.platform(),
        # 1, 5 and 15 minute load averages as the results were written: the noise near the end.
        "load_average_when_written": [round(load, 2) for load in os.getloadavg()],
    }
    try:
        import tensorflow as tf

        description["tensorflow"] = tf.__version__
        description["gpu"] = ", ".join(d.name for d in tf.config.list_physical_devices("GPU"))
        description["gpu"] = description["gpu"] or "none"
    except ImportError:
        pass
    return description


def run_pipeline_first(output_dir: str) -> str:
    """The fix for a benchmark's missing inputs: run the default pipeline into output_dir."""
    flag = "" if output_dir == configs.DEFAULT_OUTPUT_DIR else f" --output-dir {output_dir}"
    return f"run `python local_runner.py{flag}` first"


def pipeline_outputs(output_dir: str):
    """(store, {(component, output key): newest artifact}, metadata path) of the pipeline
    run in output_dir; exits with the fix when no pipeline has run there."""
    from metadata import queries  # imports ML Metadata: only when needed
    from metadata.store import open_store

    metadata_path = configs.PipelineConfig(output_dir=output_dir).metadata_path
    if not os.path.exists(metadata_path):
        raise SystemExit(
            f"No ML Metadata at {metadata_path}: no pipeline has run in {output_dir}; "
            f"{run_pipeline_first(output_dir)}, or pass --output-dir."
        )
    store = open_store(metadata_path)
    return store, queries.latest_outputs(store, configs.PIPELINE_NAME), metadata_path


def newest_examples(outputs: dict):
    """The newest Examples an ExampleGen (TFDS or folder) wrote, or None."""
    examples = [
        artifact
        for (component, key), artifact in outputs.items()
        if component.endswith("ExampleGen") and key == "examples"
    ]
    return max(examples, key=lambda artifact: artifact.id, default=None)


def trainer_fn_args(examples, transform_graph, custom_config: dict):
    """run_fn's fn_args, built by the function the Trainer component builds them with."""
    from tfx.components.trainer import fn_args_utils  # imports TFX: only when needed

    fn_args = fn_args_utils.get_common_fn_args(
        {"examples": [examples], "transform_graph": [transform_graph]},
        {"train_args": "{}", "eval_args": "{}", "custom_config": json.dumps(custom_config)},
    )
    fn_args.transform_output = fn_args.transform_graph_path  # as the Trainer's executor does
    return fn_args


def write_results(name: str, results: dict, path: str | None = None) -> str:
    """results + the machine + the commit -> bench/results/<name>.json (or path)."""
    path = path or os.path.join(RESULTS_DIR, f"{name}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    document = {
        "benchmark": name,
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        **results,
    }
    temporary = path + ".partial"
    with open(temporary, "w") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)  # a reader never sees half a file
    return path


def format_table(header: list[str], rows: list[list]) -> str:
    """A plain-text table; floats with 3 significant decimals."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
        return "" if value is None else str(value)

    cells = [[cell(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


class PeakMemory:
    """Samples the resident memory of a process and all its children; keeps the peak.

    with PeakMemory(pid) as peak: ...; peak.peak_bytes
    peak.samples holds (unix time, bytes) pairs, to attribute the peak to a phase.
    """

    def __init__(self, pid: int | None = None, interval_seconds: float = 0.5):
        self.process = psutil.Process(pid or os.getpid())
        self.interval_seconds = interval_seconds
        self.peak_bytes = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            resident = self.resident_bytes()
            self.samples.append((time.time(), resident))
            self.peak_bytes = max(self.peak_bytes, resident)
            self._stop.wait(self.interval_seconds)

    def resident_bytes(self) -> int:
        total = 0
        try:
            processes = [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def peak_between(self, start: float, end: float) -> int | None:
        """The highest sample taken between two unix times (None: too short to sample)."""
        return max((size for moment, size in self.samples if start <= moment <= end), default=None)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self.resident_bytes())


class Stopwatch:
    """with Stopwatch() as watch: ...; watch.seconds"""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
