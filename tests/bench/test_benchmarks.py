"""The Transform, Trainer-input and serving benchmarks, --quick, on a tiny pipeline run."""

import math
import os

from tests.bench.conftest import run_benchmark


def test_transform_compares_before_and_after_with_tf_data(tiny_run, tmp_path):
    output_dir, _ = tiny_run
    results = run_benchmark("transform", output_dir, tmp_path / "transform.json")

    rows = {row["row"]: row for row in results["rows"]}
    assert {"before", "after", "after + Trainer's pass"} <= set(rows)
    # "after" is read from pipeline.py: no transformed examples, no statistics.
    assert rows["after"]["transform_settings"] == {"materialize": False, "disable_statistics": True}
    assert rows["before"]["transform_settings"] == {
        "materialize": True,
        "disable_statistics": False,
    }
    for row in rows.values():
        assert 0 < row["ratio_median"] < math.inf
        assert row["tfdata_examples_per_second_median"] > 0
    # The Trainer's pass adds time to the same Transform run.
    full = rows["after + Trainer's pass"]
    assert full["seconds_median"] > full["transform_seconds_median"]
    assert results["inputs"]["examples_total"] > 0


def test_trainer_input_measures_both_sides(tiny_run, tmp_path):
    output_dir, _ = tiny_run
    results = run_benchmark("trainer_input", output_dir, tmp_path / "trainer_input.json")

    assert results["inputs"]["num_train_examples"] == 32  # the tiny train split
    assert results["config"]["image_size"] == 64  # the run's Transform graph decides
    speeds = results["images_per_second"]
    for side in ("input_pipeline", "in_memory"):
        assert 0 < speeds[side]["min"] <= speeds[side]["median"] <= speeds[side]["max"]
    assert results["ratio"] == speeds["input_pipeline"]["median"] / speeds["in_memory"]["median"]
    assert speeds["cache_filling_pass"] > 0
    assert results["goal"] == 0.95


def test_serving_measures_the_signature_against_the_bare_model(tiny_run, tmp_path):
    output_dir, _ = tiny_run
    results = run_benchmark("serving", output_dir, tmp_path / "serving.json")

    rows = results["measurements"]
    assert {row["batch_size"] for row in rows} == {1, 32}
    for row in rows:
        assert 0 < row["ratio"] < 2
        for side in ("signature", "bare"):
            assert row[side]["latency_ms_p95"] >= row[side]["latency_ms_p50"] > 0
            # CPU time over wall time of this process: some core was busy, and no more
            # cores than the machine has.
            assert 0 < row[side]["cpu_cores_busy"] <= os.cpu_count() + 0.1
    assert all(0 < stage["cpu_cores_busy"] for stage in results["profile"])
    assert results["inputs"]["image_size"] == 64
