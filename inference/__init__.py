"""Command-line tools on a pushed model: `predict` (masks and overlays) and `evaluate`.

Both load only the pushed SavedModel and its metadata (inference/model.py), never the
pipeline, so they work in a fresh process wherever the project is installed. They import
TensorFlow (through inference/model.py) only once their flags are parsed, so that `--help`
and flag errors answer at once.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import logging
import sys

from pipeline import configs, flags

# Where local_runner.py pushes with its defaults.
DEFAULT_MODEL_DIR = configs.PipelineConfig().serving_model_dir


def add_common_flags(parser: argparse.ArgumentParser):
    """The flags both commands take, defined once: --model and --version."""
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL_DIR,
        help="a pushed version directory, or the directory above them (newest version used) "
        "(default: %(default)s)",
    )
    flags.add_version_flag(parser)


def add_limit_flag(parser: argparse.ArgumentParser, which: str):
    """--limit N: the same type and name in both commands; `which` says which N."""
    parser.add_argument(
        "--limit", type=flags.at_least(1), metavar="N", help=f"{which} (default: all)"
    )


def setup_logging():
    """The tools' own messages as plain lines on stderr.

    Not through the root logger: TensorFlow, Beam and TFMA configure it on import (a plain
    basicConfig would then do nothing, and lower levels would let their INFO lines through).
    """
    logger = logging.getLogger(__name__)
    if not logger.handlers:
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a message comes (pytest swaps it per test)."""

    def emit(self, record):
        print(self.format(record), file=sys.stderr)
