"""Beam's running modes: multi_processing against in_memory, for StatisticsGen and the Evaluator.

    python -m bench.beam_modes                      # 2 rounds on the newest run in outputs/
    python -m bench.beam_modes --output-dir /tmp/full --rounds 3
    python -m bench.beam_modes --quick              # a smoke run: 1 round, no warm-up

The pipeline runs its Beam components on Beam's FnApiRunner with the beam_pipeline_args
of pipeline/configs.py. The two modes compared are those args with only the direct
runner's mode and worker count changed (every other arg as the pipeline has it):

  in_memory         --direct_running_mode=in_memory --direct_num_workers=1: the bundles
                    run in this process, one at a time.
  multi_processing  --direct_running_mode=multi_processing --direct_num_workers=2 (--workers):
                    the runner starts that many SDK worker processes
                    (`python -m apache_beam.runners.worker.sdk_worker_main`) and sends them
                    the pipeline's stages over gRPC; each worker imports and unpickles the
                    code itself (TFDV, TFMA, the model) and the data crosses process
                    boundaries.

The SDK workers need tfx-bsl's missing `sql_util` stand-in: a fresh Python process fails
`import tensorflow_data_validation` with `cannot import name 'sql_util'` unless it imports
tfx first (docs/development.md), and a worker unpickles TFDV's code (StatisticsGen's
DoFns, coders in TFMA's pipeline) without importing tfx. The image loads
orchestration/sql_util_standin.py in every process from a .pth file (Dockerfile); a local
run gives it to the processes it starts (`in_child_processes`: PYTHONPATH gets a folder
whose sitecustomize.py imports it), and so does the bench (--no-worker-standin leaves it
out, and multi_processing fails). The JSON records whether
a fresh process imports TFDV with and without it (worker_import_check).

What is measured. For each component, the wall seconds of its executor's construction and
Do(), as the orchestrator runs it, in this process: the executor class, the output
artifact types and the exec properties are read from the component that
pipeline.pipeline.create_pipeline() builds (never restated here; the config is
PipelineConfig(output_dir=--output-dir), so the Evaluator's blessing threshold is the
default config's, which changes the blessing, not the metrics), with beam_pipeline_args
set on the executor's context (BaseBeamExecutor.Context, as for a BeamExecutorSpec). The
inputs are the newest pipeline run's in --output-dir (found through ML Metadata, only
read): StatisticsGen gets the ExampleGen's Examples (both splits); the Evaluator gets the
same Examples (it evaluates the eval split), the Trainer's Model, and no baseline (a
first-run evaluation of the candidate alone: components/evaluator/executor.py, TFX's
Evaluator with one change, is the executor). Outputs go to
bench/outputs/beam_modes/runs/<mode>-<component>-<round>/, never into the run's folder.

The two modes alternate (in_memory, multi_processing in round 1, multi_processing,
in_memory in round 2, ...) over --rounds rounds per component. The figure per component is
the median of its runs' seconds in each mode, and ratio = in_memory seconds /
multi_processing seconds (> 1: multi_processing is faster). Each run also records the
peak resident memory of this process and all its children (sampled every 0.5 s: the SDK
workers are children), the resident memory of this process just before the run, the
most child processes seen, and where the CPU time went: this process's CPU seconds, each
SDK worker's (read from the same samples: a worker's last half-second can be missed) and
"cores busy" = all of them over the wall seconds (2 at most here). Both modes' outputs
are checked to agree: StatisticsGen's example count and every feature's non-missing count
per split, equal in every run; the Evaluator's slices and metrics the same in every run
and each overall metric within 1e-6 across modes (the largest difference on any slice,
across modes and between runs of the same mode, is recorded too).

A warm-up (both components in both modes on the first 8 examples of each split, off the
clock) takes the imports, TensorFlow's start and the first model load out of round 1's
first run; --no-warmup skips it (--quick does).

What limits it: 2 CPU cores, possibly shared with other jobs (load averages are in the
JSON), so only the ratios within this run mean much. A worker process is not free: it
starts a Python interpreter, imports Beam, TFDV or TFMA and TensorFlow, and TFMA loads the
model once per worker; that fixed cost weighs more on a small input. Beam reads a TFRecord
file whole (its TFRecord source is not splittable) and the ExampleGen writes one file per
split, so a split's reading and the steps fused with it run in one worker. The in_memory
runner runs TensorFlow's own ops on both cores already (the Evaluator's model inference),
so two workers can only win the Python share of the work. Peak memory is this process's
plus its children's, so what an earlier run left allocated can show in a later one.

The decision rule the JSON records: multi_processing is suggested as the default when it
is faster for both components and by a clear margin for the Evaluator, the longer one
(Evaluator ratio >= 1.15, StatisticsGen ratio > 1); otherwise in_memory stays.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import contextlib
import gc
import logging
import os
import shutil
import statistics
import subprocess
import sys
import traceback

import psutil

from bench import common
from bench.transform import output_to, split_files
from pipeline import component_ids, configs, flags

NAME = "beam_modes"
SCRATCH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "outputs", NAME)
IN_MEMORY = "in_memory"
MULTI_PROCESSING = "multi_processing"
MODES = (IN_MEMORY, MULTI_PROCESSING)
COMPONENTS = (component_ids.STATISTICS_GEN, component_ids.EVALUATOR)
DEFAULT_WORKERS = 2
WARMUP_LIMIT = 8
METRIC_TOLERANCE = 1e-6
# The decision: multi_processing becomes the default only if it is faster for both, and
# by this much for the Evaluator (the longer of the two).
EVALUATOR_RATIO_NEEDED = 1.15
STATISTICS_GEN_RATIO_NEEDED = 1.0
MODE_FLAGS = ("--direct_running_mode", "--direct_num_workers")
BASELINE_KEY = "baseline_model"
# What a worker process does first when it unpickles StatisticsGen's or TFMA's code.
WORKER_IMPORT = "import tensorflow_data_validation"
# In the command line of Beam's SDK worker processes.
WORKER = "apache_beam.runners.worker.sdk_worker_main"


def mode_args(pipeline_args: list[str], mode: str, workers: int) -> list[str]:
    """The pipeline's beam_pipeline_args with the direct runner's mode and workers set."""
    args, skip_next = [], False
    for arg in pipeline_args:
        if skip_next:
            skip_next = False
            continue
        name = arg.split("=", 1)[0]
        if name in MODE_FLAGS:
            skip_next = "=" not in arg  # "--flag value" as two args
            continue
        args.append(arg)
    return [
        *args,
        f"--direct_running_mode={mode}",
        f"--direct_num_workers={1 if mode == IN_MEMORY else workers}",
    ]


def current_mode(pipeline_args: list[str]) -> str:
    """The direct runner's mode in the pipeline's args (Beam's default: in_memory)."""
    mode = IN_MEMORY
    for index, arg in enumerate(pipeline_args):
        if arg.startswith("--direct_running_mode="):
            mode = arg.split("=", 1)[1]
        elif arg == "--direct_running_mode" and index + 1 < len(pipeline_args):
            mode = pipeline_args[index + 1]
    return mode


# ---------------------------------------------------------------------------------------
# Set-up: the components as pipeline.py builds them, the run's artifacts.


def pipeline_components(config: configs.PipelineConfig) -> dict:
    """The pipeline's beam_pipeline_args and, per measured component, its executor class,
    exec properties and inputs/outputs, from the pipeline create_pipeline() builds."""
    from pipeline.pipeline import create_pipeline

    pipeline = create_pipeline(config)
    by_id = {c.id: c for c in pipeline.components}
    components = {}
    for component_id in COMPONENTS:
        component = by_id[component_id]
        components[component_id] = {
            "executor_class": component.executor_spec.executor_class,
            "exec_properties": dict(component.exec_properties),
            # {key: (producer component id, its output key)}
            "inputs": {
                key: (channel.producer_component_id, channel.output_key)
                for key, channel in component.inputs.items()
            },
            "outputs": {key: channel.type for key, channel in component.outputs.items()},
        }
    return {"beam_pipeline_args": list(pipeline.beam_pipeline_args), "components": components}


def tfx_artifact(mlmd_artifact, artifact_class):
    """A TFX artifact of this class over an ML Metadata artifact (its uri and properties)."""
    artifact = artifact_class()
    artifact.set_mlmd_artifact(mlmd_artifact)
    return artifact


def find_inputs(output_dir: str, components: dict) -> dict:
    """{component id: {input key: [TFX artifacts]}} from the newest run in output_dir: an
    ExampleGen's channel is the newest Examples (TFDS or folder), another the newest
    output of its producer; the baseline is left empty (no baseline)."""
    from tfx.types import standard_artifacts

    _, outputs, metadata_path = common.pipeline_outputs(output_dir)
    fix = f"{common.run_pipeline_first(output_dir)}, or pass --output-dir"
    classes = {"examples": standard_artifacts.Examples, "model": standard_artifacts.Model}
    inputs = {}
    for component_id, component in components.items():
        inputs[component_id] = {}
        for key, (producer, output_key) in component["inputs"].items():
            if key == BASELINE_KEY:
                inputs[component_id][key] = []
                continue
            if producer.endswith("ExampleGen"):
                found = common.newest_examples(outputs)
            else:
                found = outputs.get((producer, output_key))
            if found is None or key not in classes:
                raise SystemExit(
                    f"No {producer}.{output_key} for {component_id}'s {key!r} in "
                    f"{metadata_path}; {fix}."
                )
            inputs[component_id][key] = [tfx_artifact(found, classes[key])]
    return inputs


def cut_examples(examples, limit: int, uri: str):
    """A copy of an Examples artifact over the first `limit` records of each split."""
    import tensorflow as tf
    from tfx.types import artifact_utils, standard_artifacts

    shutil.rmtree(uri, ignore_errors=True)
    for split in artifact_utils.decode_split_names(examples.split_names):
        os.makedirs(os.path.join(uri, f"Split-{split}"))
        path = os.path.join(uri, f"Split-{split}", "data_tfrecord-00000-of-00001.gz")
        source = tf.data.TFRecordDataset(split_files(examples.uri, split), "GZIP")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for record in source.take(limit):
                writer.write(record.numpy())
    cut = standard_artifacts.Examples()
    cut.set_mlmd_artifact(type(examples.mlmd_artifact)())
    cut.mlmd_artifact.CopyFrom(examples.mlmd_artifact)
    cut.mlmd_artifact.ClearField("id")
    cut.uri = uri
    return cut


def with_examples(inputs: dict, examples) -> dict:
    """The components' inputs with these Examples in place of the run's."""
    return {
        component_id: {
            key: [examples] if key == "examples" else artifacts
            for key, artifacts in input_dict.items()
        }
        for component_id, input_dict in inputs.items()
    }


# ---------------------------------------------------------------------------------------
# The SDK workers' environment.


@contextlib.contextmanager
def worker_standin(enabled: bool):
    """With the sql_util stand-in in every Python process started meanwhile (the SDK
    workers), as a local run gives it (orchestration/sql_util_standin.py)."""
    from orchestration import sql_util_standin

    with sql_util_standin.in_child_processes() if enabled else contextlib.nullcontext():
        yield


def worker_import_check() -> dict:
    """Whether a fresh Python process, as an SDK worker starts, imports TFDV: without the
    stand-in and with it."""
    checks = {}
    for name, enabled in (("without_standin", False), ("with_standin", True)):
        with worker_standin(enabled):
            completed = subprocess.run(
                [sys.executable, "-c", WORKER_IMPORT],
                capture_output=True,
                text=True,
                cwd=configs.PROJECT_DIR,
            )
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        checks[name] = {
            "imports": completed.returncode == 0,
            "error": None if completed.returncode == 0 else (lines[-1] if lines else "?"),
        }
    return {"command": f"python -c '{WORKER_IMPORT}'", **checks}


def error_text(exception: BaseException) -> str:
    """An exception's type and message, the message's end kept: a worker's error carries
    the worker's whole traceback, and its cause is in the last line."""
    message = str(exception).strip()
    last_lines = [line for line in message.splitlines() if line.strip()][-1:]
    text = f"{type(exception).__name__}: {message}"
    if len(text) > 2000:
        text = text[:600] + " ... " + text[-1400:]
    if last_lines and len(message.splitlines()) > 1:
        text = f"{last_lines[0].strip()} ({text})"
    return text


# ---------------------------------------------------------------------------------------
# One run: a component's executor in one mode.


class PeakMemoryAndWorkers(common.PeakMemory):
    """common.PeakMemory that also keeps, from the same samples, the most child processes
    seen at once and each child's CPU seconds at its last sample (so a child's last
    half-second may be missed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.most_children = 0
        self.children_cpu = {}  # pid -> [an SDK worker?, CPU seconds]

    def resident_bytes(self) -> int:
        try:
            children = self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.most_children = max(self.most_children, len(children))
        for child in children:
            try:
                times = child.cpu_times()
                if child.pid not in self.children_cpu:
                    # The worker itself, not the shell Beam starts it through.
                    worker = WORKER in child.cmdline() and "python" in child.name()
                    self.children_cpu[child.pid] = [worker, 0.0]
                self.children_cpu[child.pid][1] = times.user + times.system
            except psutil.Error:
                pass
        return super().resident_bytes()

    def worker_cpu_seconds(self) -> list[float]:
        """The SDK worker processes' CPU seconds, most first."""
        return sorted((s for worker, s in self.children_cpu.values() if worker), reverse=True)

    def other_children_cpu_seconds(self) -> float:
        return sum(s for worker, s in self.children_cpu.values() if not worker)


def cpu_seconds() -> float:
    """This process's CPU seconds so far, all its threads."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def run_component(component: dict, input_dict: dict, beam_args: list[str], run_dir: str) -> dict:
    """One execution of the component's executor in a fresh output dir: construction +
    Do() timed, peak memory, the outputs' summary; a failure is recorded, not raised."""
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor

    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    output_dict = {}
    for key, artifact_class in component["outputs"].items():
        artifact = artifact_class()
        artifact.uri = os.path.join(run_dir, key)
        os.makedirs(artifact.uri)
        output_dict[key] = [artifact]
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(beam_args),
        tmp_dir=os.path.join(run_dir, "tmp"),
        unique_id=os.path.basename(run_dir),
    )
    log_path = os.path.join(run_dir, "executor.log")
    gc.collect()
    resident_before = psutil.Process().memory_info().rss
    load = os.getloadavg()[0]
    error = None
    with output_to(log_path):
        cpu_before = cpu_seconds()
        with PeakMemoryAndWorkers() as peak, common.Stopwatch() as watch:
            try:
                executor = component["executor_class"](context)
                executor.Do(input_dict, output_dict, dict(component["exec_properties"]))
            except Exception as exception:  # a failure is a finding: record it
                traceback.print_exc()  # into the run's log
                error = error_text(exception)
        own_cpu = cpu_seconds() - cpu_before
    workers_cpu = peak.worker_cpu_seconds()
    all_cpu = own_cpu + sum(workers_cpu) + peak.other_children_cpu_seconds()
    run = {
        "seconds": watch.seconds,
        "peak_rss_bytes": peak.peak_bytes,
        "resident_before_bytes": resident_before,
        "most_child_processes": peak.most_children,
        # Where the CPU time went: this process (in_memory: all the work; multi_processing:
        # the runner, moving data to and from the workers), each SDK worker, other children
        # (TFX's sdist of itself); cores busy = all of it over the wall seconds.
        "cpu_seconds_this_process": own_cpu,
        "cpu_seconds_workers": workers_cpu,
        "cpu_seconds_other_children": peak.other_children_cpu_seconds(),
        "cores_busy": all_cpu / watch.seconds if watch.seconds else None,
        "load_average_1min": load,
        "run_dir": run_dir,
        "log": log_path,
        "error": error,
    }
    if error is None:
        run["outputs"] = summarize_outputs(output_dict)
    return run


def summarize_outputs(output_dict: dict) -> dict:
    """What the agreement check compares: statistics' counts or the evaluation's metrics."""
    if "statistics" in output_dict:
        return statistics_summary(output_dict["statistics"][0])
    return evaluation_summary(output_dict["evaluation"][0], output_dict["blessing"][0])


def statistics_summary(statistics_artifact) -> dict:
    """{split: {num_examples, feature: non-missing count}} of a StatisticsGen output."""
    from tfx.components.statistics_gen import stats_artifact_utils
    from tfx.types import artifact_utils

    summary = {}
    for split in artifact_utils.decode_split_names(statistics_artifact.split_names):
        proto = stats_artifact_utils.load_statistics(statistics_artifact, split).proto()
        dataset = proto.datasets[0]
        features = {}
        for feature in dataset.features:
            kind = feature.WhichOneof("stats")
            name = ".".join(feature.path.step) or feature.name
            features[name] = getattr(feature, kind).common_stats.num_non_missing if kind else None
        summary[split] = {"num_examples": dataset.num_examples, "num_non_missing": features}
    return summary


def evaluation_summary(evaluation, blessing) -> dict:
    """{metrics: {slice: {metric: value}}, blessed} of an Evaluator output (the candidate's)."""
    from evaluation import tfma_metrics

    by_slice = tfma_metrics.metrics_by_model(evaluation.uri)[tfma_metrics.CANDIDATE]
    return {
        "metrics": {slice_name(key): values for key, values in sorted(by_slice.items())},
        "blessed": blessing.get_int_custom_property("blessed"),
    }


def slice_name(slice_key: tuple) -> str:
    return "overall" if not slice_key else ", ".join(f"{c}={v}" for c, v in slice_key)


# ---------------------------------------------------------------------------------------
# Agreement: every successful run's outputs against the first's.


def agreement(component_id: str, runs: list[dict]) -> dict:
    """Whether the runs' outputs agree, both modes included."""
    done = [run for run in runs if run["error"] is None]
    modes = sorted({run["mode"] for run in done})
    if not done:
        return {"agree": None, "modes_compared": modes, "note": "no run succeeded"}
    reference = done[0]["outputs"]
    if component_id == component_ids.STATISTICS_GEN:
        same = all(run["outputs"] == reference for run in done)
        result = {
            "agree": same if len(modes) == len(MODES) else None,
            "compared": "num_examples and each feature's num_non_missing, per split",
            "num_examples": {s: v["num_examples"] for s, v in reference.items()},
        }
    else:
        result = evaluation_agreement(done)
        result["agree"] = result["agree"] if len(modes) == len(MODES) else None
    result["modes_compared"] = modes
    result["runs_compared"] = len(done)
    return result


def metric_differences(first: dict, second: dict) -> tuple[float, float, bool]:
    """(max |difference| on the overall slice, on any slice, same slices and metrics) of
    two evaluations' {slice: {metric: value}}."""
    same_keys = first.keys() == second.keys() and all(
        first[s].keys() == second[s].keys() for s in first
    )
    overall = any_slice = 0.0
    for slice_key, values in first.items():
        for metric, value in values.items():
            difference = abs(second.get(slice_key, {}).get(metric, float("inf")) - value)
            any_slice = max(any_slice, difference)
            if slice_key == "overall":
                overall = max(overall, difference)
    return overall, any_slice, same_keys


def evaluation_agreement(done: list[dict]) -> dict:
    """The Evaluator's runs compared pairwise, across modes and within a mode: they agree
    when every run has the same slices and metrics and the overall values of runs in
    different modes are within METRIC_TOLERANCE. Within a mode, the runs show how much a
    rerun alone changes them (float sums are not bit-for-bit repeatable here)."""
    differences = {
        "across_modes": {"overall": 0.0, "any_slice": 0.0},
        "same_mode": {"overall": 0.0, "any_slice": 0.0},
    }
    same_keys = True
    for index, first in enumerate(done):
        for second in done[index + 1 :]:
            overall, any_slice, same = metric_differences(
                first["outputs"]["metrics"], second["outputs"]["metrics"]
            )
            same_keys &= same
            pair = "same_mode" if first["mode"] == second["mode"] else "across_modes"
            differences[pair]["overall"] = max(differences[pair]["overall"], overall)
            differences[pair]["any_slice"] = max(differences[pair]["any_slice"], any_slice)
    reference = done[0]["outputs"]
    return {
        "agree": same_keys and differences["across_modes"]["overall"] <= METRIC_TOLERANCE,
        "compared": (
            "the same slices and metrics in every run; every overall metric within "
            f"{METRIC_TOLERANCE} across modes (every slice's difference recorded)"
        ),
        "max_abs_difference": differences,
        "same_slices_and_metrics": same_keys,
        "slices": len(reference["metrics"]),
        "overall_metrics": reference["metrics"].get("overall", {}),
        "blessed": [run["outputs"]["blessed"] for run in done],
    }


# ---------------------------------------------------------------------------------------
# Measuring.


def warm_up(pipeline: dict, inputs: dict, mode_arguments: dict) -> None:
    """Nothing; runs each component in each mode on a few examples, off the clock."""
    examples = inputs[component_ids.STATISTICS_GEN]["examples"][0]
    tiny = cut_examples(examples, WARMUP_LIMIT, os.path.join(SCRATCH_DIR, "warm-up_examples"))
    tiny_inputs = with_examples(inputs, tiny)
    with common.Stopwatch() as warm:
        for component_id in COMPONENTS:
            for mode in MODES:
                run = run_component(
                    pipeline["components"][component_id],
                    tiny_inputs[component_id],
                    mode_arguments[mode],
                    os.path.join(SCRATCH_DIR, "runs", f"warm-up-{mode}-{component_id}"),
                )
                if run["error"]:
                    print(f"warm-up: {component_id} {mode} failed: {run['error'][:300]}")
    print(f"warm-up on {WARMUP_LIMIT} examples a split: {warm.seconds:.1f} s", flush=True)


def mode_order(round_index: int) -> tuple:
    """in_memory first in odd rounds (1, 3, ...), multi_processing first in even ones."""
    return MODES if round_index % 2 == 0 else MODES[::-1]


def measure(pipeline: dict, inputs: dict, mode_arguments: dict, rounds: int) -> list[dict]:
    """Every run: {round, component, mode, seconds, memory, outputs or error}."""
    runs = []
    for round_index in range(rounds):
        for component_id in COMPONENTS:
            for mode in mode_order(round_index):
                run_name = f"{mode}-{component_id}-{round_index + 1}"
                run = run_component(
                    pipeline["components"][component_id],
                    inputs[component_id],
                    mode_arguments[mode],
                    os.path.join(SCRATCH_DIR, "runs", run_name),
                )
                runs.append({"round": round_index + 1, "component": component_id, "mode": mode})
                runs[-1].update(run)
                outcome = f"failed: {run['error'][:300]}" if run["error"] else "ok"
                print(
                    f"round {round_index + 1}/{rounds}: {component_id} {mode}: "
                    f"{run['seconds']:.1f} s, peak {run['peak_rss_bytes'] / 2**30:.2f} GiB, "
                    f"{run['most_child_processes']} child processes, "
                    f"{run['cores_busy']:.2f} cores busy, {outcome}",
                    flush=True,
                )
    return runs


# ---------------------------------------------------------------------------------------
# Results.


def summarize(runs: list[dict]) -> list[dict]:
    """One row a component: both modes' median seconds, the ratio, memory, agreement."""
    rows = []
    for component_id in COMPONENTS:
        component_runs = [run for run in runs if run["component"] == component_id]
        row = {"component": component_id}
        for mode in MODES:
            mode_runs = [run for run in component_runs if run["mode"] == mode]
            done = [run for run in mode_runs if run["error"] is None]
            row[mode] = {
                "seconds_median": statistics.median(r["seconds"] for r in done) if done else None,
                "seconds": [r["seconds"] for r in done],
                "peak_rss_gib_max": max(r["peak_rss_bytes"] for r in mode_runs) / 2**30,
                "resident_before_gib_max": max(r["resident_before_bytes"] for r in mode_runs)
                / 2**30,
                "most_child_processes": max(r["most_child_processes"] for r in mode_runs),
                "cpu_seconds_this_process_median": median_of(done, "cpu_seconds_this_process"),
                "cpu_seconds_workers": [r["cpu_seconds_workers"] for r in done],
                "cores_busy_median": median_of(done, "cores_busy"),
                "runs": len(mode_runs),
                "failed": len(mode_runs) - len(done),
                "errors": sorted({r["error"] for r in mode_runs if r["error"]}),
            }
        in_memory, multi = row[IN_MEMORY]["seconds_median"], row[MULTI_PROCESSING]["seconds_median"]
        row["ratio"] = in_memory / multi if in_memory and multi else None
        row["ratios_per_round"] = round_ratios(component_runs)
        row["outputs"] = agreement(component_id, component_runs)
        rows.append(row)
    return rows


def median_of(runs: list[dict], key: str) -> float | None:
    return statistics.median(run[key] for run in runs) if runs else None


def round_ratios(component_runs: list[dict]) -> list[float]:
    """in_memory / multi_processing seconds within each round where both succeeded."""
    ratios = []
    for round_number in sorted({run["round"] for run in component_runs}):
        seconds = {
            run["mode"]: run["seconds"]
            for run in component_runs
            if run["round"] == round_number and run["error"] is None
        }
        if len(seconds) == len(MODES):
            ratios.append(seconds[IN_MEMORY] / seconds[MULTI_PROCESSING])
    return ratios


def decision(rows: list[dict], pipeline_mode: str) -> dict:
    """The suggested default mode, by the rule in the module's docstring."""
    ratios = {row["component"]: row["ratio"] for row in rows}
    evaluator = ratios.get(component_ids.EVALUATOR)
    statistics_gen = ratios.get(component_ids.STATISTICS_GEN)
    faster = (
        evaluator is not None
        and statistics_gen is not None
        and evaluator >= EVALUATOR_RATIO_NEEDED
        and statistics_gen > STATISTICS_GEN_RATIO_NEEDED
    )
    return {
        "rule": (
            f"multi_processing if the Evaluator's ratio >= {EVALUATOR_RATIO_NEEDED} and "
            f"StatisticsGen's > {STATISTICS_GEN_RATIO_NEEDED}, else in_memory "
            "(ratio = in_memory seconds / multi_processing seconds)"
        ),
        "ratios": ratios,
        "suggested_default": MULTI_PROCESSING if faster else IN_MEMORY,
        "pipeline_default_when_measured": pipeline_mode,
    }


HEADER = [
    "component",
    "in_memory s",
    "multi_processing s",
    "ratio",
    "ratios per round",
    "peak GiB in_memory",
    "peak GiB multi_processing",
    "outputs agree",
]


def table_rows(rows: list[dict]) -> list[list]:
    def seconds(mode_row):
        if mode_row["seconds_median"] is None:
            return f"failed ({mode_row['failed']}/{mode_row['runs']})"
        return mode_row["seconds_median"]

    agree = {True: "yes", False: "NO", None: "not compared"}
    return [
        [
            row["component"],
            seconds(row[IN_MEMORY]),
            seconds(row[MULTI_PROCESSING]),
            row["ratio"],
            " ".join(f"{r:.2f}" for r in row["ratios_per_round"]),
            row[IN_MEMORY]["peak_rss_gib_max"],
            row[MULTI_PROCESSING]["peak_rss_gib_max"],
            agree[row["outputs"]["agree"]],
        ]
        for row in rows
    ]


CPU_HEADER = [
    "component",
    "mode",
    "wall s",
    "CPU s, this process",
    "CPU s, each worker",
    "cores busy",
]


def cpu_table_rows(rows: list[dict]) -> list[list]:
    """Medians over rounds; the workers' CPU seconds of the round-1 run."""
    table = []
    for row in rows:
        for mode in MODES:
            mode_row = row[mode]
            workers = mode_row["cpu_seconds_workers"]
            table.append(
                [
                    row["component"],
                    mode,
                    mode_row["seconds_median"],
                    mode_row["cpu_seconds_this_process_median"],
                    " + ".join(f"{s:.1f}" for s in workers[0]) if workers else "",
                    mode_row["cores_busy_median"],
                ]
            )
    return table


def results_of(args, load_at_start, pipeline, mode_arguments, inputs, runs) -> dict:
    """The results file's content (write_results adds the machine and the commit)."""
    from tfx.types import artifact_utils

    rows = summarize(runs)
    pipeline_mode = current_mode(pipeline["beam_pipeline_args"])
    examples = inputs[component_ids.STATISTICS_GEN]["examples"][0]
    model = inputs[component_ids.EVALUATOR]["model"][0]
    return {
        "description": (
            "Wall seconds of StatisticsGen's and the Evaluator's executor (construction + "
            "Do(), in this process) with Beam's FnApiRunner in_memory (1 worker) against "
            "multi_processing, on the newest pipeline run's Examples and model; medians "
            "over alternating rounds; ratio = in_memory s / multi_processing s."
        ),
        "caveat": (
            "2 CPU cores, possibly shared with other jobs: only the ratios within this run "
            "are meaningful; see each run's load average."
        ),
        "inputs": {
            "examples_uri": examples.uri,
            "examples_per_split": {
                split: examples.get_int_custom_property(f"num_examples_{split}")
                for split in artifact_utils.decode_split_names(examples.split_names)
            },
            "model_uri": model.uri,
            "baseline": None,
        },
        "settings": {
            "pipeline_beam_pipeline_args": pipeline["beam_pipeline_args"],
            "mode_beam_pipeline_args": mode_arguments,
            "components": {
                component_id: {
                    "executor": f"{c['executor_class'].__module__}.{c['executor_class'].__name__}",
                    "exec_properties": {
                        k: v if isinstance(v, (str, int, float, type(None))) else str(v)
                        for k, v in c["exec_properties"].items()
                    },
                }
                for component_id, c in pipeline["components"].items()
            },
            "rounds": args.rounds,
            "workers": args.workers,
            "quick": args.quick,
            "warmup": not args.no_warmup,
            "load_average_at_start": load_at_start,
        },
        "rows": rows,
        "decision": decision(rows, pipeline_mode),
        "runs": [
            {k: v for k, v in run.items() if k not in ("outputs", "run_dir")}
            | {"outputs_summary": run_summary(run)}
            for run in runs
        ],
        "table": common.format_table(HEADER, table_rows(rows)),
        "cpu_table": common.format_table(CPU_HEADER, cpu_table_rows(rows)),
    }


def run_summary(run: dict) -> dict | None:
    """A run's outputs in short, for the JSON's list of runs."""
    outputs = run.get("outputs")
    if outputs is None:
        return None
    if "metrics" in outputs:
        return {"overall": outputs["metrics"].get("overall"), "blessed": outputs["blessed"]}
    return {split: values["num_examples"] for split, values in outputs.items()}


def print_report(results: dict, path: str) -> None:
    print()
    print(
        "Seconds: median of executor construction + Do(); ratio = in_memory s / "
        "multi_processing s (> 1: multi_processing faster); peak: this process + children"
    )
    print(results["table"])
    print()
    print("Where the CPU went (medians; cores busy = all CPU seconds / wall seconds):")
    print(results["cpu_table"])
    for row in results["rows"]:
        for mode in MODES:
            for error in row[mode]["errors"]:
                print(f"{row['component']} {mode} failed: {error[:500]}")
    decided = results["decision"]
    print(f"Suggested default: {decided['suggested_default']} ({decided['rule']})")
    print(f"Results: {path}")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output-dir",
        default=configs.DEFAULT_OUTPUT_DIR,
        help="a finished pipeline run to take Examples and the model from (only read)",
    )
    parser.add_argument(
        "--rounds", type=flags.at_least(1), help="rounds per component (default 2; quick 1)"
    )
    parser.add_argument(
        "--workers",
        type=flags.at_least(2),
        default=DEFAULT_WORKERS,
        help=f"multi_processing's --direct_num_workers (default {DEFAULT_WORKERS})",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, no warm-up")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help=f"skip the off-the-clock warm-up on {WARMUP_LIMIT} examples a split",
    )
    parser.add_argument(
        "--no-worker-standin",
        action="store_true",
        help="start the SDK workers without the sql_util stand-in (as the venv does: they "
        "fail to unpickle TFDV's code)",
    )
    parser.add_argument(
        "--results",
        help=f"where the JSON goes (default bench/results/{NAME}.json; with --quick, "
        f"bench/outputs/{NAME}/{NAME}_quick.json)",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.no_warmup = args.no_warmup or args.quick
    args.results = args.results or (
        os.path.join(SCRATCH_DIR, f"{NAME}_quick.json")
        if args.quick
        else os.path.join(common.RESULTS_DIR, f"{NAME}.json")
    )
    return args


def main(argv=None):
    args = parse_args(argv)
    output_dir = os.path.abspath(args.output_dir)
    os.makedirs(SCRATCH_DIR, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    load_at_start = [round(load, 2) for load in os.getloadavg()]

    import tfx  # noqa: F401  (before TFDV: tfx installs the stand-in TFDV 1.16 needs)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)
    pipeline = pipeline_components(configs.PipelineConfig(output_dir=output_dir))
    inputs = find_inputs(output_dir, pipeline["components"])
    mode_arguments = {
        mode: mode_args(pipeline["beam_pipeline_args"], mode, args.workers) for mode in MODES
    }
    examples = inputs[component_ids.STATISTICS_GEN]["examples"][0]
    print(f"Examples: {examples.uri}; model: {inputs[component_ids.EVALUATOR]['model'][0].uri}")
    for mode, beam_args in mode_arguments.items():
        print(f"{mode}: {' '.join(beam_args)}")

    import_check = worker_import_check()
    print(
        f"A fresh process ({import_check['command']}): "
        + "; ".join(
            f"{name.replace('_', ' ')}: " + ("imports" if check["imports"] else check["error"])
            for name, check in import_check.items()
            if name != "command"
        ),
        flush=True,
    )
    with worker_standin(not args.no_worker_standin):
        if not args.no_warmup:
            warm_up(pipeline, inputs, mode_arguments)
        runs = measure(pipeline, inputs, mode_arguments, args.rounds)

    results = results_of(args, load_at_start, pipeline, mode_arguments, inputs, runs)
    results["settings"]["worker_standin"] = not args.no_worker_standin
    results["worker_import_check"] = import_check
    path = common.write_results(NAME, results, args.results)
    print_report(results, path)


if __name__ == "__main__":
    sys.exit(main())
