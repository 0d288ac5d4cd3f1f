"""A stand-in for `tfx_bsl.arrow.sql_util` in processes that never import tfx first.

tensorflow-data-validation 1.16 imports `tfx_bsl.arrow.sql_util`, which tfx-bsl 1.21 no
longer ships; `import tfx` puts a MagicMock in its place (tfx/__init__.py), and every entry
point here imports tfx first. Beam's SDK workers do not: a worker started by
`apache_beam.runners.worker.worker_pool_main` (the portable runner's EXTERNAL environment,
Flink's and Spark's worker-pool sidecar) unpickles StatisticsGen's DoFns straight away and
fails with `cannot import name 'sql_util' from 'tfx_bsl.arrow'`.

The image installs this module from a .pth file (see the Dockerfile), so it runs when any
Python process there starts. It only appends a finder to `sys.meta_path`: nothing is
imported until something asks for `tfx_bsl.arrow.sql_util`, and then the real module wins
if it exists (the finder is last); otherwise the module is the same MagicMock as TFX's.
"""

import importlib.abc
import importlib.machinery
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


install()
