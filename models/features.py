"""Feature keys, output names and sizes: the one definition every part of the project uses.

Raw features are what ingestion writes (the `oxford_iiit_pet` schema of TensorFlow
Datasets); transformed features are what the Transform component emits for training.
"""

# Raw features, as in tfds `oxford_iiit_pet`.
IMAGE_KEY = "image"  # encoded JPEG or PNG bytes
MASK_KEY = "segmentation_mask"  # encoded PNG, one channel
LABEL_KEY = "label"  # breed id
SPECIES_KEY = "species"  # sources/oxford_layout.py SPECIES: 0 = cat, 1 = dog
FILE_NAME_KEY = "file_name"

# Transformed features, written by the Transform component.
TRANSFORMED_IMAGE_KEY = "image_xf"  # float32 [size, size, 3] in [-1, 1]
TRANSFORMED_MASK_KEY = "mask_xf"  # int64 [size, size] class ids

DEFAULT_IMAGE_SIZE = 128

# The model's output names, shared by the Trainer's signatures and the Evaluator.
PROBABILITIES_OUTPUT = "probabilities"
CLASS_IDS_OUTPUT = "class_ids"
HEIGHT_OUTPUT = "height"  # each served image's own height and width
WIDTH_OUTPUT = "width"
# Each image's class ids as a one-channel PNG. TF Serving's REST API answers string outputs
# whose name ends in "_bytes" base64-encoded ({"b64": ...}), others as text.
MASK_PNG_OUTPUT = "mask_png_bytes"

# Written beside the exported SavedModel (and pushed with it): the mask convention and the
# image size the model was trained with, so tools that load it know its classes.
MODEL_METADATA_FILE = "assets.extra/segmentation.json"


# The largest image the project reads, from files or in a serving request: decoding and
# segmenting need ~20 bytes of memory per pixel (an 8000x8000 image: 1.2 GB), and a PNG of
# a few KB can claim 65535x65535 pixels (80 GB). A 48 MP photo passes.
MAX_IMAGE_PIXELS = 50_000_000
