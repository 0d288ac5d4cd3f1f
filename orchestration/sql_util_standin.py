"""A stand-in for `tfx_bsl.arrow.sql_util` in processes that never import tfx first.

tensorflow-data-validation 1.16 imports `tfx_bsl.arrow.sql_util`, which tfx-bsl 1.21 no
longer ships; `import tfx` puts a MagicMock in its place (tfx/__init__.py), and every entry
point here imports tfx first. Beam's SDK workers do not: a worker started by
`apache_beam.runners.worker.worker_pool_main` (the portable runner's EXTERNAL environment,
Flink's and Spark's worker-pool sidecar) unpickles StatisticsGen's DoFns straight away and
fails with `cannot import name 'sql_util' from 'tfx_bsl.arrow'`.

Beam's multi_processing mode (`--beam-arg=--direct_running_mode=multi_processing`) starts
such workers on this machine too.

The image installs this module from a .pth file (see the Dockerfile), so it runs when any
Python process there starts; a local run gives it to the processes it starts through
`in_child_processes`. It only appends a finder to `sys.meta_path`: nothing is imported
until something asks for `tfx_bsl.arrow.sql_util`, and then the real module wins if it
exists (the finder is last); otherwise the module is the same MagicMock as TFX's.
"""

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys

NAME = "tfx_bsl.arrow.sql_util"


class _StandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname != NAME:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        from unittest import mock

        return mock.MagicMock()

    def exec_module(self, module):
        pass


def install() -> None:
    if not any(isinstance(finder, _StandIn) for finder in sys.meta_path):
        sys.meta_path.append(_StandIn())


# Its sitecustomize.py imports this module: Python runs it at the start of every process
# that has the folder on its PYTHONPATH.
CHILD_SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child_site")


@contextlib.contextmanager
def in_child_processes():
    """Every Python process started meanwhile (Beam's SDK workers) gets the stand-in.

    A sitecustomize.py elsewhere on the path (some Linux distributions ship one) is not run
    in those processes: Python imports only the first.
    """
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([CHILD_SITE_DIR, *([saved] if saved else [])])
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


install()
