"""Console output for local runs: one line per component, details in a log file.

TFX, Beam and TensorFlow log a great deal at INFO. The console keeps what a person running
the pipeline needs (component progress, the project's own messages, warnings and errors);
the full INFO log goes to a file beside the outputs.
"""

import logging
import os
import sys
import time

from absl import logging as absl_logging

from pipeline import configs

# Messages from tfx/orchestration/local/local_dag_runner.py and portable/launcher.py.
_RUNNING = "Component %s is running."
_FINISHED = "Component %s is finished."
_CACHED = "A cached execution %d is used."
# Known harmless warnings on this stack (see docs/development.md, "Messages that look alarming").
_HARMLESS = (
    "property_predicate is not supported",
    "must be binary-compatible",
    "is deprecated and will be removed",
    "does not have payload_format custom property",
)


class ComponentProgress(logging.Filter):
    """Passes console-worthy records; rewrites component start/finish as progress lines."""

    def __init__(self):
        super().__init__()
        self._started = {}
        self._cached = False

    def filter(self, record):
        if record.msg == _RUNNING:
            (name,) = record.args
            self._started[name] = time.time()
            self._cached = False
            record.msg, record.args = "%s: running ...", (name,)
            return True
        if record.msg == _FINISHED:
            (name,) = record.args
            seconds = time.time() - self._started.get(name, time.time())
            how = "cached" if self._cached else "done"
            record.msg, record.args = "%s: %s (%.0f s)", (name, how, seconds)
            return True
        if record.msg == _CACHED:
            self._cached = True
            return False
        if record.name == "py.warnings":  # Libraries' deprecation notices: run.log only.
            return False
        if record.levelno >= logging.WARNING:
            return not any(text in record.getMessage() for text in _HARMLESS)
        return record.pathname.startswith(configs.PROJECT_DIR) and ".venv" not in record.pathname


def configure_logging(log_path: str):
    """INFO to log_path; a filtered, readable console."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    absl_logging.set_verbosity(absl_logging.INFO)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    # absl and TensorFlow add stderr handlers of their own; everything goes through root.
    absl_logging.get_absl_handler().setLevel(logging.CRITICAL + 1)
    logging.getLogger("tensorflow").handlers.clear()

    logging.captureWarnings(True)
    file_handler = logging.FileHandler(log_path)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)

    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    console.addFilter(ComponentProgress())
    root.addHandler(console)
