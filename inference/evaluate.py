"""Measure a pushed model on labelled images: Dice, IoU and pixel accuracy over the whole set.

    evaluate --oxford-dir /data/oxford-iiit-pet             # its test list, if it has one
    evaluate --oxford-dir /data/oxford-iiit-pet --limit 40 --worst 8   # 40 pairs, sampled
    evaluate --image-dir photos/ --mask-dir masks/ --mask-values "background=0,pet=1+2"
    evaluate --image-dir photos/ --mask-dir masks/ --mask-palette "background=#000000,pet=#ff0000"

Scores are exact over the whole set, as in the pipeline's Evaluator: intersections and
sizes are summed over every pixel of every image, then divided (not a mean of per-image
scores). Foreground Dice merges every class but the background (for pets: pet + border).
Masks are read in the model's own convention unless --mask-values or --mask-palette say
otherwise; their classes are matched to the model's by name. Pairs that cannot be read
(corrupt files, a mask of another size, unknown mask values) are skipped and listed.

The folders may be URIs (--oxford-dir gs://bucket/pets); the outputs go to a local folder.

With --limit N, N pairs drawn at random (seeded: --seed) from the whole set are scored, not
the first N by name, which would all be of a few breeds.

Writes OUTPUT_DIR/metrics.json and, with --worst N, OUTPUT_DIR/worst.png: the N images of lowest
mean Dice, as rows of image | true mask | predicted mask | overlay.
"""

# TensorFlow's environment is set by inference/__init__.py, which runs before this module
# however it is started (console script, python -m, import).
import argparse
import json
import os
import random
import sys

import numpy as np
from tqdm import tqdm

import inference
from evaluation import visualize
from evaluation.metrics import SetMetrics, WorstKept
from inference.predict import MIN_FREE_MB, describe_skipped
from models.mask_convention import MaskFormat, mask_class_ids, parse_mask_format
from pipeline import configs, flags, preflight
from sources import files, layouts, oxford_layout
from sources.image_files import BadFile, SourceError, read_image, read_mask

DEFAULT_OUTPUT_DIR = os.path.join(configs.DEFAULT_OUTPUT_DIR, "evaluation")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    inference.add_common_flags(parser)
    # The runners' flags for the same folders.
    flags.add_folder_flags(
        parser, unset_masks="the model's own classes; Oxford trimaps for --oxford-dir"
    )
    parser.add_argument(
        "--subset",
        choices=oxford_layout.SUBSETS,
        help="--oxford-dir: the images of annotations/test.txt, of annotations/trainval.txt, "
        "or all of them (default: test when annotations/test.txt exists, else all)",
    )
    parser.add_argument(
        "--output-dir",
        default=DEFAULT_OUTPUT_DIR,
        help="where metrics.json and worst.png go (default: %(default)s)",
    )
    parser.add_argument(
        "--worst",
        type=flags.at_least(0),
        default=0,
        metavar="N",
        help="draw the N images of lowest mean Dice into worst.png (default: %(default)s)",
    )
    inference.add_limit_flag(parser, "evaluate N pairs drawn at random from the whole set")
    parser.add_argument(
        "--seed",
        type=int,
        help=f"the --limit sample's seed (default: {configs.DEFAULT_SEED})",
    )
    flags.renamed(
        parser,
        {
            "--data": "--oxford-dir",
            "--images": "--image-dir",
            "--masks": "--mask-dir",
            "--output": "--output-dir",
            "--layout": "--oxford-dir, or --image-dir with --mask-dir",
        },
    )
    args = parser.parse_args(argv)
    # A flag that would change nothing is a mistake to point out, not to ignore.
    if args.seed is not None and args.limit is None:
        parser.error("--seed chooses the --limit sample: pass --limit N too, or drop --seed")
    if args.subset is not None and not args.oxford_dir:
        parser.error("--subset chooses among --oxford-dir's lists; a plain folder has none")
    if args.seed is None:
        args.seed = configs.DEFAULT_SEED
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # TensorFlow is imported only now, so that --help and flag errors answer at once.
    from inference.model import load_model

    inference.setup_logging()
    try:
        discovery, source = find_data(args)  # before loading the model: fails faster
        # And before any scoring: metrics must have somewhere to go.
        preflight.check_output_dir(args.output_dir, flag="--output-dir", min_free_mb=MIN_FREE_MB)
        model = load_model(args.model)
        mask_format = choose_mask_format(args, source["layout"], model)
        to_model_ids = class_mapping(mask_format, model)
    except ValueError as error:  # SourceError, ModelError, ConfigError, mask format syntax
        print(f"error: {error}", file=sys.stderr)
        return 1
    pairs = sample(discovery.pairs, args.limit, args.seed)
    print(model.describe())

    metrics, problems, worst = evaluate_pairs(model, pairs, mask_format, to_model_ids, args.worst)
    problems = discovery.problems + problems
    if not metrics.per_image:
        print("\n".join(describe_skipped(problems)), file=sys.stderr)
        print("error: no pair could be evaluated.", file=sys.stderr)
        return 1

    report = {
        "model": {"path": model.path, "version": model.version},
        "data": {
            **source,
            "pairs_found": len(discovery.pairs),
            # The pairs scored are a seeded sample of those found when limit is below it.
            "limit": args.limit,
            "seed": args.seed if len(pairs) < len(discovery.pairs) else None,
            "mask_format": json.loads(mask_format.to_json()),
        },
        "pairs_evaluated": len(metrics.per_image),
        "pairs_skipped": len(problems),
        "skipped": [{"path": problem.path, "reason": problem.reason} for problem in problems],
        **metrics.result(),
        "per_image_mean_dice": metrics.per_image,
    }
    metrics_path = os.path.join(args.output_dir, "metrics.json")
    details = [f"subset {source['subset']}"] if "subset" in source else []
    if len(pairs) < len(discovery.pairs):
        details.append(
            f"{len(pairs)} drawn at random from {len(discovery.pairs)}: --limit {args.limit}, "
            f"--seed {args.seed}"
        )
    details = f" ({'; '.join(details)})" if details else ""
    print(f"Evaluated {len(metrics.per_image)} pairs{details}, skipped {len(problems)}.")
    for line in describe_skipped(problems, more=f" (all in {metrics_path})"):
        print(line)
    print(format_table(report))  # first: the figures are on screen whatever happens next
    try:
        with open(metrics_path, "w") as metrics_file:
            json.dump(report, metrics_file, indent=2, allow_nan=False)
    except OSError as error:
        print(
            f"error: cannot write {metrics_path} ({error.strerror or error}); the metrics are "
            "above.",
            file=sys.stderr,
        )
        return 1
    print(f"Metrics: {metrics_path}")
    if worst:
        worst_path = os.path.join(args.output_dir, "worst.png")
        grid = visualize.comparison_grid(
            [(f"{name}  mean Dice {score:.3f}", *arrays) for score, name, arrays in worst],
            model.num_classes,
            class_names=model.class_names,
        )
        grid.save(worst_path)
        print(f"Worst {len(worst)} images: {worst_path}")
    return 0


def sample(pairs, limit: int | None, seed: int):
    """`limit` pairs drawn at random, seeded, from the whole list, in the list's order; all
    of them when there are no more than `limit`."""
    if limit is None or limit >= len(pairs):
        return pairs
    chosen = sorted(random.Random(seed).sample(range(len(pairs)), limit))
    return [pairs[index] for index in chosen]


def find_data(args):
    """The pairs to evaluate, and a description of where they come from."""
    if args.oxford_dir and (args.image_dir or args.mask_dir):
        raise SourceError("Pass --oxford-dir or --image-dir with --mask-dir, not both.")
    if args.oxford_dir:
        if not files.isdir(args.oxford_dir):
            raise SourceError(
                f"--oxford-dir {args.oxford_dir} does not exist (or is not a folder)."
            )
        if not _looks_like_oxford(args.oxford_dir):
            raise SourceError(
                f"{args.oxford_dir} is not in the Oxford layout (images/ and "
                "annotations/trimaps/). For a folder of images and a folder of masks, pass "
                "--image-dir DIR --mask-dir DIR."
            )
        # The official test images when the folder lists them: the ones no model trained on.
        subset = args.subset or (
            "test" if oxford_layout.has_list(args.oxford_dir, "test") else "all"
        )
        source = {"layout": "oxford", "oxford_dir": args.oxford_dir, "subset": subset}
        discovery, _ = layouts.discover("oxford", root=args.oxford_dir, subset=subset)
        return discovery, source
    if not (args.image_dir or args.mask_dir):
        raise SourceError(
            "Nothing to evaluate: pass --oxford-dir DIR or --image-dir DIR --mask-dir DIR."
        )
    if not (args.image_dir and args.mask_dir):
        raise SourceError("--image-dir and --mask-dir go together.")
    source = {"layout": "folder", "image_dir": args.image_dir, "mask_dir": args.mask_dir}
    discovery, _ = layouts.discover("folder", image_dir=args.image_dir, mask_dir=args.mask_dir)
    return discovery, source


def choose_mask_format(args, layout, model) -> MaskFormat:
    """The flags' mask format, else the model's own convention (trimaps for Oxford)."""
    if args.mask_values or args.mask_palette:
        return parse_mask_format(args.mask_values, args.mask_palette, model.convention.background)
    if layout == "oxford" and set(model.convention.class_of_value) != {1, 2, 3}:
        return MaskFormat.trimap()  # Oxford masks are trimaps, whatever the model stores.
    return MaskFormat(model.convention)


def class_mapping(mask_format: MaskFormat, model) -> np.ndarray:
    """Maps the masks' class ids to the model's, by class name."""
    names = mask_format.stored_convention.class_names
    if sorted(names) != sorted(model.class_names):
        values = ",".join(
            f"{name}={'+'.join(map(str, values))}"
            for name, values in zip(model.class_names, model.convention.class_values)
        )
        raise ValueError(
            f"The masks' classes ({', '.join(names)}) are not the model's "
            f"({', '.join(model.class_names)}). Declare the masks with the model's class "
            f'names, e.g. --mask-values "{values}" with your masks\' values.'
        )
    return np.array([model.class_names.index(name) for name in names])


def evaluate_pairs(model, pairs, mask_format, to_model_ids, num_worst=0):
    """Counts every pair into a SetMetrics; returns it, the BadFiles and the worst rows.

    The worst rows are (mean Dice, name, (image, true ids, predicted ids)), lowest first;
    only `num_worst` of them are kept in memory at any time.
    """
    from inference.model import ImageRefused

    metrics = SetMetrics(model.class_names, model.convention.background)
    problems, worst = [], WorstKept(num_worst)
    for pair in tqdm(pairs, desc="evaluate", unit="image"):
        try:
            image = read_image(pair.image_path)
            stored_values = read_mask(pair.mask_path, mask_format, expected_size=image.size)
            predicted_ids = model.predict(image.encoded)
        except BadFile as error:
            problems.append(error)
            continue
        except ImageRefused as error:
            problems.append(BadFile(pair.image_path, str(error)))
            continue
        true_ids = to_model_ids[mask_class_ids(stored_values, mask_format.stored_convention)]
        score = metrics.add(pair.name, true_ids, predicted_ids)
        worst.add(score, pair.name, (image.rgb, true_ids, predicted_ids))
    return metrics, problems, worst.rows()


def format_table(report) -> str:
    """The scores as a short text table."""
    lines = [f"{'class':<16}{'Dice':>8}{'IoU':>8}"]
    for name in report["dice"]:
        lines.append(f"{name:<16}{_fmt(report['dice'][name])}{_fmt(report['iou'][name])}")
    lines.append(f"{'mean':<16}{_fmt(report['mean_dice'])}{_fmt(report['mean_iou'])}")
    lines.append(f"{'foreground Dice':<16}{_fmt(report['foreground_dice'])}")
    lines.append(f"{'pixel accuracy':<16}{_fmt(report['pixel_accuracy'])}")
    return "\n".join(lines)


def _fmt(value) -> str:
    return f"{'n/a':>8}" if value is None else f"{value:>8.4f}"


def _looks_like_oxford(root: str) -> bool:
    return files.isdir(os.path.join(root, "images")) and files.isdir(
        os.path.join(root, "annotations", "trimaps")
    )


if __name__ == "__main__":
    sys.exit(main())
