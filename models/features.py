"""Feature keys and the mask convention: the one definition every part of the project uses.

Raw features are what ingestion writes (the `oxford_iiit_pet` schema of TensorFlow
Datasets); transformed features are what the Transform component emits for training.
"""

import dataclasses

# Raw features, as in tfds `oxford_iiit_pet`.
IMAGE_KEY = "image"  # encoded JPEG or PNG bytes
MASK_KEY = "segmentation_mask"  # encoded PNG, one channel
LABEL_KEY = "label"  # breed id
SPECIES_KEY = "species"  # 0 = cat, 1 = dog
FILE_NAME_KEY = "file_name"

# Transformed features, written by the Transform component.
TRANSFORMED_IMAGE_KEY = "image_xf"  # float32 [size, size, 3] in [-1, 1]
TRANSFORMED_MASK_KEY = "mask_xf"  # int64 [size, size] class ids

# Oxford-IIIT Pet trimap values.
TRIMAP_PET = 1
TRIMAP_BACKGROUND = 2
TRIMAP_BORDER = 3
TRIMAP_VALUES = (TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER)


@dataclasses.dataclass(frozen=True)
class MaskConvention:
    """Which class each stored mask value belongs to: the one place masks are interpreted.

    `class_values[i]` lists the mask values of class `class_names[i]`; a value may belong to
    one class only, and a value listed nowhere is an error. `background` names the class
    left out of foreground Dice (None: every class is foreground).
    """

    class_names: tuple[str, ...]
    class_values: tuple[tuple[int, ...], ...]
    background: str | None = "background"

    def __post_init__(self):
        if len(self.class_names) < 2:
            raise ValueError(f"A mask convention needs two classes or more: {self.class_names}")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"Class names must be unique: {self.class_names}")
        if len(self.class_values) != len(self.class_names):
            raise ValueError("class_values needs one tuple of mask values per class name.")
        values = [v for class_values in self.class_values for v in class_values]
        if len(set(values)) != len(values) or not all(0 <= v <= 255 for v in values):
            raise ValueError(
                f"Mask values must be distinct integers in [0, 255]: {self.class_values}"
            )
        if self.background is not None and self.background not in self.class_names:
            raise ValueError(f"background {self.background!r} is not in {self.class_names}.")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_of_value(self) -> dict[int, int]:
        return {v: i for i, values in enumerate(self.class_values) for v in values}

    def to_json_dict(self) -> dict:
        """A JSON-able form, as TFX custom_config and the exported model carry it."""
        return {
            "class_names": list(self.class_names),
            "class_values": [list(values) for values in self.class_values],
            "background": self.background,
        }

    @classmethod
    def from_json_dict(cls, config: dict) -> "MaskConvention":
        return cls(
            class_names=tuple(config["class_names"]),
            class_values=tuple(tuple(int(v) for v in values) for values in config["class_values"]),
            background=config.get("background"),
        )

    @classmethod
    def identity(cls, class_names, background="background") -> "MaskConvention":
        """Masks that store class i as value i (what folder ingestion writes)."""
        return cls(tuple(class_names), tuple((i,) for i in range(len(class_names))), background)


# How trimap values become classes. "trimap" keeps the three regions; the binary modes
# merge the uncertain border band into the pet or into the background.
CLASS_MODES = {
    "trimap": MaskConvention(
        ("pet", "background", "border"),
        ((TRIMAP_PET,), (TRIMAP_BACKGROUND,), (TRIMAP_BORDER,)),
    ),
    "binary_border_as_pet": MaskConvention(
        ("background", "pet"), ((TRIMAP_BACKGROUND,), (TRIMAP_PET, TRIMAP_BORDER))
    ),
    "binary_border_as_background": MaskConvention(
        ("background", "pet"), ((TRIMAP_BACKGROUND, TRIMAP_BORDER), (TRIMAP_PET,))
    ),
}

DEFAULT_IMAGE_SIZE = 128
DEFAULT_CLASS_MODE = "trimap"

# The model's output names, shared by the Trainer's signatures and the Evaluator.
PROBABILITIES_OUTPUT = "probabilities"
CLASS_IDS_OUTPUT = "class_ids"

# Written beside the exported SavedModel (and pushed with it): the mask convention and the
# image size the model was trained with, so tools that load it know its classes.
MODEL_METADATA_FILE = "assets.extra/segmentation.json"


def trimap_convention(class_mode: str) -> MaskConvention:
    """The convention for trimap data under a class mode (a key of CLASS_MODES)."""
    if class_mode not in CLASS_MODES:
        raise ValueError(f"Unknown class_mode {class_mode!r}; use one of {sorted(CLASS_MODES)}.")
    return CLASS_MODES[class_mode]


# The largest image the project reads, from files or in a serving request: decoding and
# segmenting need ~20 bytes of memory per pixel (an 8000x8000 image: 1.2 GB), and a PNG of
# a few KB can claim 65535x65535 pixels (80 GB). A 48 MP photo passes.
MAX_IMAGE_PIXELS = 50_000_000
