"""The model card: caveats, the Markdown tables and the JSON, from plain data."""

import json
import math

import jinja2
import pytest

from evaluation import model_card


def card(synthetic=True, pretrained=False, weights="imagenet", baseline=True):
    data = {
        "source": "TFDS synthetic_pets/tiny/1.1.0",
        "synthetic": synthetic,
        "examples": {"train": 32, "eval": 8},
        "uri": "/runs/TFDSExampleGen/examples/1",
        "mlmd_id": 1,
    }
    encoder = {
        "backbone": "mobilenet_v2",
        "alpha": 0.5,
        "weights": weights,
        "pretrained": pretrained,
    }
    return model_card.ModelCard(
        model={
            "name": "pet-segmentation",
            "classes": ["pet", "background", "border"],
            "image_size": 128,
            "test_time_flip": False,
            "trained_at": "2026-12-02T06:00:00+00:00",
            "uri": "/runs/Trainer/model/5",
            "mlmd_id": 5,
        },
        data=data,
        encoder=encoder,
        training={"epochs": 30, "loss": "dice"},
        evaluation={
            "metrics": {"dice_border": math.nan, "example_count": 8, "mean_dice": 0.61},
            "baseline_metrics": {"mean_dice": 0.6, "example_count": 8} if baseline else {},
            "changes": {"mean_dice": 0.01} if baseline else {},
            "checks": [
                {"description": "mean_dice >= 0.5", "value": 0.61, "passed": True},
                {"description": "mean_dice - baseline's >= -0.01", "value": 0.01, "passed": True},
            ],
            "blessed": True,
        },
        caveats=model_card.caveats_for(data, encoder),
    )


def test_caveats_name_synthetic_data_and_missing_pretrained_weights():
    synthetic_scratch = card()
    assert len(synthetic_scratch.caveats) == 2
    assert "generated scenes" in synthetic_scratch.caveats[0]
    assert "--recipe photos" in synthetic_scratch.caveats[0]
    assert "trained from scratch" in synthetic_scratch.caveats[1]
    # Real photos, pretrained: nothing to warn of. Scratch by choice: nothing either.
    assert card(synthetic=False, pretrained=True).caveats == []
    assert card(synthetic=False, weights="none").caveats == []


def test_markdown_has_the_provenance_scores_and_checks():
    text = model_card.to_markdown(card())
    assert text.startswith("# Model card: pet-segmentation\n")
    assert "> **Caveat.** Trained and evaluated on generated scenes" in text
    assert "| Encoder started from | scratch (random weights) (asked for: imagenet) |" in text
    assert "| Source | TFDS synthetic_pets/tiny/1.1.0 |" in text
    assert "| Real photos | no: generated scenes |" in text
    assert "| Examples, train split | 32 |" in text and "| Examples, eval split | 8 |" in text
    assert "| epochs | 30 |" in text and "| loss | dice |" in text
    assert "| mean_dice | 0.6100 | 0.6000 | 0.0100 |" in text
    assert "| example_count | 8 | 8 | n/a |" in text
    assert "| dice_border | n/a | n/a | n/a |" in text
    assert "| mean_dice >= 0.5 | 0.6100 | passed |" in text
    assert "**Blessed: yes.**" in text


def test_without_a_baseline_the_card_says_the_regression_check_did_not_apply():
    text = model_card.to_markdown(card(baseline=False, synthetic=False, pretrained=True))
    assert "| mean_dice | 0.6100 |\n" in text  # one column of scores
    assert "the regression check did not apply" in text
    assert "Caveat" not in text
    assert "| Encoder started from | ImageNet weights (asked for: imagenet) |" in text


def test_written_json_is_valid_and_nan_free(tmp_path):
    markdown_path, json_path = model_card.write(card(), str(tmp_path / "assets.extra"))
    assert markdown_path.endswith("assets.extra/model_card.md")
    with open(json_path) as file:
        written = json.loads(file.read(), parse_constant=lambda name: pytest.fail(name))
    assert written["evaluation"]["metrics"]["dice_border"] is None
    assert written["data"]["synthetic"] is True and written["encoder"]["pretrained"] is False
    assert written["caveats"] == card().caveats
    assert open(markdown_path).read() == model_card.to_markdown(card())


def test_a_missing_field_is_an_error_not_an_empty_cell():
    incomplete = card()
    del incomplete.model["image_size"]
    with pytest.raises(jinja2.UndefinedError, match="image_size"):
        model_card.to_markdown(incomplete)
