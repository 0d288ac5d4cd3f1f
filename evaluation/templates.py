"""The Jinja2 templates of the report page and the model card, and their environment.

Kept as Python strings, not template files: the project's code hash (pipeline/
code_version.py) then covers them, so an edit re-runs the components that render them,
and they install with the package like any module.
"""

import jinja2

MODEL_CARD_MARKDOWN = """\
# Model card: {{ card.model.name }}

{% for caveat in card.caveats -%}
> **Caveat.** {{ caveat }}

{% endfor -%}
## Model

| | |
|---|---|
| Task | semantic segmentation into {{ card.model.classes | join(", ") }} |
| Architecture | U-Net, {{ card.encoder.backbone }} encoder (width {{ card.encoder.alpha }}) |
| Encoder started from | {{ "ImageNet weights" if card.encoder.pretrained else "scratch (random weights)" }} (asked for: {{ card.encoder.weights }}) |
| Input | an encoded image (JPEG, PNG, GIF or BMP), resized to {{ card.model.image_size }} x {{ card.model.image_size }} |
| Test-time flip | {{ "yes: each prediction averages the image's and its mirror's" if card.model.test_time_flip else "no" }} |
| Trained | {{ card.model.trained_at }} |
| Model artifact | `{{ card.model.uri }}` (ML Metadata artifact {{ card.model.mlmd_id }}) |

## Data

| | |
|---|---|
| Source | {{ card.data.source }} |
| Real photos | {{ "no: generated scenes" if card.data.synthetic else "yes" }} |
{% for split, count in card.data.examples.items() -%}
| Examples, {{ split }} split | {{ count }} |
{% endfor -%}
| Examples artifact | `{{ card.data.uri }}` (ML Metadata artifact {{ card.data.mlmd_id }}) |

## Training settings

| setting | value |
|---|---|
{% for name, value in card.training.items() -%}
| {{ name }} | {{ value }} |
{% endfor %}
## Evaluation

The Evaluator on the eval split, exact over all pixels, in inference mode.

| metric | this model |{% if card.evaluation.baseline_metrics %} last blessed model | change |{% endif %}
|---|---|{% if card.evaluation.baseline_metrics %}---|---|{% endif %}
{% for name, value in card.evaluation.metrics.items() -%}
| {{ name }} | {{ number(value) }} |{% if card.evaluation.baseline_metrics %} {{ number(card.evaluation.baseline_metrics.get(name)) }} | {{ number(card.evaluation.changes.get(name)) }} |{% endif %}
{% endfor %}
**Blessed: {{ "yes" if card.evaluation.blessed else "no" }}.**{% if not card.evaluation.baseline_metrics %} No earlier blessed model: the regression check did not apply.{% endif %}

| check | value | result |
|---|---|---|
{% for check in card.evaluation.checks -%}
| {{ check.description }} | {{ number(check.value) }} | {{ {True: "passed", False: "FAILED", None: "not recorded"}[check.passed] }} |
{% endfor %}
## Intended use and limits

- Pixel classes of images like those of its data source; the classes and their order are
  in `assets.extra/segmentation.json`.
- Scores are on a held-out split of the same source: other photos, cameras or species can
  score lower.
"""

REPORT_HTML = """\
<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>{{ data.title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1100px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #ddd; }
.caveat { border: 2px solid #c0392b; background: #fdecea; padding: 0.6em 1em; margin: 1em 0; }
.passed { color: #1e7b34; font-weight: bold; }
.failed { color: #c0392b; font-weight: bold; }
code { background: #f4f4f4; padding: 1px 4px; }
</style>
</head>
<body>
<h1>{{ data.title }}</h1>
{% for caveat in data.caveats %}
<p class="caveat"><strong>Caveat.</strong> {{ caveat }}</p>
{% endfor %}
<table>
{% for name, value in data.facts.items() %}
<tr><th>{{ name }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>

{% if data.checks %}
<h2>Blessing checks</h2>
<table>
<tr><th>check (whole eval split)</th><th>value</th><th>result</th></tr>
{% for check in data.checks %}
<tr><td>{{ check.description }}</td><td class="number">{{ number(check.value) }}</td>
<td class="{{ 'passed' if check.passed else 'failed' }}">{{ {True: "passed", False: "FAILED", None: "not recorded"}[check.passed] }}</td></tr>
{% endfor %}
</table>
{% if not data.baseline_metrics %}<p>No earlier blessed model: the regression check did not apply.</p>{% endif %}
{% endif %}

{% if data.metrics %}
<h2>Scores on the whole eval split</h2>
<p>The Evaluator's, exact over all pixels, in inference mode.</p>
<table>
<tr><th>metric</th><th>this model</th>{% if data.baseline_metrics %}<th>last blessed model</th><th>change</th>{% endif %}</tr>
{% for name in metric_names %}
{% set value = data.metrics[name] %}
{% set baseline = data.baseline_metrics.get(name) %}
<tr><th>{{ name }}</th><td class="number">{{ shown(name, value) }}</td>
{% if data.baseline_metrics %}<td class="number">{{ shown(name, baseline) }}</td>
<td class="number">{{ shown(name, value - baseline) if baseline is not none and value is not none else "n/a" }}</td>{% endif %}</tr>
{% endfor %}
</table>
{% endif %}
{% if pictures.get("metrics.png") %}<img src="metrics.png" alt="Dice and IoU per class">{% endif %}

{% if data.slices %}
<h2>Mean Dice per slice</h2>
{% if pictures.get("slices.png") %}<img src="slices.png" alt="mean Dice per slice">{% endif %}
{% for feature, rows in slice_rows.items() %}
<h3>By {{ feature }} (examples in brackets)</h3>
<table>
<tr><th>{{ feature }}</th><th>this model</th>{% if data.baseline_slices %}<th>last blessed model</th>{% endif %}</tr>
{% for name, value, baseline in rows %}
<tr><td>{{ name }}</td><td class="number">{{ number(value) }}</td>{% if data.baseline_slices %}<td class="number">{{ number(baseline) }}</td>{% endif %}</tr>
{% endfor %}
</table>
{% endfor %}
{% endif %}

{% if confusion_rows %}
<h2>Confusion matrix</h2>
<p>Pixels of each true class (rows) by predicted class (columns), over the {{ data.confusion_images }} eval
examples pictured below, predicted at their own size; in brackets, the share of the row.</p>
<table>
<tr><th>true \\ predicted</th>{% for name in data.class_names %}<th>{{ name }}</th>{% endfor %}</tr>
{% for name, cells in confusion_rows %}
<tr><th>{{ name }}</th>{% for count, share in cells %}<td class="number">{{ count }} ({{ "%.1f%%" % (100 * share) if share is not none else "n/a" }})</td>{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}

{% if pictures.get("samples.png") %}<h2>A fixed sample of the eval split</h2><img src="samples.png" alt="sample predictions">{% endif %}
{% if pictures.get("worst.png") %}<h2>The eval examples with the lowest mean Dice</h2><img src="worst.png" alt="worst predictions">{% endif %}
{% if pictures.get("training.png") %}<h2>Training curves</h2><img src="training.png" alt="training curves">{% endif %}
{% if data.tensorboard_dir %}<p>Epoch by epoch in TensorBoard: <code>tensorboard --logdir {{ data.tensorboard_dir }}</code></p>{% endif %}

{% if data.links %}
<h2>Artifacts</h2>
<table>
{% for name, target in data.links.items() %}
<tr><th>{{ name }}</th><td><a href="{{ target }}">{{ target }}</a></td></tr>
{% endfor %}
</table>
{% endif %}
</body>
</html>
"""

_ENVIRONMENTS = {
    # HTML escapes every value; Markdown takes text as it is.
    autoescape: jinja2.Environment(
        loader=jinja2.DictLoader(
            {"model_card.md": MODEL_CARD_MARKDOWN, "report.html": REPORT_HTML}
        ),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,  # a missing field is an error, not an empty cell
        keep_trailing_newline=True,
    )
    for autoescape in (False, True)
}


def render(name: str, **context) -> str:
    """Renders "model_card.md" or "report.html" (HTML-escaped) with context."""
    return _ENVIRONMENTS[name.endswith(".html")].get_template(name).render(**context)
