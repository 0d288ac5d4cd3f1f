"""Serving: the pushed model's raw-bytes signature against the bare Keras model.

    python -m bench.serving             # the model pushed by the pipeline run in outputs/
    python -m bench.serving --quick     # a smoke run of a minute or two

What it measures: images/s and the p50/p95 latency per call of the pushed SavedModel's
`serving_default` signature (a batch of encoded images in, segmentation out: header
checks, decoding, resizing and scaling in a tf.map_fn, then the model) against the bare
Keras model (tf_keras.models.load_model of the same SavedModel, called through a
tf.function of model(x, training=False)) on the same images already decoded and
preprocessed with models/preprocessing.image_to_model_input, at batch 1 and batch 32.
The figure is images/s of the signature over images/s of the bare model, per batch size
(goal: >= 0.9): the share of the model's throughput a client sending JPEG bytes gets.

Inputs: the raw `image` bytes of the eval split's tf.Examples from the newest ExampleGen
output (the synthetic photos are 192..320 px JPEGs), and the same images resized to
real-photo size (~500x375, as Oxford-IIIT Pet photos are) and re-encoded with PIL at
JPEG quality 90, since decoding and resizing cost grows with the pixels sent.

How: for each image set and batch size, after a warm-up, the two sides alternate call
by call (A, B, B, A, A, B, ...: which goes first rotates), on pre-built input tensors,
for several rounds of calls. Images/s is the batch size over a side's median call time
(the median shrugs off calls that another process disturbed); the ratio is that of the
two medians; latency percentiles pool all calls; the JSON keeps each round's images/s
to show the spread. A profile follows at both batch sizes, again interleaved: decoding
alone (tf.map_fn of signatures.decode_served_image), decoding + resizing + scaling (the
signature's map_fn without the model), the bare model, and serving variants rebuilt
around the same Keras model by the Trainer's own signatures.image_bytes_signature: as
exported (to check that the rebuilt functions cost what the exported one does), with
map_fn's parallel_iterations=1 (is decoding running in parallel?), and with a proposed
decode_one (with and without the model).

What limits the figure: 2 CPU cores, shared with other jobs running TensorFlow at the same
time. Decoding and resizing are CPU work that the model's own threads would otherwise
use: on two cores they cannot hide behind the model, so the ratio is roughly
model time / (model time + preprocessing time). At batch 1 fixed per-call costs (the
signature's argument handling, the while loop, the checks) weigh more.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import dataclasses
import glob
import io
import os
import statistics
import sys
import time

import numpy as np
import tensorflow as tf
import tf_keras
from PIL import Image

from bench import common
from models import features, preprocessing, signatures
from pipeline import component_ids, configs, flags

NAME = "serving"

PHOTO_SIZE = (500, 375)  # width, height of a typical Oxford-IIIT Pet photo (landscape)
BATCH_SIZES = (1, 32)


def find_inputs(output_dir):
    """(pushed SavedModel folder, the eval split's tf.Example files) of the newest run."""
    _, outputs, metadata_path = common.pipeline_outputs(output_dir)
    fix = common.run_pipeline_first(output_dir)
    pushed = outputs.get((component_ids.PUSHER, "pushed_model"))
    if pushed is None or pushed.custom_properties["pushed"].int_value != 1:
        sys.exit(
            f"The pipeline {configs.PIPELINE_NAME!r} in {metadata_path} has pushed no model "
            "(the newest Pusher output is missing or the model was not blessed); "
            f"{fix} and check that its model is blessed."
        )
    model_dir = pushed.custom_properties["pushed_destination"].string_value
    if not os.path.exists(os.path.join(model_dir, "saved_model.pb")):
        sys.exit(f"The pushed model {model_dir} is gone; {fix}.")
    newest = common.newest_examples(outputs)
    files = []
    if newest is not None:
        files = sorted(glob.glob(os.path.join(newest.uri, "Split-eval", "*")))
    if not files:
        sys.exit(f"No ExampleGen output with an eval split in {metadata_path}; {fix}.")
    return model_dir, files


def read_images(files, count):
    """The first `count` eval images' encoded bytes (repeated if the split is smaller)."""
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    spec = {features.IMAGE_KEY: tf.io.FixedLenFeature([], tf.string)}
    images = [
        tf.io.parse_single_example(record, spec)[features.IMAGE_KEY].numpy()
        for record in dataset.take(count)
    ]
    if not images:
        sys.exit(f"The eval split in {files} holds no images.")
    return [images[i % len(images)] for i in range(count)]


def photo_sized(encoded, quality=90):
    """An image resized to ~500x375 (its orientation kept), re-encoded as JPEG."""
    image = Image.open(io.BytesIO(encoded)).convert("RGB")
    width, height = PHOTO_SIZE if image.width >= image.height else PHOTO_SIZE[::-1]
    output = io.BytesIO()
    image.resize((width, height), Image.BILINEAR).save(output, "JPEG", quality=quality)
    return output.getvalue()


def image_sizes(images):
    sizes = [Image.open(io.BytesIO(encoded)).size for encoded in images]
    return (
        f"{min(w for w, _ in sizes)}..{max(w for w, _ in sizes)} x "
        f"{min(h for _, h in sizes)}..{max(h for _, h in sizes)} px, "
        f"{statistics.mean(len(e) for e in images) / 1024:.0f} KB mean"
    )


def proposed_decode_one(encoded, image_size):
    """Proposed: JPEGs at least twice the model size are decoded at a reduced scale.

    libjpeg can decode at 1/2, 1/4 or 1/8 scale in the DCT domain, which skips most of the
    decoding work and leaves the antialiased resize far fewer pixels. The largest factor
    that keeps both sides at least the model size (the resize still only shrinks) is used.
    The same checks as decode_served_image run first, on the header. The result is close
    to, not equal to, the full decode's: Transform would have to decode the same way
    (preprocessing.decode_image is shared), or training and serving drift apart.
    """

    def scaled_jpeg():
        smaller_side = tf.reduce_min(tf.io.extract_jpeg_shape(encoded)[:2])

        def decode_at(ratio):  # a branch: decodes only when taken
            return lambda: preprocessing.image_to_model_input(
                tf.io.decode_jpeg(encoded, channels=3, ratio=ratio), image_size
            )

        return tf.case(
            [
                (smaller_side >= 8 * image_size, decode_at(8)),
                (smaller_side >= 4 * image_size, decode_at(4)),
                (smaller_side >= 2 * image_size, decode_at(2)),
            ],
            default=decode_at(1),
        )

    height, width = signatures.image_header_size(encoded)
    checks = [
        tf.debugging.assert_positive(tf.strings.length(encoded), message="empty image"),
        tf.debugging.assert_non_negative(height, message="not a JPEG, PNG, GIF or BMP"),
        tf.debugging.assert_less_equal(
            height * width, tf.constant(features.MAX_IMAGE_PIXELS, tf.int64)
        ),
    ]
    with tf.control_dependencies(checks):
        model_input = tf.cond(
            tf.io.is_jpeg(encoded),
            scaled_jpeg,
            lambda: preprocessing.image_to_model_input(
                preprocessing.decode_image(encoded), image_size
            ),
        )
    return model_input, tf.cast(tf.stack([height, width]), tf.int32)


def preprocess_only(image_size, decode_one):
    """A serving function's map_fn without the model: checks, decode, resize, scale."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def preprocess(images):
        return tf.map_fn(
            lambda encoded: decode_one(encoded, image_size),
            images,
            fn_output_signature=(
                tf.TensorSpec([image_size, image_size, 3], tf.float32),
                tf.TensorSpec([2], tf.int32),
            ),
        )[0]

    return preprocess


def decode_only():
    """Header checks and decoding alone (a reduction keeps the pixels from being pruned)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def decode(images):
        return tf.map_fn(
            lambda encoded: tf.reduce_max(signatures.decode_served_image(encoded)),
            images,
            fn_output_signature=tf.TensorSpec([], tf.uint8),
        )

    return decode


def batches_of(tensor_or_list, batch_size):
    """Consecutive batches of batch_size from a [N, ...] array or a list of bytes."""
    count = len(tensor_or_list) // batch_size
    return [tensor_or_list[i * batch_size : (i + 1) * batch_size] for i in range(count)]


def interleaved(sides, calls, rounds, warmup_calls):
    """{side: per-round images/s}, {side: per-call seconds}, {side: CPU cores busy};
    sides {name: (fn, inputs, batch)}.

    The sides alternate call by call (A, B, A, B, ...; which goes first rotates), so that
    a disturbance from another process falls on both alike; each call takes the next
    input, cycling. Cores busy: this process's CPU time during a side's calls (all its
    threads) over their wall time; on 2 cores, 2.0 means no core was left idle.
    """
    for fn, inputs, _ in sides.values():
        for index in range(warmup_calls):
            _finish(fn(inputs[index % len(inputs)]))
    names = list(sides)
    rates = {name: [] for name in names}
    latencies = {name: [] for name in names}
    cpu_seconds = {name: 0.0 for name in names}
    for _ in range(rounds):
        seconds = {name: [] for name in names}
        for index in range(calls):
            for name in names[index % len(names) :] + names[: index % len(names)]:
                fn, inputs, _ = sides[name]
                start, cpu_start = time.perf_counter(), time.process_time()
                _finish(fn(inputs[index % len(inputs)]))
                seconds[name].append(time.perf_counter() - start)
                cpu_seconds[name] += time.process_time() - cpu_start
        for name in names:
            rates[name].append(calls * sides[name][2] / sum(seconds[name]))
            latencies[name].extend(seconds[name])
    cores = {name: cpu_seconds[name] / sum(latencies[name]) for name in names}
    return rates, latencies, cores


def median_rate(latencies, batch_size):
    """Images/s of the median call."""
    return batch_size / statistics.median(latencies)


def _finish(outputs):
    """Eager calls return once computed; touching one output keeps that explicit."""
    if isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    return outputs.numpy()


def percentile_ms(seconds, q):
    return 1000 * float(np.percentile(seconds, q))


HEADER = [
    "images",
    "batch",
    "signature img/s",
    "bare model img/s",
    "ratio",
    "sig p50 ms",
    "sig p95 ms",
    "bare p50 ms",
    "bare p95 ms",
]
PROFILE_HEADER = [
    "images",
    "batch",
    "stage",
    "ms/call",
    "ms/image",
    "img/s",
    "vs bare",
    "cores busy",
]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How many rounds and calls each measurement makes."""

    rounds: int  # of the signature against the bare model
    calls: dict  # per side and round, by batch size
    warmup_calls: int
    profile_rounds: int


def parse_args(argv):
    """The flags, with the defaults that depend on --quick filled in."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output-dir", default=configs.DEFAULT_OUTPUT_DIR)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--rounds", type=flags.at_least(1), help="A/B rounds (default 7, quick 2)")
    parser.add_argument(
        "--images",
        type=flags.at_least(max(BATCH_SIZES)),
        help="eval images used (default 64, quick 32)",
    )
    parser.add_argument("--results", help="default: bench/results/serving.json")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 7)
    args.images = args.images or (32 if args.quick else 64)
    return args


def protocol_of(args):
    """The Protocol for these flags: fewer calls with --quick."""
    return Protocol(
        rounds=args.rounds,
        # Calls per side and round: about the same number of images at both batch sizes.
        calls={1: 6, 32: 1} if args.quick else {1: 48, 32: 3},
        warmup_calls=2 if args.quick else 3,
        profile_rounds=max(2, args.rounds // 2),
    )


def load_image_sets(eval_files, count):
    """{image set name: encoded images}: the eval split's, and the same at photo size."""
    eval_images = read_images(eval_files, count)
    return {
        "eval split (synthetic)": eval_images,
        "photo-sized (~500x375, q90)": [photo_sized(image) for image in eval_images],
    }


def measured_functions(signature, model, image_size):
    """{name: function of one batch}: the signature, the bare model and the profile's stages."""

    @tf.function(input_signature=[tf.TensorSpec([None, image_size, image_size, 3], tf.float32)])
    def bare(model_inputs):
        return model(model_inputs, training=False)

    def call_signature(images):
        return signature(images=images)

    # Rebuilt around the same Keras model by the Trainer's own code (models/signatures.py).
    return {
        "signature": call_signature,
        "bare": bare,
        "replica": signatures.image_bytes_signature(model, image_size),
        "sequential": signatures.image_bytes_signature(model, image_size, parallel_iterations=1),
        "proposed": signatures.image_bytes_signature(
            model, image_size, decode_one=proposed_decode_one
        ),
        "preprocess": preprocess_only(image_size, signatures.served_image_to_model_input),
        "proposed_preprocess": preprocess_only(image_size, proposed_decode_one),
        "decode": decode_only(),
    }


def input_tensors(images, image_size):
    """(the encoded images, the same decoded and preprocessed for the bare model)."""
    encoded = tf.constant(images)
    model_inputs = tf.stack(
        [
            preprocessing.image_to_model_input(preprocessing.decode_image(image), image_size)
            for image in images
        ]
    )
    return encoded, model_inputs


def class_id_agreement(functions, encoded):
    """{variant: share of pixels given the exported signature's class id}, first 32 images."""
    batch = encoded[: max(BATCH_SIZES)]
    exported_ids = functions["signature"](batch)[features.CLASS_IDS_OUTPUT].numpy()
    agreement = {}
    for name in ("replica", "proposed"):
        ids = functions[name](batch)[features.CLASS_IDS_OUTPUT].numpy()
        agreement[name] = float(np.mean(exported_ids == ids))
    return agreement


def measure_batch_size(set_name, batch_size, encoded, model_inputs, functions, protocol):
    """(the signature against the bare model, the profile's stages) at one batch size."""
    encoded_batches = batches_of(encoded, batch_size)
    input_batches = batches_of(model_inputs, batch_size)
    measurement = compare_with_bare_model(
        set_name, batch_size, encoded_batches, input_batches, functions, protocol
    )
    # Printed at once: a full run takes a while.
    print(common.format_table(HEADER, [measurement_row(measurement)]))
    stages = profile_stages(
        set_name, batch_size, encoded_batches, input_batches, functions, protocol
    )
    return measurement, stages


def compare_with_bare_model(
    set_name, batch_size, encoded_batches, input_batches, functions, protocol
):
    """The measurement: the signature's images/s and latency against the bare model's."""
    rates, latencies, cores = interleaved(
        {
            "signature": (functions["signature"], encoded_batches, batch_size),
            "bare": (functions["bare"], input_batches, batch_size),
        },
        protocol.calls[batch_size],
        protocol.rounds,
        protocol.warmup_calls,
    )
    signature_rate = median_rate(latencies["signature"], batch_size)
    bare_rate = median_rate(latencies["bare"], batch_size)
    ratio = signature_rate / bare_rate
    return {
        "images": set_name,
        "batch_size": batch_size,
        "ratio": ratio,
        "goal_met": ratio >= 0.9,
        **{
            side: {
                "images_per_second_of_median_call": median_rate(latencies[side], batch_size),
                "images_per_second_rounds": rates[side],
                "latency_ms_p50": percentile_ms(latencies[side], 50),
                "latency_ms_p95": percentile_ms(latencies[side], 95),
                "cpu_cores_busy": cores[side],
                "calls": len(latencies[side]),
            }
            for side in rates
        },
    }


def profile_stages(set_name, batch_size, encoded_batches, input_batches, functions, protocol):
    """The profile: each stage's time per call and images/s, against the bare model's."""
    stages = {
        "decode (checks + decode_image)": (functions["decode"], encoded_batches, batch_size),
        "decode + resize + scale": (functions["preprocess"], encoded_batches, batch_size),
        "bare model": (functions["bare"], input_batches, batch_size),
        "exported signature": (functions["signature"], encoded_batches, batch_size),
        "replica of serve_image_bytes": (functions["replica"], encoded_batches, batch_size),
        "replica, parallel_iterations=1": (functions["sequential"], encoded_batches, batch_size),
        "proposed: scaled JPEG decoding": (functions["proposed"], encoded_batches, batch_size),
        "proposed: its decode + resize + scale": (
            functions["proposed_preprocess"],
            encoded_batches,
            batch_size,
        ),
    }
    stage_rates, stage_latencies, stage_cores = interleaved(
        stages, protocol.calls[batch_size], protocol.profile_rounds, 1
    )
    bare_stage_rate = median_rate(stage_latencies["bare model"], batch_size)
    profiles = []
    for stage in stages:
        rate = median_rate(stage_latencies[stage], batch_size)
        profiles.append(
            {
                "images": set_name,
                "batch_size": batch_size,
                "stage": stage,
                "ms_per_call_median": 1000 * statistics.median(stage_latencies[stage]),
                "images_per_second_of_median_call": rate,
                "images_per_second_rounds": stage_rates[stage],
                "throughput_vs_bare_model": rate / bare_stage_rate,
                "cpu_cores_busy": stage_cores[stage],
            }
        )
    return profiles


def measurement_row(measurement):
    """A measurement's row of the table (HEADER)."""
    signature, bare = measurement["signature"], measurement["bare"]
    return [
        measurement["images"],
        measurement["batch_size"],
        signature["images_per_second_of_median_call"],
        bare["images_per_second_of_median_call"],
        measurement["ratio"],
        signature["latency_ms_p50"],
        signature["latency_ms_p95"],
        bare["latency_ms_p50"],
        bare["latency_ms_p95"],
    ]


def profile_row(profile):
    """A stage's row of the profile table (PROFILE_HEADER)."""
    ms_call = profile["ms_per_call_median"]
    return [
        profile["images"],
        profile["batch_size"],
        profile["stage"],
        ms_call,
        ms_call / profile["batch_size"],
        profile["images_per_second_of_median_call"],
        profile["throughput_vs_bare_model"],
        profile["cpu_cores_busy"],
    ]


def results_of(quick, load_before, inputs, protocol, measurements, profiles, agreement):
    """The results file's figures and tables (write_results adds the machine and commit)."""
    return {
        "description": "Images/s and latency of the pushed model's serving_default (encoded "
        "images) vs the bare Keras model on preprocessed tensors, interleaved rounds.",
        "quick": quick,
        "caveat": "2 CPU cores, possibly shared with other jobs; "
        "only ratios within this run are meaningful.",
        "load_average_before": load_before,
        "inputs": inputs,
        "protocol": {
            "rounds": protocol.rounds,
            "calls_per_side_and_round": protocol.calls,
            "warmup_calls": protocol.warmup_calls,
            "order": "call by call: signature, bare model, bare model, signature, ...",
            "figure": "images/s = batch size / median call time; ratio of those",
            "profile_rounds": protocol.profile_rounds,
        },
        "goal": 0.9,
        "measurements": measurements,
        "profile": profiles,
        "proposed_variant": {
            "change": "decode JPEGs at least 2x the model size at 1/2, 1/4 or 1/8 scale "
            "(tf.io.decode_jpeg ratio=), keeping both sides >= the model size",
            "pixels_with_the_exported_signatures_class_id": agreement,
        },
        "table": common.format_table(HEADER, [measurement_row(m) for m in measurements]),
        "profile_table": common.format_table(PROFILE_HEADER, [profile_row(p) for p in profiles]),
    }


def print_report(results, path):
    """Nothing; prints the tables, the variants' agreement and where the results went."""
    print()
    print(results["table"])
    print()
    print(results["profile_table"])
    print()
    print("Share of pixels given the exported signature's class id (first 32 images):")
    agreement = results["proposed_variant"]["pixels_with_the_exported_signatures_class_id"]
    for set_name, shares in agreement.items():
        print(f"  {set_name}: " + ", ".join(f"{n} {share:.4f}" for n, share in shares.items()))
    load_before = results["load_average_before"]
    print(f"CPU contention from other jobs was possible (load average before: {load_before}).")
    print(f"Results: {path}")


def main(argv=None):
    args = parse_args(argv)
    protocol = protocol_of(args)
    output_dir = os.path.abspath(args.output_dir)
    load_before = [round(load, 2) for load in os.getloadavg()]

    model_dir, eval_files = find_inputs(output_dir)
    print(f"Pushed model: {model_dir}")
    image_sets = load_image_sets(eval_files, args.images)
    # `loaded` stays referenced for the whole run: the signature runs on its variables.
    loaded = tf.saved_model.load(model_dir)
    signature = loaded.signatures["serving_default"]
    model = tf_keras.models.load_model(model_dir, compile=False)
    image_size = int(model.input_shape[1])
    functions = measured_functions(signature, model, image_size)

    measurements, profiles, agreement = [], [], {}
    for set_name, images in image_sets.items():
        encoded, model_inputs = input_tensors(images, image_size)
        # The proposed variant's predictions against the exported signature's, same images.
        agreement[set_name] = class_id_agreement(functions, encoded)
        for batch_size in BATCH_SIZES:
            measurement, stages = measure_batch_size(
                set_name, batch_size, encoded, model_inputs, functions, protocol
            )
            measurements.append(measurement)
            profiles.extend(stages)

    inputs = {
        "model_dir": model_dir,
        "eval_files": eval_files,
        "image_size": image_size,
        "image_sets": {name: image_sizes(images) for name, images in image_sets.items()},
    }
    results = results_of(
        args.quick, load_before, inputs, protocol, measurements, profiles, agreement
    )
    path = common.write_results(NAME, results, args.results)
    print_report(results, path)


if __name__ == "__main__":
    main()
