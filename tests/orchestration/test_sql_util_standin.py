"""orchestration/sql_util_standin.py, which the image loads in every Python process (a .pth
file): tensorflow-data-validation imports without tfx, as Beam's SDK workers import it."""

import subprocess
import sys

CHECK = """
import sys
{first}
import tensorflow_data_validation
print(type(sys.modules["tfx_bsl.arrow.sql_util"]).__name__)
"""


def run(first):
    return subprocess.run(
        [sys.executable, "-c", CHECK.format(first=first)], capture_output=True, text=True
    )


def test_tfdv_imports_without_tfx_with_the_stand_in():
    alone = run("")
    assert alone.returncode and "cannot import name 'sql_util'" in alone.stderr
    standin = run("import orchestration.sql_util_standin")
    assert standin.returncode == 0, standin.stderr[-2000:]
    assert standin.stdout.split() == ["MagicMock"]
