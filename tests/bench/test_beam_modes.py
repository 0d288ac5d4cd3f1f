"""bench/beam_modes.py: Beam's in_memory against multi_processing, --quick, on a tiny run."""

import math

import pytest

from tests.bench.conftest import run_benchmark


def test_mode_args_change_only_the_direct_runners_mode_and_workers():
    from bench import beam_modes

    pipeline_args = ["--runner=FnApiRunner", "--direct_running_mode", "in_memory", "--x=1"]
    assert beam_modes.mode_args(pipeline_args, "multi_processing", 2) == [
        "--runner=FnApiRunner",
        "--x=1",
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    ]
    assert beam_modes.mode_args(["--direct_num_workers=4"], "in_memory", 2) == [
        "--direct_running_mode=in_memory",
        "--direct_num_workers=1",
    ]
    assert beam_modes.current_mode(pipeline_args) == "in_memory"
    assert beam_modes.current_mode(["--direct_running_mode=multi_processing"]) == (
        "multi_processing"
    )


@pytest.mark.slow  # about 2.5 minutes besides the tiny run: a worker process costs ~10 s
def test_beam_modes_measures_both_modes_of_both_components(tiny_run, tmp_path):
    output_dir, _ = tiny_run
    results_path = tmp_path / "beam_modes.json"
    results = run_benchmark("beam_modes", output_dir, results_path)

    assert results["benchmark"] == "beam_modes"
    rows = {row["component"]: row for row in results["rows"]}
    assert set(rows) == {"StatisticsGen", "Evaluator"}
    for row in rows.values():
        for mode in ("in_memory", "multi_processing"):
            assert row[mode]["errors"] == []
            assert row[mode]["runs"] == 1
            assert row[mode]["seconds_median"] > 0
            assert row[mode]["peak_rss_gib_max"] > 0
        assert 0 < row["ratio"] < math.inf
        assert row["ratio"] == (
            row["in_memory"]["seconds_median"] / row["multi_processing"]["seconds_median"]
        )
        assert row["outputs"]["agree"] is True
        assert row["outputs"]["modes_compared"] == ["in_memory", "multi_processing"]
    # multi_processing ran its SDK workers as child processes; in_memory ran in-process.
    multi = rows["StatisticsGen"]["multi_processing"]
    assert multi["most_child_processes"] >= 2
    assert len(multi["cpu_seconds_workers"][0]) == 2  # both workers seen, with CPU time
    assert rows["StatisticsGen"]["in_memory"]["cpu_seconds_workers"] == [[]]
    for row in rows.values():
        for mode in ("in_memory", "multi_processing"):
            assert 0 < row[mode]["cores_busy_median"] <= 2.5  # 2 cores, sampling slack
    # The tiny dataset: 32 train and 16 eval examples, counted by StatisticsGen.
    assert rows["StatisticsGen"]["outputs"]["num_examples"] == {"train": 32, "eval": 16}
    differences = rows["Evaluator"]["outputs"]["max_abs_difference"]
    assert differences["across_modes"]["overall"] <= 1e-6
    assert rows["Evaluator"]["outputs"]["same_slices_and_metrics"] is True
    assert rows["Evaluator"]["outputs"]["overall_metrics"]
    # Both modes' args are the pipeline's with only the mode and workers changed.
    modes = results["settings"]["mode_beam_pipeline_args"]
    assert "--direct_running_mode=multi_processing" in modes["multi_processing"]
    assert "--direct_num_workers=2" in modes["multi_processing"]
    assert "--direct_running_mode=in_memory" in modes["in_memory"]
    assert results["decision"]["suggested_default"] in ("in_memory", "multi_processing")
    assert "StatisticsGen" in results["table"] and "Evaluator" in results["table"]
    assert "multi_processing" in results["cpu_table"]
    # Without the stand-in, a fresh process (as an SDK worker starts) cannot import TFDV.
    check = results["worker_import_check"]
    assert check["with_standin"]["imports"] is True
    assert check["without_standin"] == {
        "imports": False,
        "error": check["without_standin"]["error"],
    }
    assert "sql_util" in check["without_standin"]["error"]
    assert len(results["runs"]) == 4
