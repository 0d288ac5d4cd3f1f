"""The keys of our components' specs, one definition each, for component.py (the spec)
and executor.py (the work), as TFX's `standard_component_specs` is for its components.
Keys TFX defines already are TFX's own.
"""

from tfx.types.standard_component_specs import (  # noqa: F401  (re-exported)
    BLESSING_KEY,
    EVALUATION_KEY,
    EXAMPLES_KEY,
    MODEL_BLESSING_KEY,
    MODEL_KEY,
    MODEL_RUN_KEY,
    PUSHED_MODEL_KEY,
)

# Every component that runs project code (pipeline/code_version.py).
CODE_VERSION_KEY = "code_version"

# TFDSExampleGen
DATASET_KEY = "dataset"
DATA_DIR_KEY = "data_dir"
TRAIN_SPLIT_KEY = "train_split"
EVAL_SPLIT_KEY = "eval_split"
IMAGE_FEATURE_KEY = "image_key"  # the dataset's name of its image feature
MASK_FEATURE_KEY = "mask_key"

# FolderExampleGen
LAYOUT_KEY = "layout"
ROOT_KEY = "root"
IMAGE_DIR_KEY = "image_dir"
MASK_DIR_KEY = "mask_dir"
MASK_FORMAT_KEY = "mask_format"
EVAL_FRACTION_KEY = "eval_fraction"
SEED_KEY = "seed"
MAX_BAD_FRACTION_KEY = "max_bad_fraction"
REPORT_KEY = "report"  # also the SegmentationReport's output

# SegmentationReport
NUM_SAMPLES_KEY = "num_samples"
NUM_WORST_KEY = "num_worst"
MAX_EXAMPLES_KEY = "max_examples"

# Pusher (ours: components/pusher), SegmentationReport
MODEL_NAME_KEY = "model_name"  # the model card's title: the pipeline's name

# LatestPushedModel
SERVING_MODEL_DIR_KEY = "serving_model_dir"
CANDIDATE_MODEL_KEY = "candidate_model"
