"""Feature keys and the mask convention: the one definition every part of the project uses.

Raw features are what ingestion writes (the `oxford_iiit_pet` schema of TensorFlow
Datasets); transformed features are what the Transform component emits for training.
"""

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

# How trimap values become class ids. "trimap" keeps the three regions; the binary modes
# merge the uncertain border band into the pet or into the background.
CLASS_MODES = {
    "trimap": {
        "class_names": ("pet", "background", "border"),
        "class_of_value": {TRIMAP_PET: 0, TRIMAP_BACKGROUND: 1, TRIMAP_BORDER: 2},
    },
    "binary_border_as_pet": {
        "class_names": ("background", "pet"),
        "class_of_value": {TRIMAP_PET: 1, TRIMAP_BACKGROUND: 0, TRIMAP_BORDER: 1},
    },
    "binary_border_as_background": {
        "class_names": ("background", "pet"),
        "class_of_value": {TRIMAP_PET: 1, TRIMAP_BACKGROUND: 0, TRIMAP_BORDER: 0},
    },
}

DEFAULT_IMAGE_SIZE = 128
DEFAULT_CLASS_MODE = "trimap"

# The model's output names, shared by the Trainer's signatures and the Evaluator.
PROBABILITIES_OUTPUT = "probabilities"
CLASS_IDS_OUTPUT = "class_ids"


def class_names(class_mode: str) -> tuple[str, ...]:
    return _mode(class_mode)["class_names"]


def class_of_value(class_mode: str) -> dict[int, int]:
    return _mode(class_mode)["class_of_value"]


def _mode(class_mode: str) -> dict:
    if class_mode not in CLASS_MODES:
        raise ValueError(f"Unknown class_mode {class_mode!r}; use one of {sorted(CLASS_MODES)}.")
    return CLASS_MODES[class_mode]
