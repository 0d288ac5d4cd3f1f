"""orchestration/sql_util_standin.py, which the image loads in every Python process (a .pth
file): tensorflow-data-validation imports without tfx, as Beam's SDK workers import it."""

import os
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


def test_in_child_processes_puts_the_stand_in_first_on_the_path_and_restores_it(monkeypatch):
    from orchestration import sql_util_standin

    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    with sql_util_standin.in_child_processes():
        path = os.environ["PYTHONPATH"].split(os.pathsep)
        assert path == [sql_util_standin.CHILD_SITE_DIR, "/elsewhere"]
        assert os.path.isfile(os.path.join(path[0], "sitecustomize.py"))
    assert os.environ["PYTHONPATH"] == "/elsewhere"
    monkeypatch.delenv("PYTHONPATH")
    with sql_util_standin.in_child_processes():
        pass
    assert "PYTHONPATH" not in os.environ


def test_beams_multi_processing_workers_import_tfdv_in_child_processes(tmp_path):
    """What StatisticsGen's workers do under --direct_running_mode=multi_processing."""
    from orchestration import sql_util_standin

    script = tmp_path / "pipeline.py"
    script.write_text(BEAM_PIPELINE)
    with sql_util_standin.in_child_processes():
        result = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    # The worker processes, not the submitting one, imported TFDV: their process ids.
    worker_ids = {int(line) for line in (tmp_path / "out-00000-of-00001").read_text().split()}
    assert worker_ids and result.stdout.strip() not in {str(pid) for pid in worker_ids}


# Run in a fresh interpreter that never imports tfx, as an SDK worker is; it prints its
# own process id and writes the workers'.
BEAM_PIPELINE = """
import os
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def import_tfdv(element):
    import tensorflow_data_validation  # noqa: F401

    return os.getpid()


options = PipelineOptions(
    ["--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
)
with beam.Pipeline(options=options) as pipeline:
    (
        pipeline
        | beam.Create(range(4))
        | beam.Map(import_tfdv)
        | beam.io.WriteToText(sys.argv[1], num_shards=1)
    )
print(os.getpid())
"""
