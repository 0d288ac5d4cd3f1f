"""Test set-up shared by the suite."""

import os

# Before TensorFlow is imported anywhere: the project runs on Keras 2 (tf_keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
