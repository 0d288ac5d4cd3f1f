"""A pushed model, loaded with what it knows about its classes.

The Pusher writes each blessed model to `<serving_model_dir>/<version>/`, a SavedModel
whose `segment_image` signature maps one encoded image to class ids at the image's own
size, with the mask convention it was trained on in `assets.extra/segmentation.json`.
Tools accept either a version directory or the directory above the versions (then the
newest version is used), since "the latest pushed model" is what users mean most often.
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf
from google.protobuf import message

from inference import DEFAULT_MODEL_DIR
from models import features, mask_convention

SIGNATURE = "segment_image"


class ModelError(ValueError):
    """No usable pushed model where one was expected; the message says how to get one."""


class ImageRefused(ValueError):
    """The model's signature refused an image (corrupt, truncated, too large, ...)."""


@dataclasses.dataclass(frozen=True)
class PushedModel:
    path: str  # the version directory, holding saved_model.pb
    convention: mask_convention.MaskConvention  # class i of the output is class_names[i]
    image_size: int | None  # the model's input resolution, when the metadata says
    # The loaded SavedModel: kept whole, since its signatures need its variables alive.
    saved_model: object = dataclasses.field(repr=False)
    newest_in: str | None = None  # the directory it was picked from as the newest version

    @property
    def version(self) -> str:
        return os.path.basename(os.path.normpath(self.path))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.convention.class_names

    @property
    def num_classes(self) -> int:
        return self.convention.num_classes

    def describe(self) -> str:
        """Which model is in use, for the tools' output."""
        picked = f", the newest in {self.newest_in}" if self.newest_in else ""
        return (
            f"Model: {self.path} (version {self.version}{picked}), "
            f"classes: {', '.join(self.class_names)}"
        )

    def predict(self, encoded_image: bytes) -> np.ndarray:
        """Encoded image bytes -> class ids, int32 [H, W] at the image's own size."""
        segment_image = self.saved_model.signatures[SIGNATURE]
        try:
            outputs = segment_image(image=tf.constant(encoded_image))
        except tf.errors.InvalidArgumentError as error:
            raise ImageRefused(f"the model cannot decode it ({error.message})") from None
        return outputs[features.CLASS_IDS_OUTPUT].numpy()

    def mask_values(self, class_ids) -> np.ndarray:
        """Class ids -> uint8 mask values: the first stored value of each class.

        For a trimap model these are Oxford's 1/2/3, so written masks read back as labels.
        """
        first_values = np.array([values[0] for values in self.convention.class_values], np.uint8)
        return first_values[np.asarray(class_ids)]


def newest_version(serving_dir: str) -> str | None:
    """The newest numbered version directory below serving_dir that holds saved_model.pb.

    The Pusher names versions by their push time in seconds and copies saved_model.pb
    last: a version without it is a push cut short, not a model. Any filesystem
    TensorFlow reads (local, gs://).
    """
    if not tf.io.gfile.isdir(serving_dir):
        return None
    names = (name.rstrip("/") for name in tf.io.gfile.listdir(serving_dir))
    for version in sorted((int(name) for name in names if name.isdigit()), reverse=True):
        version_dir = os.path.join(serving_dir, str(version))
        if tf.io.gfile.exists(os.path.join(version_dir, "saved_model.pb")):
            return version_dir
    return None


def resolve_model_dir(path: str) -> str:
    """A version directory, or the newest numeric version below `path`."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    version_dir = newest_version(path)
    if version_dir is None:
        raise ModelError(
            f"No pushed model in {path}: expected saved_model.pb there or in a numbered "
            "version directory below it. Train and push one with `python local_runner.py` "
            "first, or pass --model with the Pusher's directory "
            "(e.g. outputs/serving_model/pet-segmentation)."
        )
    return version_dir


def load_model(path: str = DEFAULT_MODEL_DIR) -> PushedModel:
    """Loads the SavedModel at `path` (a version or its parent) and its class metadata."""
    version_dir = resolve_model_dir(path)
    try:
        saved_model = tf.saved_model.load(version_dir)
    except (OSError, ValueError, tf.errors.OpError, message.DecodeError) as error:
        # A damaged or foreign directory: saved_model.pb that does not parse, variables
        # missing or cut short.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(
            f"Cannot load the SavedModel in {version_dir} ({reason}). Pass --model a version "
            "directory the Pusher wrote, or push the model again."
        ) from None
    if SIGNATURE not in saved_model.signatures:
        raise ModelError(
            f"The SavedModel in {version_dir} has no {SIGNATURE!r} signature (it has "
            f"{sorted(saved_model.signatures)}); export it with this project's Trainer."
        )
    metadata = _read_metadata(version_dir)
    return PushedModel(
        path=version_dir,
        convention=mask_convention.MaskConvention.from_json_dict(metadata["mask_convention"]),
        image_size=metadata.get("image_size"),
        saved_model=saved_model,
        newest_in=path if version_dir != path else None,
    )


def _read_metadata(version_dir: str) -> dict:
    """The classes and image size the Trainer wrote beside the SavedModel."""
    path = os.path.join(version_dir, features.MODEL_METADATA_FILE)
    try:
        with open(path) as metadata_file:
            return json.load(metadata_file)
    except FileNotFoundError:
        raise ModelError(
            f"{path} is missing, so the classes of this model are unknown. Pass --model a "
            "version directory this project's Pusher wrote, or push the model again."
        ) from None
    except (OSError, ValueError) as error:
        raise ModelError(f"Cannot read the model's metadata {path}: {error}") from None
