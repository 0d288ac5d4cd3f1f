"""Preprocessing throughput: the pipeline's Transform against TFX's default one.

    python -m bench.transform            # 3 interleaved rounds over all examples
    python -m bench.transform --quick    # a smoke run: 1 round, first 200 examples a split
    python -m bench.transform --rounds 5 --limit 500
    python -m bench.transform --variants after+materialize,after+statistics

By default TFX's Transform writes the transformed examples and computes statistics over
them. pipeline/pipeline.py configures it with materialize=False, disable_statistics=True
instead, and the Trainer (models/trainer.py `_load_examples`) applies the exported
Transform graph to the raw examples itself, once, and caches the result in memory: the
per-example preprocessing work is in the Trainer's first pass, not in the Transform
component. The table has one row for each of:

  before         the Transform with materialize=True and statistics on (TFX's defaults).
  after          the Transform exactly as pipeline.py configures it: the
                 materialize / disable_statistics settings are read from the component
                 that pipeline.create_pipeline() builds (whether `transformed_examples` is
                 among its outputs, its `disable_statistics` exec property), never
                 restated here, so this row follows pipeline.py.
  after + Trainer's pass
                 the `after` Transform's time plus the Trainer's own first pass over the
                 raw examples of both splits through that run's exported graph:
                 tft.TFTransformOutput, models.trainer._load_examples(train and eval
                 files), each dataset iterated to the end as trainer._count does (which
                 fills its in-memory cache). The data accessor and file patterns come
                 from TFX's fn_args_utils.get_common_fn_args, as the Trainer component
                 builds run_fn's fn_args (and as bench/trainer_input.py does). This is the
                 honest end-to-end preprocessing figure of the current pipeline.

Each row is compared with the same preprocessing_fn (loaded from the same exec
properties, same custom_config) run with plain tf.data over the same gzip TFRecord files:
TFRecordDataset -> batch(32) -> parse_example with the schema's raw feature spec ->
preprocessing_fn -> iterate to the end, the output discarded. ratio = the row's
examples/s over tf.data's examples/s; the goal is ratio >= 0.5.

How. The Transform executor (tfx.components.transform.executor.Executor) is constructed
and Do() called in this process, as the orchestrator does, on the Examples and Schema
artifacts of the newest pipeline run in --output-dir (default outputs/, found through ML
Metadata, only read), with the pipeline's exec properties and beam_pipeline_args
(preprocessing_fn named by its import path, as create_pipeline() gives it). Its
outputs go to bench/outputs/transform/runs/<row>/, never into outputs/. A Transform's
time is its executor's construction + Do(), fixed costs included (TFX's sdist of itself,
tracing, building and running the Beam graph, writing the SavedModel). The machine is
shared, so absolute figures drift with the load: every Transform run is paired with a
tf.data run just before it and its ratio is taken against that one; the order of the
configurations rotates from round to round, and the table gives medians over rounds. A
warm-up (tf.data, each Transform and the Trainer's pass on 8 examples a split, off the
clock) takes imports and first tracing out of round 1.

Also measured: peak resident memory of the whole bench process during each row's work
(TensorFlow's own ~1 GiB included; the Trainer pass's peak includes its cache of the
transformed examples), and a phase profile: Beam's sampled per-step times of every
`before` and `after` run, grouped into phases, medians over rounds.

Caveats: 2 CPU cores shared with other jobs (load averages are in the JSON); tf.data and
the Trainer's pass decode on both cores (map_fn, parallel map) while Beam's in_memory
runner is mostly one Python thread, so contention does not slow all sides alike; fixed
costs (a few seconds) weigh more on small inputs (--quick, --limit); tf.data writes
nothing and computes no statistics, which is the difference the ratio measures; the
Trainer's pass parses only the image and mask features, tf.data all raw features; peak
memory is the process's, so what an earlier run left allocated can show in a later one.

--variants adds Transform-only rows, "before" or "after" changed by "+"-joined changes:
materialize, no_materialize, statistics, disable_statistics
(e.g. after+materialize: where the time went without the statistics).
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import contextlib
import dataclasses
import gc
import json
import logging
import os
import shutil
import statistics
import sys

from bench import common
from pipeline import component_ids, configs, flags

NAME = "transform"
SCRATCH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "outputs", "transform")
GOAL = 0.5
TFDATA_BATCH_SIZE = 32
QUICK_LIMIT = 200
WARMUP_LIMIT = 8
# Row names.
BEFORE = "before"
AFTER = "after"
AFTER_WITH_TRAINER = "after + Trainer's pass"
# TFX's Transform defaults: how pipeline.py configured the component until the change.
BEFORE_SETTINGS = {"materialize": True, "disable_statistics": False}
CHANGES = {
    "materialize": ("materialize", True),
    "no_materialize": ("materialize", False),
    "statistics": ("disable_statistics", False),
    "disable_statistics": ("disable_statistics", True),
}


def pipeline_components(config: configs.PipelineConfig) -> dict:
    """The Transform and Trainer as pipeline.py builds them now (read, not restated)."""
    from pipeline.pipeline import create_pipeline

    pipeline = create_pipeline(config)
    by_id = {c.id: c for c in pipeline.components}
    transform, trainer = by_id[component_ids.TRANSFORM], by_id[component_ids.TRAINER]
    trainer_examples = trainer.inputs["examples"]
    if not trainer_examples.producer_component_id.endswith("ExampleGen"):
        raise SystemExit(
            "pipeline.py's Trainer reads its examples from "
            f"{trainer_examples.producer_component_id}.{trainer_examples.output_key}, not "
            "from the ExampleGen: this bench's 'Trainer's pass' (raw examples through the "
            "Transform graph in models/trainer.py _load_examples) no longer matches it."
        )
    return {
        "transform_exec_properties": dict(transform.exec_properties),
        "transform_outputs": sorted(transform.outputs),
        "beam_pipeline_args": list(pipeline.beam_pipeline_args),
        "trainer_examples_from": (
            f"{trainer_examples.producer_component_id}.{trainer_examples.output_key}"
        ),
    }


def after_settings(pipeline: dict) -> dict:
    return {
        "materialize": "transformed_examples" in pipeline["transform_outputs"],
        "disable_statistics": bool(
            pipeline["transform_exec_properties"].get("disable_statistics") or 0
        ),
    }


def row_settings(name: str, pipeline: dict | None) -> dict:
    """A Transform row's name -> {materialize, disable_statistics}."""
    base, *changes = name.split("+")
    if base == BEFORE:
        settings = dict(BEFORE_SETTINGS)
    elif base == AFTER:
        settings = after_settings(pipeline) if pipeline else dict(BEFORE_SETTINGS)
    else:
        raise ValueError(f"{name!r}: a row starts with 'before' or 'after'; see --help.")
    for change in changes:
        if change not in CHANGES:
            raise ValueError(f"Unknown change {change!r} in {name!r}; one of {sorted(CHANGES)}.")
        key, value = CHANGES[change]
        settings[key] = value
    return settings


# ---------------------------------------------------------------------------------------
# Inputs: the run's Examples and Schema, optionally cut to the first N records a split.


def find_inputs(output_dir: str) -> tuple:
    """(Examples, Schema) MLMD artifacts of the newest run in output_dir."""
    _, outputs, _ = common.pipeline_outputs(output_dir)
    examples = common.newest_examples(outputs)
    schema = outputs.get((component_ids.SCHEMA_GEN, "schema"))
    if examples is None or schema is None:
        raise SystemExit(
            f"No ExampleGen examples and SchemaGen schema in {output_dir}; "
            f"{common.run_pipeline_first(output_dir)}, or pass --output-dir."
        )
    return examples, schema


def split_files(examples_uri: str, split: str) -> list[str]:
    import glob

    return sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))


def prepare_examples(mlmd_examples, limit: int | None):
    """A TFX Examples artifact over the run's files, or over a copy (under the scratch
    dir) of the first `limit` records of each split."""
    import tensorflow as tf
    from tfx.types import artifact_utils, standard_artifacts

    splits = artifact_utils.decode_split_names(mlmd_examples.properties["split_names"].string_value)
    uri = mlmd_examples.uri
    if limit:
        uri = os.path.join(SCRATCH_DIR, f"examples_first_{limit}")
        shutil.rmtree(uri, ignore_errors=True)
        for split in splits:
            os.makedirs(os.path.join(uri, f"Split-{split}"))
            path = os.path.join(uri, f"Split-{split}", "data_tfrecord-00000-of-00001.gz")
            source = tf.data.TFRecordDataset(split_files(mlmd_examples.uri, split), "GZIP")
            with tf.io.TFRecordWriter(path, options="GZIP") as writer:
                for record in source.take(limit):
                    writer.write(record.numpy())
    examples = standard_artifacts.Examples()
    examples.uri = uri
    examples.split_names = artifact_utils.encode_split_names(splits)
    for name in ("file_format", "payload_format"):
        if name in mlmd_examples.custom_properties:
            examples.set_string_custom_property(
                name, mlmd_examples.custom_properties[name].string_value
            )
    return examples, splits


def count_records(files: list[str]) -> int:
    import tensorflow as tf

    return int(tf.data.TFRecordDataset(files, "GZIP").reduce(0, lambda n, _: n + 1))


@contextlib.contextmanager
def output_to(log_path: str):
    """Sends this process's stdout and stderr to a file (Beam, TFX and TensorFlow print
    pages), at the file-descriptor level."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


# ---------------------------------------------------------------------------------------
# The measured paths.


def run_transform(name: str, settings: dict, examples, schema_uri: str, pipeline: dict) -> dict:
    """One Transform execution in a fresh output dir -> seconds, peak memory, Beam's
    per-step times. Timed as the orchestrator runs it: the executor's construction (where
    TFX builds its sdist) and Do()."""
    from tfx.components.transform import executor as transform_executor
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.types import standard_artifacts
    from tfx.types import standard_component_specs as specs

    run_dir = os.path.join(SCRATCH_DIR, "runs", name)
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)

    schema = standard_artifacts.Schema()
    schema.uri = schema_uri
    input_dict = {specs.EXAMPLES_KEY: [examples], specs.SCHEMA_KEY: [schema]}

    def output(artifact_type, key):
        artifact = artifact_type()
        artifact.uri = os.path.join(run_dir, key)
        os.makedirs(artifact.uri)
        return [artifact]

    # The outputs the Transform component declares (its component.py) for these settings.
    output_dict = {
        specs.TRANSFORM_GRAPH_KEY: output(standard_artifacts.TransformGraph, "transform_graph"),
        specs.UPDATED_ANALYZER_CACHE_KEY: output(
            standard_artifacts.TransformCache, "updated_analyzer_cache"
        ),
    }
    if settings["materialize"]:
        output_dict[specs.TRANSFORMED_EXAMPLES_KEY] = output(
            standard_artifacts.Examples, "transformed_examples"
        )
    if not settings["disable_statistics"]:
        for key, artifact_type in (
            (specs.PRE_TRANSFORM_SCHEMA_KEY, standard_artifacts.Schema),
            (specs.PRE_TRANSFORM_STATS_KEY, standard_artifacts.ExampleStatistics),
            (specs.POST_TRANSFORM_SCHEMA_KEY, standard_artifacts.Schema),
            (specs.POST_TRANSFORM_STATS_KEY, standard_artifacts.ExampleStatistics),
            (specs.POST_TRANSFORM_ANOMALIES_KEY, standard_artifacts.ExampleAnomalies),
        ):
            output_dict[key] = output(artifact_type, key)

    exec_properties = {
        specs.MODULE_FILE_KEY: None,
        specs.MODULE_PATH_KEY: None,
        specs.PREPROCESSING_FN_KEY: None,
        specs.STATS_OPTIONS_UPDATER_FN_KEY: None,
        **pipeline["transform_exec_properties"],
        specs.DISABLE_STATISTICS_KEY: int(settings["disable_statistics"]),
    }
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(pipeline["beam_pipeline_args"]),
        tmp_dir=os.path.join(run_dir, "tmp"),
        unique_id=name,
    )
    beam_pipelines = []
    with output_to(os.path.join(run_dir, "executor.log")):
        with common.PeakMemory() as peak, common.Stopwatch() as watch:
            executor = transform_executor.Executor(context)
            # Keep the Beam pipelines the executor makes (unchanged), for their metrics:
            # Pipeline.__exit__ stores its run's result on the pipeline.
            make_beam_pipeline = executor._make_beam_pipeline

            def recording_make_beam_pipeline():
                beam_pipelines.append(make_beam_pipeline())
                return beam_pipelines[-1]

            executor._make_beam_pipeline = recording_make_beam_pipeline
            executor.Do(input_dict, output_dict, exec_properties)
    steps = {}
    for beam_pipeline in beam_pipelines:
        result = getattr(beam_pipeline, "result", None)
        if result is not None:
            for step, msecs in beam_step_msecs(result).items():
                steps[step] = steps.get(step, 0.0) + msecs
    return {
        "seconds": watch.seconds,
        "peak_rss_bytes": peak.peak_bytes,
        "run_dir": run_dir,
        "transform_graph": output_dict[specs.TRANSFORM_GRAPH_KEY][0],
        "beam_step_msecs": steps,
    }


def run_trainer_pass(examples, transform_graph, custom_config: dict, log_path: str) -> dict:
    """The Trainer's first pass over both splits of the raw examples, through the
    Transform graph: run_fn's TFTransformOutput and _load_examples, each split iterated
    to the end as _count does (filling _load_examples's cache). fn_args as the Trainer
    component builds them (fn_args_utils.get_common_fn_args)."""
    import tensorflow_transform as tft

    from models import trainer

    with output_to(log_path):
        with common.PeakMemory() as peak, common.Stopwatch() as watch:
            fn_args = common.trainer_fn_args(examples, transform_graph, custom_config)
            tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
            counts = {}
            for split, files in (("train", fn_args.train_files), ("eval", fn_args.eval_files)):
                dataset = trainer._load_examples(files, fn_args.data_accessor, tf_transform_output)
                counts[split] = trainer._count(dataset)
                del dataset  # drop the cache (the Trainer keeps it for training)
    gc.collect()
    return {"seconds": watch.seconds, "peak_rss_bytes": peak.peak_bytes, "examples": counts}


def load_preprocessing_fn(exec_properties: dict):
    """The preprocessing_fn the executor loads, from the same exec properties."""
    from tfx.components.util import udf_utils

    return udf_utils.get_fn(exec_properties, "preprocessing_fn")


def run_tfdata(files: list[str], feature_spec: dict, preprocessing_fn, custom_config: dict):
    """The same preprocessing_fn with plain tf.data -> examples, seconds, peak memory."""
    import tensorflow as tf

    from models import features

    def parse_and_transform(serialized):
        parsed = tf.io.parse_example(serialized, feature_spec)
        return preprocessing_fn(parsed, custom_config)

    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    dataset = dataset.batch(TFDATA_BATCH_SIZE).map(parse_and_transform)
    count = 0
    with common.PeakMemory() as peak, common.Stopwatch() as watch:
        for batch in dataset:
            count += int(batch[features.TRANSFORMED_IMAGE_KEY].shape[0])
    return {"examples": count, "seconds": watch.seconds, "peak_rss_bytes": peak.peak_bytes}


# ---------------------------------------------------------------------------------------
# Phase profile: Beam's per-step times.

PHASES = (
    # (phase, a substring of the Beam step name), first match wins.
    ("post-transform statistics", "GenerateAndValidateStats"),
    ("post-transform statistics", "FlattenTransformedDatasets"),
    ("post-transform statistics", "WaitForTransformWrite"),
    ("post-transform statistics", "ExtractRecordBatches"),
    ("pre-transform statistics", "GenerateStats[FlattenedAnalysisDataset]"),
    ("pre-transform statistics", "FlattenAnalysisDatasets"),
    ("materialization: encode tf.Examples", "/EncodeAndSerialize"),
    ("materialization: write gzip TFRecords", "EncodeAndWrite"),
    ("preprocessing_fn (Transform step)", "Transform[TransformIndex"),
    ("read + decode input", "TFXIOReadAndDecode"),
    ("analysis", "Analyze"),
    ("analysis", "OptimizeRun"),
    ("write transform graph / metadata", "WriteTransformFn"),
    ("write transform graph / metadata", "WriteMetadata"),
)


def beam_step_msecs(beam_result) -> dict[str, float]:
    """{Beam step: msecs} from the runner's sampled total_msecs (start+process+finish)."""
    from apache_beam.metrics import monitoring_infos

    totals = {}
    try:
        infos = beam_result.monitoring_metrics().monitoring_infos()
    except (AttributeError, NotImplementedError):
        return totals
    for info in infos:
        if info.urn != monitoring_infos.TOTAL_MSECS_URN:
            continue
        step = monitoring_infos.get_step_name(info) or "(none)"
        totals[step] = totals.get(step, 0.0) + float(monitoring_infos.extract_counter_value(info))
    return totals


def phase_seconds(step_msecs: dict[str, float]) -> dict[str, float]:
    phases = {phase: 0.0 for phase, _ in PHASES}
    phases["other"] = 0.0
    for step, msecs in step_msecs.items():
        phase = next((p for p, fragment in PHASES if fragment in step), "other")
        phases[phase] += msecs / 1000
    return phases


def profile_of(runs: list[dict]) -> dict:
    """Medians over rounds: wall, in Beam steps, outside them, per phase."""
    per_run = [phase_seconds(r["beam_step_msecs"]) for r in runs]
    in_steps = [sum(p.values()) for p in per_run]
    return {
        "wall_seconds": statistics.median(r["seconds"] for r in runs),
        "beam_steps_seconds": statistics.median(in_steps),
        "outside_beam_steps_seconds": statistics.median(
            r["seconds"] - s for r, s in zip(runs, in_steps)
        ),
        "phase_seconds": {
            phase: statistics.median(p[phase] for p in per_run) for phase in per_run[0]
        },
    }


# ---------------------------------------------------------------------------------------
# Setting up: the flags, what every run shares, the inputs.


@dataclasses.dataclass(frozen=True)
class Bench:
    """What every measured run shares: pipeline.py's settings, preprocessing_fn, schema."""

    pipeline: dict  # pipeline_components()
    settings: dict  # Transform row -> {materialize, disable_statistics}, in the rows' order
    preprocessing_fn: object
    transform_custom_config: dict
    trainer_custom_config: dict
    schema_uri: str
    feature_spec: dict

    def tfdata(self, files):
        """tf.data's run of the preprocessing_fn over these files (see run_tfdata)."""
        return run_tfdata(
            files, self.feature_spec, self.preprocessing_fn, self.transform_custom_config
        )

    def transform(self, name, examples, run_name=None):
        """A Transform run with the settings of the row `name` (see run_transform)."""
        return run_transform(
            run_name or name, self.settings[name], examples, self.schema_uri, self.pipeline
        )

    def trainer_pass(self, examples, measured):
        """The Trainer's pass through the graph of the Transform run `measured`."""
        return run_trainer_pass(
            examples,
            measured["transform_graph"],
            self.trainer_custom_config,
            os.path.join(measured["run_dir"], "trainer_pass.log"),
        )


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The examples every measured run reads, and the schema."""

    source: object  # the run's Examples in ML Metadata
    schema: object  # the run's Schema in ML Metadata
    examples: object  # a TFX Examples artifact over the source's files, or a cut copy
    splits: list
    files: list  # of all splits
    per_split: dict  # split -> examples
    total: int


def parse_args(argv):
    """The flags, with the defaults that depend on --quick filled in and --variants split."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output-dir",
        default=configs.DEFAULT_OUTPUT_DIR,
        help="a finished pipeline run to take Examples and Schema from (only read)",
    )
    parser.add_argument(
        "--rounds", type=flags.at_least(1), help="interleaved rounds (default 3; quick 1)"
    )
    parser.add_argument(
        "--limit", type=flags.at_least(1), help="use only the first N examples of each split"
    )
    parser.add_argument(
        "--variants",
        default="",
        help="extra Transform-only rows, comma-separated, e.g. after+materialize (see above)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: 1 round on the first {QUICK_LIMIT} examples of each split",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the off-the-clock warm-up on 8 examples"
    )
    parser.add_argument(
        "--results",
        help="where the JSON goes (default bench/results/transform.json; with --quick, "
        "bench/outputs/transform/transform_quick.json, so a smoke run keeps the figures)",
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.limit = args.limit or (QUICK_LIMIT if args.quick else None)
    args.results = args.results or (
        os.path.join(SCRATCH_DIR, "transform_quick.json")
        if args.quick
        else os.path.join(common.RESULTS_DIR, f"{NAME}.json")
    )
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for name in args.variants:
        try:
            row_settings(name, None)  # unknown names fail before the half-minute imports
        except ValueError as error:
            parser.error(str(error))
    return args


def set_up(output_dir: str, transform_rows: list[str], limit: int | None) -> tuple:
    """(Bench, Inputs): pipeline.py's settings, and the examples and schema of the run."""
    import tfx  # noqa: F401  (before TFDV: tfx installs the stand-in TFDV 1.16 needs)
    from absl import logging as absl_logging
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tensorflow_transform.tf_metadata import schema_utils
    from tfx.utils import io_utils

    absl_logging.set_verbosity(absl_logging.WARNING)
    config = configs.PipelineConfig(output_dir=output_dir)
    pipeline = pipeline_components(config)
    settings = {name: row_settings(name, pipeline) for name in transform_rows}
    transform_custom_config = json.loads(pipeline["transform_exec_properties"]["custom_config"])
    preprocessing_fn = load_preprocessing_fn(pipeline["transform_exec_properties"])
    convention = configs.mask_convention(config).to_json_dict()
    trainer_custom_config = {**dataclasses.asdict(config.training), "mask_convention": convention}

    inputs = load_inputs(output_dir, limit)
    schema_file = io_utils.get_only_uri_in_dir(inputs.schema.uri)
    schema = io_utils.parse_pbtxt_file(schema_file, schema_pb2.Schema())
    bench = Bench(
        pipeline=pipeline,
        settings=settings,
        preprocessing_fn=preprocessing_fn,
        transform_custom_config=transform_custom_config,
        trainer_custom_config=trainer_custom_config,
        schema_uri=inputs.schema.uri,
        feature_spec=schema_utils.schema_as_feature_spec(schema).feature_spec,
    )
    print_set_up(bench, inputs, schema_file)
    return bench, inputs


def load_inputs(output_dir: str, limit: int | None) -> Inputs:
    """Inputs: the newest run's examples (or their first `limit` a split), counted."""
    source, schema = find_inputs(output_dir)
    examples, splits = prepare_examples(source, limit)
    files = [f for split in splits for f in split_files(examples.uri, split)]
    per_split = {split: count_records(split_files(examples.uri, split)) for split in splits}
    return Inputs(
        source=source,
        schema=schema,
        examples=examples,
        splits=splits,
        files=files,
        per_split=per_split,
        total=sum(per_split.values()),
    )


def print_set_up(bench: Bench, inputs: Inputs, schema_file: str) -> None:
    """Nothing; prints the inputs and each row's Transform settings."""
    print(f"Examples: {inputs.examples.uri} {inputs.per_split}; schema: {schema_file}")
    print(
        "Transform settings: "
        + "; ".join(
            f"{name}: materialize={s['materialize']}, disable_statistics={s['disable_statistics']}"
            for name, s in bench.settings.items()
        )
        + f" (after: from pipeline.py); Trainer reads {bench.pipeline['trainer_examples_from']}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------
# Measuring: a warm-up, then interleaved rounds.


def warm_up(bench: Bench, inputs: Inputs, transform_rows: list[str]) -> None:
    """Nothing; runs tf.data, each Transform and the Trainer's pass on a few examples."""
    # Off the clock: TensorFlow's first ops, the imports and first tracing a first
    # Transform and a first Trainer pass pay.
    tiny, _ = prepare_examples(inputs.source, WARMUP_LIMIT)
    with common.Stopwatch() as warm:
        bench.tfdata([f for split in inputs.splits for f in split_files(tiny.uri, split)])
        for name in transform_rows:
            measured = bench.transform(name, tiny, run_name=f"warm-up_{name}")
            if name == AFTER:
                bench.trainer_pass(tiny, measured)
    print(f"warm-up on {WARMUP_LIMIT} examples a split: {warm.seconds:.1f} s", flush=True)


def measure_rounds(bench: Bench, inputs: Inputs, transform_rows: list[str], rounds: int) -> list:
    """One dict a round: its load average and, per row, its tf.data run and its own runs."""
    measurements = []
    for round_index in range(rounds):
        # Each Transform run right after its own tf.data run (the load drifts within a
        # round); the rows' order rotates from round to round.
        shift = round_index % len(transform_rows)
        measurement = {"load_average_1min": os.getloadavg()[0], "runs": {}}
        for name in transform_rows[shift:] + transform_rows[:shift]:
            run, message = measure_row(bench, inputs, name, first_round=round_index == 0)
            measurement["runs"][name] = run
            print(f"round {round_index + 1}/{rounds}: {message}", flush=True)
        measurements.append(measurement)
    return measurements


def measure_row(bench: Bench, inputs: Inputs, name: str, first_round: bool) -> tuple:
    """({tfdata, transform[, trainer_pass]: the row's runs}, a progress message)."""
    reference = bench.tfdata(inputs.files)
    if reference["examples"] != inputs.total:
        raise RuntimeError(f"tf.data saw {reference['examples']} examples, not {inputs.total}")
    measured = bench.transform(name, inputs.examples)
    run = {"tfdata": reference, "transform": measured}
    message = f"tf.data {reference['seconds']:.1f} s, {name} {measured['seconds']:.1f} s"
    # The first round checks that a materializing Transform wrote every example.
    if bench.settings[name]["materialize"] and first_round:
        out = os.path.join(measured["run_dir"], "transformed_examples")
        written = {split: count_records(split_files(out, split)) for split in inputs.splits}
        if written != inputs.per_split:
            raise RuntimeError(f"{name} wrote {written}, expected {inputs.per_split}")
    if name == AFTER:
        run["trainer_pass"] = bench.trainer_pass(inputs.examples, measured)
        if run["trainer_pass"]["examples"] != inputs.per_split:
            raise RuntimeError(
                f"The Trainer's pass saw {run['trainer_pass']['examples']}, "
                f"expected {inputs.per_split}"
            )
        message += f" + Trainer's pass {run['trainer_pass']['seconds']:.1f} s"
    return run, message


# ---------------------------------------------------------------------------------------
# Results: the rows, the phase profile, the JSON.


def summary_rows(measurements: list, settings: dict, total: int) -> list[dict]:
    """The table's rows: before, after, after + Trainer's pass, then the --variants."""
    summary = [
        summarize_row(BEFORE, BEFORE, measurements, settings, total),
        summarize_row(AFTER, AFTER, measurements, settings, total),
    ]
    summary.append(
        summarize_row(AFTER_WITH_TRAINER, AFTER, measurements, settings, total, with_trainer=True)
    )
    summary += [
        summarize_row(name, name, measurements, settings, total)
        for name in settings
        if name not in (BEFORE, AFTER)
    ]
    return summary


def summarize_row(name, source, measurements, settings, total, with_trainer=False) -> dict:
    """A row: medians over rounds of the `source` row's runs, each ratio against its own
    tf.data run."""
    runs = [m["runs"][source] for m in measurements]
    seconds = [
        r["transform"]["seconds"] + (r["trainer_pass"]["seconds"] if with_trainer else 0)
        for r in runs
    ]
    tfdata_seconds = [r["tfdata"]["seconds"] for r in runs]
    ratios = [t / s for t, s in zip(tfdata_seconds, seconds)]
    peaks = [
        max(
            r["transform"]["peak_rss_bytes"],
            r["trainer_pass"]["peak_rss_bytes"] if with_trainer else 0,
        )
        for r in runs
    ]
    summary = {
        "row": name,
        "pipeline_current": source == AFTER,
        "transform_settings": settings[source],
        "includes_trainer_pass": with_trainer,
        "seconds_median": statistics.median(seconds),
        "transform_seconds_median": statistics.median(r["transform"]["seconds"] for r in runs),
        "examples_per_second_median": total / statistics.median(seconds),
        "tfdata_examples_per_second_median": total / statistics.median(tfdata_seconds),
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
        "goal_met": statistics.median(ratios) >= GOAL,
        "peak_rss_gib_max": max(peaks) / 2**30,
        "tfdata_peak_rss_gib_max": max(r["tfdata"]["peak_rss_bytes"] for r in runs) / 2**30,
    }
    if with_trainer:
        summary["trainer_pass_seconds_median"] = statistics.median(
            r["trainer_pass"]["seconds"] for r in runs
        )
    return summary


def format_summary_table(summary: list[dict]) -> str:
    """The table: one line a row, * marking the pipeline's current configuration."""
    header = [
        "row",
        "materialize",
        "statistics",
        "seconds",
        "examples/s",
        "tf.data ex/s",
        "ratio",
        "ratios per round",
        "peak RSS GiB",
    ]
    table_rows = []
    for s in summary:
        seconds = s["seconds_median"]
        if s["includes_trainer_pass"]:
            seconds = (
                f"{s['transform_seconds_median']:.2f} + {s['trainer_pass_seconds_median']:.2f}"
            )
        table_rows.append(
            [
                s["row"] + (" *" if s["pipeline_current"] else ""),
                "yes" if s["transform_settings"]["materialize"] else "no",
                "no" if s["transform_settings"]["disable_statistics"] else "yes",
                seconds,
                s["examples_per_second_median"],
                s["tfdata_examples_per_second_median"],
                s["ratio_median"],
                " ".join(f"{r:.2f}" for r in s["ratios"]),
                s["peak_rss_gib_max"],
            ]
        )
    return common.format_table(header, table_rows)


def format_profile_table(profile: dict) -> str:
    """The phase profile's table: seconds per phase of `before` and `after`."""
    return common.format_table(
        ["phase (Beam steps, sampled)", f"{BEFORE} s", f"{AFTER} s"],
        [
            [phase, profile[BEFORE]["phase_seconds"][phase], profile[AFTER]["phase_seconds"][phase]]
            for phase in profile[BEFORE]["phase_seconds"]
            if profile[BEFORE]["phase_seconds"][phase] or profile[AFTER]["phase_seconds"][phase]
        ]
        + [
            [
                "all Beam steps",
                profile[BEFORE]["beam_steps_seconds"],
                profile[AFTER]["beam_steps_seconds"],
            ],
            [
                "outside Beam steps (set-up, sdist, tracing, graph)",
                profile[BEFORE]["outside_beam_steps_seconds"],
                profile[AFTER]["outside_beam_steps_seconds"],
            ],
            [
                "Transform wall time",
                profile[BEFORE]["wall_seconds"],
                profile[AFTER]["wall_seconds"],
            ],
        ],
    )


def results_of(args, load_at_start: list, bench: Bench, inputs: Inputs, measurements) -> dict:
    """The results file's rows, rounds, profile and tables (write_results adds the machine)."""
    summary = summary_rows(measurements, bench.settings, inputs.total)
    table = format_summary_table(summary)
    profile = {
        name: profile_of([m["runs"][name]["transform"] for m in measurements])
        for name in (BEFORE, AFTER)
    }
    return {
        "description": (
            "Preprocessing throughput of the pipeline's Transform before (materialize, "
            "statistics) and after (as pipeline.py configures it now), and after including "
            "the Trainer's first pass over the raw examples through the Transform graph "
            "(models.trainer._load_examples, both splits), each against the same "
            "preprocessing_fn with plain tf.data over the same files, paired within each "
            "round; medians over interleaved rounds."
        ),
        "goal": GOAL,
        "goal_description": "ratio = examples/s over tf.data examples/s >= 0.5",
        "pipeline_current_configuration": {
            "transform_row": AFTER,
            "end_to_end_row": AFTER_WITH_TRAINER,
        },
        "caveat": (
            "2 CPU cores shared with other jobs (another process may use a core): only the "
            "ratios within this run are meaningful; see the load averages per round."
        ),
        "inputs": {
            "examples_uri": inputs.examples.uri,
            "source_examples_uri": inputs.source.uri,
            "schema_uri": inputs.schema.uri,
            "examples_per_split": inputs.per_split,
            "examples_total": inputs.total,
            "limit_per_split": args.limit,
        },
        "settings": settings_for_json(args, load_at_start, bench),
        "rows": summary,
        "rounds": rounds_for_json(measurements),
        "profile": profile,
        "table": table,
        "profile_table": format_profile_table(profile),
    }


def settings_for_json(args, load_at_start: list, bench: Bench) -> dict:
    """The results' settings: pipeline.py's, each row's, and this run's flags."""
    pipeline = bench.pipeline
    return {
        "pipeline": {
            "transform_exec_properties": {
                k: v if isinstance(v, (str, int, float, type(None))) else str(v)
                for k, v in pipeline["transform_exec_properties"].items()
            },
            "transform_outputs": pipeline["transform_outputs"],
            "beam_pipeline_args": pipeline["beam_pipeline_args"],
            "trainer_examples_from": pipeline["trainer_examples_from"],
        },
        "rows": bench.settings,
        "tfdata_batch_size": TFDATA_BATCH_SIZE,
        "rounds": args.rounds,
        "quick": args.quick,
        "warmup": not args.no_warmup,
        "load_average_at_start": load_at_start,
    }


def rounds_for_json(measurements: list) -> list[dict]:
    """The results' rounds: each run's figures, without the Transform's paths and steps."""
    return [
        {
            "load_average_1min": m["load_average_1min"],
            "runs": {
                name: {
                    "tfdata": run["tfdata"],
                    "transform": {k: run["transform"][k] for k in ("seconds", "peak_rss_bytes")},
                    **({"trainer_pass": run["trainer_pass"]} if "trainer_pass" in run else {}),
                }
                for name, run in m["runs"].items()
            },
        }
        for m in measurements
    ]


def print_tables(results: dict, inputs: Inputs, rounds: int) -> None:
    """Nothing; prints the table and the phase profile."""
    print()
    print(
        f"{inputs.total} examples ({inputs.per_split}), {rounds} round(s), medians; "
        f"ratio = examples/s over tf.data's; goal: ratio >= {GOAL}; "
        "* = the pipeline's current configuration"
    )
    print(results["table"])
    print()
    print("Transform phase profile (medians over rounds):")
    print(results["profile_table"])


def main(argv=None):
    args = parse_args(argv)
    transform_rows = list(dict.fromkeys([BEFORE, AFTER, *args.variants]))
    output_dir = os.path.abspath(args.output_dir)
    os.makedirs(SCRATCH_DIR, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    load_at_start = [round(load, 2) for load in os.getloadavg()]

    bench, inputs = set_up(output_dir, transform_rows, args.limit)
    if not args.no_warmup:
        warm_up(bench, inputs, transform_rows)
    measurements = measure_rounds(bench, inputs, transform_rows, args.rounds)

    results = results_of(args, load_at_start, bench, inputs, measurements)
    print_tables(results, inputs, args.rounds)
    path = common.write_results(NAME, results, args.results)
    print(f"Results: {path}")


if __name__ == "__main__":
    sys.exit(main())
