"""bench/end_to_end.py on the tiny dataset: times per component from ML Metadata, overhead."""

from tests.conftest import DATA_COMPONENTS


def test_times_every_component_and_accounts_for_the_wall_time(tiny_run, component_ids):
    _, results = tiny_run

    components = {row["component"]: row for row in results["components"]}
    assert set(components) == component_ids
    assert all(row["state"] == "COMPLETE" for row in components.values())  # a cold run
    for name in ("Trainer", "Evaluator", *DATA_COMPONENTS[:2]):
        assert components[name]["seconds"] > 0
    assert components["Trainer"]["peak_memory_gib"] > 0.2

    # Wall time = the components' time + the overhead, whose parts add up to it.
    parts = results["overhead_parts_seconds"]
    assert results["components_seconds"] == round(
        sum(row["seconds"] for row in components.values()), 1
    )
    unexplained = results["wall_seconds"] - results["components_seconds"]
    assert abs(unexplained - results["overhead_seconds"]) < 0.2
    assert abs(sum(parts.values()) - results["overhead_seconds"]) < 0.5
    assert parts["before_first_component"] > 1  # the interpreter and TFX's imports at least
    assert 0 < results["overhead_fraction"] < 1
    peaks = [row["peak_memory_gib"] or 0 for row in components.values()]
    assert results["peak_memory_gib"] >= max(peaks)
    assert results["blessed"] is True  # blessing_min 0
    assert results["example_count_eval"] == 16  # the tiny eval split
    assert results["machine"]["cpu_cores_available"] >= 1
