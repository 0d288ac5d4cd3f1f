"""bench/common.py: results documents, tables and the memory sampler."""

import json
import subprocess
import sys
import time

from bench import common


def test_write_results_records_machine_and_commit(tmp_path):
    path = common.write_results("example", {"ratio": 0.5}, str(tmp_path / "example.json"))

    document = json.loads(open(path).read())
    assert document["benchmark"] == "example"
    assert document["ratio"] == 0.5
    assert document["machine"]["cpu_cores_available"] >= 1
    assert document["machine"]["memory_gib"] > 0
    assert "commit" in document  # None where the checkout has no git history
    assert list(tmp_path.iterdir()) == [tmp_path / "example.json"]  # no .partial left


def test_format_table_aligns_columns_and_rounds():
    table = common.format_table(["name", "value"], [["a", 0.12345], ["longer", 1234.5]])

    lines = table.splitlines()
    assert lines[0] == "name    value"
    assert lines[1] == "------  -----"
    assert lines[2] == "a       0.123"
    assert lines[3] == "longer  1234"  # large figures without decimals (1234.5 rounds to even)


def test_peak_memory_counts_child_processes():
    # A child that holds 300 MB for a second: the sampler must see it in the tree's peak.
    holder = "import time; block = bytearray(300 * 2**20); time.sleep(1.5)"
    process = subprocess.Popen([sys.executable, "-c", holder])
    started = time.time()
    with common.PeakMemory(interval_seconds=0.1) as memory:
        process.wait()
    assert memory.peak_bytes >= 300 * 2**20
    assert memory.peak_between(started, time.time()) == max(size for _, size in memory.samples)
    assert memory.peak_between(0, 1) is None  # no sample that long ago
