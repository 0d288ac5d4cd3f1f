"""FolderExampleGen's executor: find pairs, read and check each, write splits and a report."""

import collections
import json
import os

import tensorflow as tf
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components import component_specs as specs
from components import examples_io
from models import features
from models.mask_convention import MaskFormat
from sources import layouts, pairs
from sources.image_files import BadFile, SourceError, encode_png, read_image, read_mask

REPORT_FILE = "report.json"
# Judge "most pairs are bad" only once this many were read: a few bad files among the first
# ones say little, but a wrong mask convention shows up in every one of them.
MIN_PAIRS_BEFORE_FAILING = 20
LOGGED_SKIPS = 20  # Skips logged one by one; the rest are counted (all are in the report).


class TooManyBadPairs(SourceError):
    pass


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(output_dict[specs.EXAMPLES_KEY])
        report_artifact = artifact_utils.get_single_instance(output_dict[specs.REPORT_KEY])
        mask_format = MaskFormat.from_json(exec_properties[specs.MASK_FORMAT_KEY])
        discovery, description = layouts.discover(
            exec_properties[specs.LAYOUT_KEY],
            root=exec_properties.get(specs.ROOT_KEY) or "",
            image_dir=exec_properties.get(specs.IMAGE_DIR_KEY) or "",
            mask_dir=exec_properties.get(specs.MASK_DIR_KEY) or "",
        )
        train_pairs, eval_pairs = pairs.split_pairs(
            discovery.pairs,
            float(exec_properties[specs.EVAL_FRACTION_KEY]),
            int(exec_properties[specs.SEED_KEY]),
        )
        logging.info(
            "%s: %d pairs (%d train, %d eval); %d files without a partner.",
            description,
            len(discovery.pairs),
            len(train_pairs),
            len(eval_pairs),
            len(discovery.problems),
        )
        for problem in discovery.problems[:LOGGED_SKIPS]:
            logging.warning("Skipped: %s", problem)

        reader = PairReader(mask_format, float(exec_properties[specs.MAX_BAD_FRACTION_KEY]))
        counts = {}
        discovered = [
            {"path": p.path, "reason": p.reason, "split": None} for p in discovery.problems
        ]
        try:
            for split, split_pairs in (("train", train_pairs), ("eval", eval_pairs)):
                counts[split] = examples_io.write_split(
                    examples.uri,
                    split,
                    reader.tf_examples(split_pairs, split),
                    f"{description} {split}",
                )
            reader.check_bad_fraction(final=True)
        except TooManyBadPairs as failure:
            # TFX removes a failed execution's outputs: the report goes beside them, so
            # that the list of bad files is not lost with the run.
            path = os.path.join(failed_report_dir(report_artifact.uri), REPORT_FILE)
            write_report(path, description, discovery, counts, discovered + reader.skipped)
            raise TooManyBadPairs(f"{failure} Every unusable file and why: {path}") from None
        examples_io.finish_artifact(examples, counts, source=description)

        skipped = discovered + reader.skipped
        examples.set_int_custom_property("num_skipped", len(skipped))
        path = os.path.join(report_artifact.uri, REPORT_FILE)
        write_report(path, description, discovery, counts, skipped)
        report_artifact.set_int_custom_property("num_skipped", len(skipped))
        report_artifact.set_int_custom_property("num_examples", sum(counts.values()))
        if skipped:
            logging.warning("%d file(s) skipped; each one and why: %s", len(skipped), path)


def failed_report_dir(report_uri: str) -> str:
    """<pipeline root>/FolderExampleGen/failed_reports/<execution id>, for report/<id>."""
    node_dir = os.path.dirname(os.path.dirname(report_uri))
    return os.path.join(node_dir, "failed_reports", os.path.basename(report_uri))


def write_report(path, description, discovery, counts, skipped):
    report = {
        "source": description,
        "pairs_found": len(discovery.pairs),
        "examples_written": counts,
        "num_skipped": len(skipped),
        "skipped_by_reason": _count_reasons(skipped),
        "skipped": skipped,
    }
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as file:
        file.write(json.dumps(report, indent=2))


class PairReader:
    """Turns pairs into tf.Examples, skipping (and remembering) the ones that fail."""

    def __init__(self, mask_format: MaskFormat, max_bad_fraction: float):
        self.mask_format = mask_format
        self.max_bad_fraction = max_bad_fraction
        self.num_read = 0
        self.skipped = []

    def tf_examples(self, split_pairs, split):
        for pair in split_pairs:
            self.num_read += 1
            try:
                yield self.to_tf_example(pair)
            except BadFile as problem:
                self.skipped.append(
                    {"path": problem.path, "reason": problem.reason, "split": split}
                )
                if len(self.skipped) <= LOGGED_SKIPS:
                    logging.warning("Skipped: %s", problem)
                self.check_bad_fraction()

    def to_tf_example(self, pair: pairs.Pair) -> tf.train.Example:
        image = read_image(pair.image_path)
        mask = read_mask(pair.mask_path, self.mask_format, expected_size=image.size)
        feature = {
            features.IMAGE_KEY: examples_io.bytes_feature(image.encoded),
            features.MASK_KEY: examples_io.bytes_feature(encode_png(mask)),
            features.FILE_NAME_KEY: examples_io.bytes_feature(
                os.path.basename(pair.image_path).encode()
            ),
        }
        # Breed and species only where the source knows them (the Oxford layout).
        if pair.label != pairs.UNKNOWN:
            feature[features.LABEL_KEY] = examples_io.int_feature(pair.label)
        if pair.species != pairs.UNKNOWN:
            feature[features.SPECIES_KEY] = examples_io.int_feature(pair.species)
        return tf.train.Example(features=tf.train.Features(feature=feature))

    def check_bad_fraction(self, final=False):
        if not final and self.num_read < MIN_PAIRS_BEFORE_FAILING:
            return
        if self.num_read and len(self.skipped) > self.max_bad_fraction * self.num_read:
            reasons = dict(list(_count_reasons(self.skipped).items())[:5])
            raise TooManyBadPairs(
                f"{len(self.skipped)} of the {self.num_read} pairs read so far are unusable "
                f"(more than {self.max_bad_fraction:.0%}), so the source is probably "
                f"misconfigured. Most common problems: {reasons}. First: "
                f"{self.skipped[0]['path']}: {self.skipped[0]['reason']}. Check the folder "
                "paths and the masks' declared values or palette."
            )


def _count_reasons(skipped) -> dict[str, int]:
    """Every reason with its count, most common first; the counts add up to the skips.
    Reasons go on with details after a ';': grouped by what comes before it."""
    counter = collections.Counter(entry["reason"].split(";")[0] for entry in skipped)
    return dict(counter.most_common())
