"""bench/end_to_end.py on the tiny dataset: times per component from ML Metadata, overhead."""

import json

from bench import end_to_end
from tests.conftest import DATA_COMPONENTS


def test_times_every_component_and_accounts_for_the_wall_time(tmp_path, component_ids):
    results_path = tmp_path / "end_to_end_tiny.json"
    end_to_end.main(
        [
            "--size=tiny",
            f"--output-dir={tmp_path / 'run'}",
            f"--results={results_path}",
            "--",
            f"--data-dir={tmp_path / 'tfds'}",
            "--image-size=64",
            "--epochs=1",
            "--train-steps=3",
            "--encoder-weights=none",
            "--blessing-min=0",
        ]
    )

    results = json.loads(results_path.read_text())
    components = {row["component"]: row for row in results["components"]}
    assert set(components) == component_ids
    assert all(row["state"] == "COMPLETE" for row in components.values())  # a cold run
    # The Trainer and the Beam components do real work; the report shows where it went.
    for name in ("Trainer", "Transform", "Evaluator", *DATA_COMPONENTS[:2]):
        assert components[name]["seconds"] > 0
    assert components["Trainer"]["peak_memory_gib"] > 0.2

    # Wall time = the components' time + the overhead, whose parts add up to it.
    parts = results["overhead_parts_seconds"]
    assert results["components_seconds"] == round(
        sum(row["seconds"] for row in components.values()), 1
    )
    assert abs(results["wall_seconds"] - results["components_seconds"] - results["overhead_seconds"]) < 0.2
    assert abs(sum(parts.values()) - results["overhead_seconds"]) < 0.5
    assert parts["before_first_component"] > 1  # the interpreter and TFX's imports at least
    assert 0 < results["overhead_fraction"] < 1
    assert results["peak_memory_gib"] >= max(row["peak_memory_gib"] or 0 for row in components.values())
    assert results["blessed"] is True  # blessing_min 0
    assert results["example_count_eval"] == 16  # the tiny eval split
    assert results["machine"]["cpu_cores_available"] >= 1
