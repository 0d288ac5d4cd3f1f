"""Command-line tools on a pushed model: `predict` (masks and overlays) and `evaluate`.

Both load only the pushed SavedModel and its metadata (inference/model.py), never the
pipeline, so they work in a fresh process wherever the project is installed.
"""

import logging
import os
import sys

# Before TensorFlow is imported (every tool imports this package first): the project runs
# on Keras 2 (tf_keras), and TF's C++ INFO/WARNING lines would bury the tools' output.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
