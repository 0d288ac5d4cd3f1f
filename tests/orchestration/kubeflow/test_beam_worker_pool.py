"""StatisticsGen, Transform and the Evaluator run on Beam's portable runner, their work done
by SDK workers in the project's image: the shape Flink and Spark run Beam Python in (a
worker-pool sidecar beside the runner), without Flink or Spark.

A local job service (Beam's, in this environment) takes the jobs; the image, started with
podman as an EXTERNAL worker pool, runs them. The tiny pipeline runs with local_runner.py
and --beam-arg; its outputs live in one directory mounted at the same path in the container,
so that the paths in the jobs mean the same files on both sides. The container runs as
user 0, which is the user running podman (rootful or rootless): TensorFlow makes the
pipeline's directories 0755, and the workers write into them.
"""

import os
import re
import socket
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import tiny_runner_flags

pytestmark = pytest.mark.slow  # the image, and a pipeline run of about 2 minutes

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
PIPELINE_DIR = "pipeline_root/pet-segmentation"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, log_path, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"nothing listens on port {port} after {seconds} s:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def beam_services(project_image, tmp_path_factory, request):
    """A job service on this machine and a worker pool in the image; (shared dir, ports, logs)."""
    shared = tmp_path_factory.mktemp("beam-shared")
    shared.chmod(0o777)
    logs = tmp_path_factory.mktemp("beam-logs")
    job_port, pool_port = free_port(), free_port()
    job_log, pool_log = logs / "job_service.log", logs / "worker_pool.log"
    container = f"beam-worker-pool-{uuid.uuid4().hex[:8]}"

    with open(job_log, "w") as log:
        job_service = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main"]
            + ["--port", str(job_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    request.addfinalizer(lambda: (job_service.kill(), job_service.wait()))
    with open(pool_log, "w") as log:
        pool = subprocess.Popen(
            ["podman", "run", "--rm", "--name", container, "--network=host", "--user=0:0"]
            + ["--volume", f"{shared}:{shared}", project_image]
            + ["python", "-m", "apache_beam.runners.worker.worker_pool_main"]
            + [f"--service_port={pool_port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop_pool():
        subprocess.run(["podman", "rm", "--force", container], capture_output=True)
        pool.wait(timeout=60)

    request.addfinalizer(stop_pool)
    wait_for_port(job_port, job_service, job_log)
    wait_for_port(pool_port, pool, pool_log)
    return shared, job_port, pool_port, job_log, pool_log


def test_beam_components_run_in_the_images_worker_pool(beam_services):
    shared, job_port, pool_port, job_log, pool_log = beam_services
    outputs = shared / "outputs"
    beam_args = [
        "--runner=PortableRunner",
        f"--job_endpoint=localhost:{job_port}",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{pool_port}",
    ]
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "local_runner.py", *tiny_runner_flags(shared / "tfds")]
        + ["--output-dir", str(outputs)]
        + [f"--beam-arg={arg}" for arg in beam_args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert "Finished in" in run.stdout and "Blessed: yes" in run.stdout, run.stdout[-3000:]
    print(f"local_runner.py on the portable runner: {elapsed:.0f} s")

    # The three Beam-powered components wrote their outputs.
    root = outputs / PIPELINE_DIR
    for split in ("Split-train", "Split-eval"):
        assert list(root.glob(f"StatisticsGen/statistics/*/{split}/FeatureStats.pb")), split
    assert list(root.glob("Transform/transform_graph/*/transform_fn/saved_model.pb"))
    assert list(root.glob("Evaluator/evaluation/*/metrics-*"))

    # One job each for StatisticsGen, Transform and the Evaluator, all done, on the pool.
    service = job_log.read_text()
    assert len(re.findall(r"Completed job in .* with state DONE", service)) == 3, service
    assert "Error running pipeline" not in service, service
    assert service.count(f"Requesting worker at localhost:{pool_port}") == 3, service
    # And each job's SDK worker ran in the container: the pool started one per job,
    # connected to the control server the job service opened for that job.
    control_ports = re.findall(r"starting control server on port (\d+)", service)
    pool_text = pool_log.read_text()
    started_workers = re.findall(
        r'Starting worker with command .*SdkHarness\("localhost:(\d+)"', pool_text
    )
    assert len(control_ports) == 3 and sorted(started_workers) == sorted(control_ports), (
        control_ports,
        pool_text[-3000:],
    )
    assert "Traceback" not in pool_text, pool_text[-3000:]
    # The run's log names the portable runner for the Beam components.
    assert f"--job_endpoint=localhost:{job_port}" in (outputs / "run.log").read_text()
    assert os.path.isdir(outputs / "serving_model")
