from metadata.run_summary import RunSummary, format_summary


def test_summary_shows_metrics_blessing_and_pushed_path():
    text = format_summary(
        RunSummary(
            metrics={"mean_dice": 0.91234, "dice_border": float("nan"), "example_count": 250.0},
            evaluation_uri="/x",
            blessed=True,
            pushed_model_dir="/serving/1",
            anomalies={"train": [], "eval": ["file_name: Unexpected string values"]},
            visual_report="/reports/7/index.html",
        )
    )
    assert text.endswith("Visual report: /reports/7/index.html")
    assert "mean_dice                0.9123" in text
    assert "example_count            250\n" in text
    assert "dice_border              n/a (class absent)" in text
    assert "Blessed: yes" in text
    assert "Pushed model: /serving/1" in text
    assert "Data validation, train split: no anomalies" in text
    assert "Data validation, eval split: file_name: Unexpected string values" in text


def test_summary_of_an_unblessed_model():
    text = format_summary(
        RunSummary(metrics={}, evaluation_uri="/x", blessed=False, pushed_model_dir=None)
    )
    assert "Blessed: no" in text
    assert "nothing was pushed" in text
