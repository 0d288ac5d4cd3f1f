"""Trainer input pipeline vs compute limit: do training steps wait for their data?

    python -m bench.trainer_input            # the pipeline run in outputs/
    python -m bench.trainer_input --quick    # a smoke run of a minute or two

What it measures: images/s of training steps of the Trainer's model fed by the Trainer's
own input pipeline (models/trainer.py `_load_examples` + `_batches`, augmentation on, the
batch size of configs.TrainingConfig()), against the same compiled model training on one
batch already in memory (`tf.data.Dataset.from_tensors(batch).repeat()`): the compute
limit. The figure is the ratio of the two (goal: >= 0.95).

How: the inputs are the newest examples and Transform graph of the pipeline run in
--output-dir (the Trainer applies the graph to the raw examples itself), found through
ML Metadata, and read through a data accessor built by TFX's own
fn_args_utils.get_common_fn_args, the way the Trainer component builds run_fn's
fn_args, so the bench goes through exactly `_load_examples`. The model comes from
trainer.build_compiled_model, as in run_fn. As run_fn does, the training split is read
once first (`_count`), which fills `_load_examples`'s in-memory cache: that pass is timed
and reported on its own (the cache-filling rate), as is the first training epoch after
it (cold shuffle buffer, first steps). Then both sides run one Keras train_function
(the step model.fit runs), interleaved A, B, A, B... for several rounds; each round
starts with a few untimed steps, so that buffers filled while the other side ran do not
flatter the input side. Figures are medians over rounds and the ratio of the medians.
A profile follows: the input pipeline iterated alone, without training (time per
batch), with and without augmentation, and the process's CPU seconds per training step
on each side (the input pipeline's CPU work is the difference).

What limits the figure: this machine has 2 CPU cores, shared with other jobs. On a CPU,
the input pipeline does not overlap for free: its threads take cores from the training
step, so the ratio falls by roughly the input pipeline's CPU time per step over the
step's time. Noise from other processes moves both sides alike, since they alternate
within seconds; a round disturbed more on one side shows in the spread of the rounds
(min..max in the JSON). The synthetic data (1,000 training images) fits in memory, as
it must for `_load_examples`'s cache.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import dataclasses
import math
import os
import statistics
import sys
import time

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx.types import artifact_utils

from bench import common
from models import features, preprocessing, trainer
from pipeline import component_ids, configs, flags, preflight

NAME = "trainer_input"


def find_transform_output(output_dir):
    """(the Examples the Trainer reads, TransformGraph artifact) of the newest run.

    The Trainer reads the ExampleGen's raw examples and applies the Transform graph
    itself (pipeline/pipeline.py says why).
    """
    store, outputs, metadata_path = common.pipeline_outputs(output_dir)
    examples = common.newest_examples(outputs)
    examples_key = (component_ids.TFDS_EXAMPLE_GEN, "examples")
    if examples is not None:
        examples_key = next(key for key, artifact in outputs.items() if artifact is examples)
    found = []
    for key in [examples_key, (component_ids.TRANSFORM, "transform_graph")]:
        artifact = outputs.get(key)
        if artifact is None or not os.path.exists(artifact.uri):
            sys.exit(
                f"The pipeline {configs.PIPELINE_NAME!r} in {metadata_path} has no "
                f"{key[0]} output {key[1]!r}"
                + (f" (its folder {artifact.uri} is gone)" if artifact is not None else "")
                + "; "
                + common.run_pipeline_first(output_dir)
                + "."
            )
        [artifact_type] = store.get_artifact_types_by_id([artifact.type_id])
        found.append(artifact_utils.deserialize_artifact(artifact_type, artifact))
    return found


def run_steps(train_function, iterator, steps):
    """Per-step seconds and the process's CPU seconds for `steps` training steps."""
    seconds = []
    cpu_start = _cpu_seconds()
    for _ in range(steps):
        start = time.perf_counter()
        logs = train_function(iterator)
        seconds.append(time.perf_counter() - start)
    float(logs["loss"])  # every step has finished (eager calls are synchronous on CPU)
    return seconds, _cpu_seconds() - cpu_start


def iterate_batches(iterator, batches):
    """Seconds to pull `batches` batches from an input pipeline, without training."""
    start = time.perf_counter()
    for _ in range(batches):
        images, _ = next(iterator)
    images.numpy()
    return time.perf_counter() - start


def _cpu_seconds():
    times = os.times()
    return times.user + times.system


def summarize(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "rounds": values,
    }


@dataclasses.dataclass
class Timings:
    """What was measured, in the order measured, and the figures drawn from it."""

    batch_size: int
    num_train: int  # training examples, counted by the cache-filling pass
    cache_fill: common.Stopwatch  # the first pass (_count), which fills the cache
    cached_pass: common.Stopwatch  # a second one, from the cache
    first_epoch_steps: int
    first_epoch_seconds: list  # per step
    rates: dict  # side -> images/s, per round
    step_ms: dict  # side -> median step time in ms, per round
    cpu_per_step: dict  # side -> the process's CPU seconds per step, per round
    profile: dict  # the input pipeline alone, with and without augment -> ms/batch, per round

    @property
    def input_rate(self):
        """Median images/s of training fed by the input pipeline."""
        return statistics.median(self.rates["input_pipeline"])

    @property
    def memory_rate(self):
        """Median images/s of training on one batch in memory: the compute limit."""
        return statistics.median(self.rates["in_memory"])

    @property
    def ratio(self):
        """The figure: the input pipeline's share of the compute limit (goal: >= 0.95)."""
        return self.input_rate / self.memory_rate

    @property
    def cache_fill_rate(self):
        """Examples/s of the cache-filling pass."""
        return self.num_train / self.cache_fill.seconds

    @property
    def first_epoch_rate(self):
        """Images/s of the first training epoch after the cache fill."""
        return self.first_epoch_steps * self.batch_size / sum(self.first_epoch_seconds)

    @property
    def input_alone_ms(self):
        """Median ms per batch of the input pipeline alone, without training."""
        return statistics.median(self.profile["input pipeline alone"])


def parse_args(argv):
    """The flags, with the defaults that depend on --quick filled in."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", default=configs.DEFAULT_OUTPUT_DIR)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=configs.TrainingConfig().batch_size,
        help="default: configs.TrainingConfig().batch_size",
    )
    parser.add_argument("--rounds", type=flags.at_least(1), help="A/B rounds (default 7, quick 2)")
    parser.add_argument(
        "--steps", type=flags.at_least(1), help="timed steps per side and round (40, quick 6)"
    )
    parser.add_argument("--results", help="default: bench/results/trainer_input.json")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 7)
    args.steps = args.steps or (6 if args.quick else 40)
    return args


def checked_pipeline_config(batch_size):
    """The pipeline's config with this batch size; exits if the runners would refuse it."""
    training = dataclasses.replace(configs.TrainingConfig(), batch_size=batch_size)
    pipeline_config = configs.PipelineConfig(training=training)
    try:
        preflight.check_settings(pipeline_config)
    except preflight.ConfigError as error:
        sys.exit(f"Configuration error: {error}")
    return pipeline_config


def trainer_inputs(pipeline_config, output_dir):
    """(Examples, TransformGraph, run_fn's fn_args, TFTransformOutput) of the newest run."""
    examples, transform_graph = find_transform_output(output_dir)
    convention = configs.mask_convention(pipeline_config)
    custom_config = {
        **dataclasses.asdict(pipeline_config.training),
        "mask_convention": convention.to_json_dict(),
    }
    fn_args = common.trainer_fn_args(examples, transform_graph, custom_config)
    return examples, transform_graph, fn_args, tft.TFTransformOutput(fn_args.transform_output)


def transformed_image_size(tf_transform_output):
    """The side in pixels of the square images the Transform graph outputs."""
    feature_spec = tf_transform_output.transformed_feature_spec()
    return int(feature_spec[features.TRANSFORMED_IMAGE_KEY].shape[0])


def fill_cache(fn_args, tf_transform_output):
    """(the training examples, their count, Stopwatches of the filling pass and a cached one)."""
    # As run_fn: read the split once (_count), which fills _load_examples's cache.
    train_examples = trainer._load_examples(
        fn_args.train_files, fn_args.data_accessor, tf_transform_output
    )
    with common.Stopwatch() as cache_fill:
        num_train = trainer._count(train_examples)
    with common.Stopwatch() as cached_pass:
        trainer._count(train_examples)
    return train_examples, num_train, cache_fill, cached_pass


def training_sides(config, train_examples, batch_size, image_size, num_classes, steps_per_epoch):
    """(train_function, the input pipeline's iterator, an iterator repeating one batch)."""
    model = trainer.build_compiled_model(
        config, image_size, num_classes, int(config["epochs"]) * steps_per_epoch
    )
    # The train_function keeps its model alive.
    train_function = model.make_train_function()
    input_dataset = trainer._batches(
        train_examples, batch_size, training=True, augmentation=config["augmentation"]
    )
    input_iterator = iter(input_dataset)
    one_batch = next(input_iterator)
    memory_iterator = iter(tf.data.Dataset.from_tensors(one_batch).repeat())
    return train_function, input_iterator, memory_iterator


def warm_up(train_function, input_iterator, memory_iterator, first_epoch_steps, untimed_steps):
    """Per-step seconds of the first epoch fed by the input pipeline."""
    # Warm-up: tracing, then the first epoch fed by the input pipeline (cold shuffle
    # buffer), timed on its own and left out of the steady state.
    run_steps(train_function, memory_iterator, 3)
    first_epoch_seconds, _ = run_steps(train_function, input_iterator, first_epoch_steps)
    run_steps(train_function, memory_iterator, untimed_steps)
    return first_epoch_seconds


def interleaved_rounds(train_function, sides, batch_size, rounds, steps, untimed_steps):
    """({side: images/s}, {side: median step ms}, {side: CPU seconds per step}), per round."""
    rates = {side: [] for side in sides}
    step_ms = {side: [] for side in sides}
    cpu_per_step = {side: [] for side in sides}
    for round_index in range(rounds):
        for side, iterator in sides.items():
            run_steps(train_function, iterator, untimed_steps)
            seconds, cpu = run_steps(train_function, iterator, steps)
            rates[side].append(steps * batch_size / sum(seconds))
            step_ms[side].append(1000 * statistics.median(seconds))
            cpu_per_step[side].append(cpu / steps)
        print(
            f"round {round_index + 1}/{rounds}: "
            + ", ".join(f"{side} {rates[side][-1]:.1f} images/s" for side in sides)
        )
    return rates, step_ms, cpu_per_step


def profile_input_pipeline(train_examples, batch_size, augmentation, steps, rounds):
    """{"input pipeline alone", "without augment": ms per batch, per round}."""
    # Profile: the input pipeline alone, no training, from the same (filled) cache.
    profile_batches = max(steps, 20)
    profile = {}
    for name, augmented in [("input pipeline alone", augmentation), ("without augment", "none")]:
        batches = trainer._batches(
            train_examples, batch_size, training=True, augmentation=augmented
        )
        iterator = iter(batches)
        iterate_batches(iterator, profile_batches)  # the shuffle buffer fills
        profile[name] = [
            1000 * iterate_batches(iterator, profile_batches) / profile_batches
            for _ in range(max(2, rounds // 2))
        ]
        del iterator, batches
    return profile


def measure(args, untimed_steps, fn_args, tf_transform_output, batch_size, image_size, num_classes):
    """Timings: the cache fill, the first epoch, the interleaved rounds, the profile."""
    config = fn_args.custom_config
    train_examples, num_train, cache_fill, cached_pass = fill_cache(fn_args, tf_transform_output)
    steps_per_epoch = max(1, math.ceil(num_train / batch_size))
    print(
        f"Cache-filling pass (_count): {num_train} examples in {cache_fill.seconds:.1f} s; "
        f"again from the cache: {cached_pass.seconds:.1f} s."
    )

    train_function, input_iterator, memory_iterator = training_sides(
        config, train_examples, batch_size, image_size, num_classes, steps_per_epoch
    )
    first_epoch_steps = min(steps_per_epoch, 2 * args.steps) if args.quick else steps_per_epoch
    first_epoch_seconds = warm_up(
        train_function, input_iterator, memory_iterator, first_epoch_steps, untimed_steps
    )
    sides = {"input_pipeline": input_iterator, "in_memory": memory_iterator}
    rates, step_ms, cpu_per_step = interleaved_rounds(
        train_function, sides, batch_size, args.rounds, args.steps, untimed_steps
    )
    profile = profile_input_pipeline(
        train_examples, batch_size, config["augmentation"], args.steps, args.rounds
    )
    return Timings(
        batch_size=batch_size,
        num_train=num_train,
        cache_fill=cache_fill,
        cached_pass=cached_pass,
        first_epoch_steps=first_epoch_steps,
        first_epoch_seconds=first_epoch_seconds,
        rates=rates,
        step_ms=step_ms,
        cpu_per_step=cpu_per_step,
        profile=profile,
    )


def summary_table(timings, rounds):
    """The table: images/s, ms per batch and share of in-memory training, per measure."""
    header = ["measure", "images/s", "ms/batch", "vs in-memory training", "rounds"]
    batch_size, memory_rate = timings.batch_size, timings.memory_rate
    without_augment_ms = statistics.median(timings.profile["without augment"])
    rows = [
        [
            "training, one batch in memory (compute limit)",
            memory_rate,
            statistics.median(timings.step_ms["in_memory"]),
            1.0,
            rounds,
        ],
        [
            "training, fed by _load_examples + _batches (steady)",
            timings.input_rate,
            statistics.median(timings.step_ms["input_pipeline"]),
            timings.ratio,
            rounds,
        ],
        [
            "first training epoch after the cache fill",
            timings.first_epoch_rate,
            1000 * statistics.median(timings.first_epoch_seconds),
            timings.first_epoch_rate / memory_rate,
            1,
        ],
        [
            "cache-filling pass (_count, no training)",
            timings.cache_fill_rate,
            1000 * batch_size / timings.cache_fill_rate,
            timings.cache_fill_rate / memory_rate,
            1,
        ],
        [
            "profile: input pipeline alone (no training)",
            1000 * batch_size / timings.input_alone_ms,
            timings.input_alone_ms,
            None,
            len(timings.profile["input pipeline alone"]),
        ],
        [
            "profile: input pipeline alone, no augment",
            1000 * batch_size / without_augment_ms,
            without_augment_ms,
            None,
            len(timings.profile["without augment"]),
        ],
    ]
    return common.format_table(header, rows)


def findings_of(timings):
    """A sentence or two: the ratio against the goal, and where the CPU time went."""
    cpu_input = statistics.median(timings.cpu_per_step["input_pipeline"])
    cpu_memory = statistics.median(timings.cpu_per_step["in_memory"])
    return (
        f"Steady-state ratio {timings.ratio:.3f} "
        f"(goal >= 0.95: {'met' if timings.ratio >= 0.95 else 'not met'}). "
        f"CPU seconds per step: {cpu_input:.3f} fed by the input pipeline, {cpu_memory:.3f} "
        f"from memory (input work ~{cpu_input - cpu_memory:+.3f} s/step on "
        f"{len(os.sched_getaffinity(0))} cores); the input pipeline alone produces a batch "
        f"in {timings.input_alone_ms:.1f} ms against a "
        f"{statistics.median(timings.step_ms['in_memory']):.0f} ms training step."
    )


def results_of(args, untimed_steps, load_before, inputs, config, timings):
    """The results file's figures and table (write_results adds the machine and commit)."""
    table = summary_table(timings, args.rounds)
    findings = findings_of(timings)
    return {
        "description": "Training images/s fed by the Trainer's input pipeline vs one batch "
        "in memory, same compiled model and train_function, interleaved rounds.",
        "quick": args.quick,
        "caveat": "2 CPU cores, possibly shared with other jobs; only ratios within this "
        "run are meaningful.",
        "load_average_before": load_before,
        "inputs": inputs,
        "config": config,
        "protocol": {
            "rounds": args.rounds,
            "timed_steps_per_side_and_round": args.steps,
            "untimed_steps_at_round_start": untimed_steps,
            "first_epoch_steps": timings.first_epoch_steps,
            "order": "A (input pipeline), B (in memory), A, B, ...",
        },
        "images_per_second": {
            "input_pipeline": summarize(timings.rates["input_pipeline"]),
            "in_memory": summarize(timings.rates["in_memory"]),
            "first_epoch_after_cache_fill": timings.first_epoch_rate,
            "cache_filling_pass": timings.cache_fill_rate,
        },
        "ratio": timings.ratio,
        "goal": 0.95,
        "goal_met": timings.ratio >= 0.95,
        "median_step_ms": {side: summarize(values) for side, values in timings.step_ms.items()},
        "profile": {
            "cpu_seconds_per_step": {
                side: summarize(values) for side, values in timings.cpu_per_step.items()
            },
            "input_only_ms_per_batch": {name: summarize(v) for name, v in timings.profile.items()},
            "cache_fill_seconds": timings.cache_fill.seconds,
            "cached_pass_seconds": timings.cached_pass.seconds,
            "findings": findings,
        },
        "table": table,
    }


def print_report(results, path):
    """Nothing; prints the table, the findings and where the results went."""
    print()
    print(results["table"])
    print()
    print(results["profile"]["findings"])
    load_before = results["load_average_before"]
    print(f"CPU contention from other jobs was possible (load average before: {load_before}).")
    print(f"Results: {path}")


def main(argv=None):
    args = parse_args(argv)
    untimed_steps = 2 if args.quick else 4  # at the start of each round
    output_dir = os.path.abspath(args.output_dir)
    load_before = [round(load, 2) for load in os.getloadavg()]

    pipeline_config = checked_pipeline_config(args.batch_size)
    examples, transform_graph, fn_args, tf_transform_output = trainer_inputs(
        pipeline_config, output_dir
    )
    config = fn_args.custom_config
    batch_size = int(config["batch_size"])
    image_size = transformed_image_size(tf_transform_output)
    num_classes = len(preprocessing.mask_convention_from_config(config).class_names)
    tf_keras.utils.set_random_seed(int(config["seed"]))
    print(f"Examples: {examples.uri}; batch {batch_size}, image {image_size} px.")

    timings = measure(
        args, untimed_steps, fn_args, tf_transform_output, batch_size, image_size, num_classes
    )
    inputs = {
        "examples": examples.uri,
        "transform_graph": transform_graph.uri,
        "train_files": fn_args.train_files,
        "num_train_examples": timings.num_train,
    }
    results = results_of(
        args,
        untimed_steps,
        load_before,
        inputs,
        config={**config, "image_size": image_size, "num_classes": num_classes},
        timings=timings,
    )
    path = common.write_results(NAME, results, args.results)
    print_report(results, path)


if __name__ == "__main__":
    main()
