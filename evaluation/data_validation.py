"""What ExampleValidator found: the anomalies in an ExampleAnomalies artifact, readable.

TFX 1.21's ExampleValidator writes one `Split-<name>/SchemaDiff.pb` (a tensorflow_metadata
Anomalies proto) per split and sets the artifact's `blessed` property to {split: 0 or 1};
it logs nothing about what it found and never fails. The project's ExampleValidator
(components/data_validation) stops the run on the first anomaly with `describe`'s text;
anything that reads a finished run (the end-of-run summary, inspect) calls
`read_anomalies(artifact.uri)`.

Light: only tensorflow_metadata's protos, and TensorFlow for remote URIs (gs://...).
"""

import dataclasses
import os

from tensorflow_metadata.proto.v0 import anomalies_pb2

ANOMALIES_FILE = "SchemaDiff.pb"  # tfx.components.example_validator.executor.DEFAULT_FILE_NAME
# A Schema artifact's custom property, set by CuratedSchemaGen: the project's schema file it
# copied (e.g. sources/oxford_pets_schema.pbtxt). Absent on SchemaGen's inferred schemas.
SCHEMA_FILE_PROPERTY = "schema_file"
DATASET = "(dataset)"  # the `feature` of an anomaly about a split as a whole


@dataclasses.dataclass(frozen=True)
class Anomaly:
    split: str  # "train", "eval"
    feature: str  # a raw feature's name (models/features.py), or DATASET
    # TFDV's reasons, e.g. ("INT_TYPE_BIG_INT",) for a value above the schema's domain,
    # ("FEATURE_TYPE_LOW_FRACTION_PRESENT", ...) for a feature missing from some examples
    # (tensorflow_metadata's AnomalyInfo.Type).
    types: tuple[str, ...]
    short_description: str  # e.g. "Out-of-range values"
    description: str  # e.g. "Unexpectedly large value: 7."

    def __str__(self):
        return f"{self.split} split, {self.feature}: {self.description} ({', '.join(self.types)})"


def read_anomalies(anomalies_uri: str) -> list[Anomaly]:
    """Every anomaly of every split of an ExampleAnomalies artifact, by split and feature;
    [] when the examples match their schema."""
    found = []
    for split, path in _split_files(anomalies_uri):
        data = _read_bytes(path)
        if data is None:
            continue  # a split left out of validation
        anomalies = anomalies_pb2.Anomalies.FromString(data)
        infos = sorted(anomalies.anomaly_info.items())
        if anomalies.HasField("dataset_anomaly_info"):
            infos.append((DATASET, anomalies.dataset_anomaly_info))
        for feature, info in infos:
            found.append(
                Anomaly(
                    split=split,
                    feature=feature,
                    types=tuple(
                        anomalies_pb2.AnomalyInfo.Type.Name(reason.type) for reason in info.reason
                    ),
                    short_description=info.short_description,
                    description=info.description or info.short_description,
                )
            )
    return found


def by_split(anomalies: list[Anomaly]) -> dict[str, list[str]]:
    """{split: ["feature: short description", ...]}, the end-of-run summary's form."""
    found = {}
    for anomaly in anomalies:
        found.setdefault(anomaly.split, []).append(
            f"{anomaly.feature}: {anomaly.short_description}"
        )
    return found


def describe(anomalies: list[Anomaly], schema: str) -> str:
    """The message of a run stopped by anomalies; `schema` says which schema they break."""
    count = f"{len(anomalies)} anomal{'y' if len(anomalies) == 1 else 'ies'}"
    lines = [f"The examples do not match their schema ({count}), so nothing was trained:"]
    lines += [f"  {anomaly}" for anomaly in anomalies]
    lines.append(f"The schema: {schema}.")
    return "\n".join(lines)


def _split_files(anomalies_uri: str) -> list[tuple[str, str]]:
    """(split, SchemaDiff.pb path) for each split directory, in name order."""
    if "://" in anomalies_uri:
        import tensorflow as tf

        names = [name.rstrip("/") for name in tf.io.gfile.listdir(anomalies_uri)]
    else:
        names = os.listdir(anomalies_uri) if os.path.isdir(anomalies_uri) else []
    return [
        (name[len("Split-") :], os.path.join(anomalies_uri, name, ANOMALIES_FILE))
        for name in sorted(names)
        if name.startswith("Split-")
    ]


def _read_bytes(path: str) -> bytes | None:
    if "://" in path:
        import tensorflow as tf

        if not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path, "rb") as file:
            return file.read()
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as file:
        return file.read()
