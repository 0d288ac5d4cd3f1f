"""An Evaluator's metrics, read from its files without TensorFlow.

`tfma.load_metrics` gives the same protos, but importing TFMA imports TensorFlow and
Apache Beam: 25 to 35 s here, for a few kilobytes of metrics. The files are TFRecords of
`MetricsForSlice` protos; the record framing is simple, and the proto's generated module
needs only protobuf, so both are read here directly.
"""

import functools
import glob
import importlib.util
import os
import struct

# A TFRecord: [length: uint64][masked CRC32C of the length: uint32][data][CRC of it: uint32].
LENGTH = struct.Struct("<Q")
CRC_BYTES = 4


@functools.cache
def metrics_for_slice_class():
    """TFMA's MetricsForSlice message, from its generated module, not through its package
    (whose __init__ imports TensorFlow). Loading it beside TFMA is harmless: the file goes
    into protobuf's default pool either way, and the pool returns one class for it."""
    from google.protobuf import wrappers_pb2  # noqa: F401  # a dependency it does not import

    package = importlib.util.find_spec("tensorflow_model_analysis")
    path = os.path.join(os.path.dirname(package.origin), "proto", "metrics_for_slice_pb2.py")
    spec = importlib.util.spec_from_file_location("_inspect_tfma_metrics_for_slice_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MetricsForSlice


def tfrecords(path: str):
    """The records of an uncompressed TFRecord file (CRCs not checked: the Evaluator writes
    the file whole, and a damaged one fails to parse as the proto)."""
    with open(path, "rb") as file:
        data = file.read()
    offset = 0
    while offset < len(data):
        (length,) = LENGTH.unpack_from(data, offset)
        start = offset + LENGTH.size + CRC_BYTES
        end = start + length
        if end + CRC_BYTES > len(data):
            raise ValueError(f"{path} is truncated: a record runs past its end.")
        yield data[start:end]
        offset = end + CRC_BYTES


def overall_metrics(evaluation_uri: str) -> dict[str, float]:
    """The candidate model's metrics on the whole eval split: what
    evaluation.tfma_metrics.candidate_metrics_by_slice(uri)[()] gives, without TensorFlow.

    Once a blessed baseline exists, TFMA also records the baseline's metrics (model_name
    "baseline") and the candidate's differences to them (is_diff): both are left out.
    """
    message = metrics_for_slice_class()
    values = {}
    # As tfma.load_metrics: metrics*.tfrecord, or metrics* without the suffix.
    paths = sorted(glob.glob(os.path.join(evaluation_uri, "metrics*.tfrecord")))
    for path in paths or sorted(glob.glob(os.path.join(evaluation_uri, "metrics*"))):
        for record in tfrecords(path):
            metrics_for_slice = message.FromString(record)
            if metrics_for_slice.slice_key.single_slice_keys:
                continue  # a slice (species, label), not the whole split
            for key_and_value in metrics_for_slice.metric_keys_and_values:
                key = key_and_value.key
                if key.is_diff or key.model_name == "baseline":
                    continue
                if key_and_value.value.HasField("double_value"):
                    values[key.name] = key_and_value.value.double_value.value
    return values
