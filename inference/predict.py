"""Segment images with a pushed model: a mask PNG and an overlay PNG per image.

    predict photos/                        # every image in the folder
    predict cat.jpg dog.png --output-dir out/  # single files
    predict photos/ --model outputs/serving_model/pet-segmentation/1795485067
    predict photos/ --limit 20             # the first 20 images (by name) only

Writes OUTPUT_DIR/masks/NAME.png (one channel, each pixel the stored value of its predicted
class in the model's convention: for pets the Oxford trimap values 1 = pet,
2 = background, 3 = border) and OUTPUT_DIR/overlays/NAME.png (the photo blended with the class
colours). The masks folder can go straight back into `evaluate --mask-dir`, or into training.
Files that cannot be read are skipped and listed at the end. Images may be read from
cloud storage (gs://bucket/photos/); the outputs go to a local folder.
"""

# TensorFlow's environment is set by inference/__init__.py, which runs before this module
# however it is started (console script, python -m, import).
import argparse
import os
import sys

import numpy as np
from PIL import Image
from tqdm import tqdm

import inference
from evaluation import visualize
from pipeline import configs, flags, preflight
from sources import files
from sources.image_files import BadFile, SourceError, read_image
from sources.pairs import IMAGE_EXTENSIONS, list_files

DEFAULT_OUTPUT_DIR = os.path.join(configs.DEFAULT_OUTPUT_DIR, "predictions")
MIN_FREE_MB = 20  # free space the output folder needs before predicting or evaluating


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="IMAGE_OR_FOLDER",
        help="image files, and folders whose images are all predicted; paths or URIs (gs://...)",
    )
    inference.add_common_flags(parser)
    parser.add_argument(
        "--output-dir",
        default=DEFAULT_OUTPUT_DIR,
        help="where masks/ and overlays/ go (default: %(default)s)",
    )
    parser.add_argument(
        "--opacity",
        type=flags.between(0, 1),
        default=0.5,
        help="of the class colours in the overlays (default: %(default)s)",
    )
    inference.add_limit_flag(
        parser,
        "predict the first N images only, in the order listed: the inputs as given, each "
        "folder's images by name",
    )
    flags.renamed(parser, {"--output": "--output-dir", "--alpha": "--opacity"})
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # TensorFlow is imported only now, so that --help and flag errors answer at once.
    from inference.model import ModelError, load_model

    inference.setup_logging()
    try:
        paths, problems = list_images(args.inputs)
        listed = len(paths)
        paths = paths[: args.limit]
        if not paths:
            skipped = "; ".join(map(str, problems[:3])) or "no file with an image extension"
            raise SourceError(
                f"No image to predict in {', '.join(args.inputs)} ({skipped}). Images are "
                f"files ending {', '.join(IMAGE_EXTENSIONS)}."
            )
        # Before the model loads: a folder that takes no files fails in a second.
        preflight.check_output_dir(args.output_dir, flag="--output-dir", min_free_mb=MIN_FREE_MB)
        model = load_model(args.model)
    except (ModelError, SourceError, files.StorageError, preflight.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(model.describe())

    written, failed = predict_files(model, paths, args.output_dir, args.opacity)
    problems += failed
    limited = (
        f" (the first {len(paths)} of {listed} images: --limit)" if len(paths) < listed else ""
    )
    print(
        f"Wrote {len(written)} masks to {os.path.join(args.output_dir, 'masks')}{limited} and "
        f"their overlays to {os.path.join(args.output_dir, 'overlays')}."
    )
    for line in describe_skipped(problems):
        print(line)
    return 0 if written else 1


def list_images(inputs):
    """Image paths from files and folders, and the ones that would clash by name."""
    paths, problems, seen = [], [], {}
    for item in inputs:
        if files.isdir(item):
            candidates = list(list_files(item, "images", IMAGE_EXTENSIONS, problems).values())
        elif files.isfile(item):
            candidates = [item]
        else:
            raise SourceError(f"{item} is neither an image file nor a folder.")
        for path in candidates:
            name = _stem(path)
            if name in seen:
                # Outputs are named after the image: the second would overwrite the first.
                problems.append(BadFile(path, f"same name as {seen[name]}; rename one"))
                continue
            seen[name] = path
            paths.append(path)
    return paths, problems


def predict_files(model, paths, output_dir, opacity=0.5):
    """Writes each image's mask and overlay; returns (written names, BadFiles skipped)."""
    from inference.model import ImageRefused

    mask_dir = os.path.join(output_dir, "masks")
    overlay_dir = os.path.join(output_dir, "overlays")
    os.makedirs(mask_dir, exist_ok=True)
    os.makedirs(overlay_dir, exist_ok=True)
    written, problems = [], []
    for path in tqdm(paths, desc="predict", unit="image"):
        try:
            image = read_image(path)
            class_ids = model.predict(image.encoded)
        except BadFile as error:
            problems.append(error)
            continue
        except ImageRefused as error:
            problems.append(BadFile(path, str(error)))
            continue
        name = _stem(path)
        Image.fromarray(model.mask_values(class_ids)).save(os.path.join(mask_dir, f"{name}.png"))
        blended = visualize.overlay(
            image.rgb, class_ids, model.num_classes, opacity, class_names=model.class_names
        )
        Image.fromarray(np.asarray(blended)).save(os.path.join(overlay_dir, f"{name}.png"))
        written.append(name)
    return written, problems


def describe_skipped(problems, limit: int = 10, more: str = ""):
    """Report lines for skipped files: the count, then at most `limit` of them."""
    if not problems:
        return []
    lines = [f"Skipped {len(problems)} file(s):"]
    lines += [f"  {problem}" for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more{more}")
    return lines


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


if __name__ == "__main__":
    sys.exit(main())
