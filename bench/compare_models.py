"""Compares losses and backbones on the same data and training budget, through the pipeline.

    python -m uv run python -m bench.compare_models --oxford-dir ~/data/oxford-iiit-pet
    python -m uv run python -m bench.compare_models             # the embedded synthetic data

Each variant is one pipeline run in the same output directory, so ingestion, statistics
and Transform run once and are cached for the others; only the Trainer, the Evaluator
and the report run again. The Evaluator's metrics on the eval split (exact over all
pixels) and the Trainer's wall time go to bench/results/compare_models.json and a table.
"""

import models  # noqa: F401  # isort: skip - first, for TensorFlow's environment
import argparse
import dataclasses
import json
import os
import platform
import sys
import time

from metadata import queries
from metadata.store import open_store
from orchestration.local import run as local_run
from pipeline import component_ids, configs, preflight

# (name, TrainingConfig overrides): the default first, then one change at a time.
VARIANTS = [
    ("mobilenet_v2 a0.5, dice (default)", {}),
    ("mobilenet_v2 a0.5, dice_ce", {"loss": "dice_ce"}),
    ("mobilenet_v2 a0.5, focal", {"loss": "focal"}),
    ("mobilenet_v2 a0.35, dice", {"alpha": 0.35}),
    ("mobilenet_v2 a1.0, dice", {"alpha": 1.0}),
    ("efficientnet_b0, dice", {"backbone": "efficientnet_b0"}),
]
METRICS = (
    "mean_dice",
    "dice_pet",
    "dice_background",
    "dice_border",
    "mean_iou",
    "foreground_dice",
    "pixel_accuracy",
)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--oxford-dir", help="train on an Oxford-layout folder")
    parser.add_argument("--output-dir", default=os.path.join("bench", "outputs", "compare"))
    parser.add_argument(
        "--results", default=os.path.join("bench", "results", "compare_models.json")
    )
    parser.add_argument("--epochs", type=int, default=configs.TrainingConfig().epochs)
    parser.add_argument("--only", help="run only the variants whose name contains this")
    args = parser.parse_args(argv)

    data = configs.OxfordFolderSource(args.oxford_dir) if args.oxford_dir else configs.TFDSSource()
    base = configs.PipelineConfig(
        output_dir=os.path.abspath(args.output_dir),
        data=data,
        # Every variant is evaluated and reported; blessing plays no part in a comparison.
        evaluation=configs.EvaluationConfig(blessing_min=0.0, blessing_max_regression=1.0),
    )
    variants = [
        (name, dataclasses.replace(base.training, epochs=args.epochs, **overrides))
        for name, overrides in VARIANTS
        if not args.only or args.only in name
    ]
    try:  # every variant's settings before the first one trains, not after an hour
        print(preflight.check(base))
        for _, training in variants:
            preflight.check_settings(dataclasses.replace(base, training=training))
    except preflight.ConfigError as error:
        sys.exit(f"Configuration error: {error}")
    results = []
    for name, training in variants:
        config = dataclasses.replace(base, training=training)
        started = time.time()
        summary = local_run.run(config, os.path.join(config.output_dir, "run.log"))
        store = open_store(config.metadata_path)
        trainer = queries.executions_by_component(store, config.pipeline_name)[
            component_ids.TRAINER
        ][-1]
        trainer_seconds = (
            trainer.last_update_time_since_epoch - trainer.create_time_since_epoch
        ) / 1000
        results.append(
            {
                "variant": name,
                "training": dataclasses.asdict(training),
                "metrics": {m: summary.metrics.get(m) for m in METRICS},
                "trainer_seconds": round(trainer_seconds),
                "run_seconds": round(time.time() - started),
            }
        )
        print(format_table(results))

    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as file:
        json.dump(
            {
                "data": dataclasses.asdict(data),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
                f"Python {platform.python_version()}",
                "results": results,
            },
            file,
            indent=2,
        )
    print(f"Results: {args.results}")


def format_table(results) -> str:
    header = "| variant | " + " | ".join(METRICS) + " | Trainer |"
    lines = [header, "|" + " --- |" * (len(METRICS) + 2)]
    for result in results:
        values = " | ".join("n/a" if v is None else f"{v:.3f}" for v in result["metrics"].values())
        lines.append(f"| {result['variant']} | {values} | {result['trainer_seconds']} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
