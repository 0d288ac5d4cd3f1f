"""Model code that TFX runs: the Transform preprocessing_fn and the Trainer run_fn.

Transform and Trainer import it by name (models.preprocessing.preprocessing_fn,
models.trainer.run_fn), and a hash of its files is in their config: any edit here re-runs
both components (which is what you want after changing them), so keep it to their code.
"""

import os

# TensorFlow's environment for the whole project, in this one place. Every entry point
# (runners, commands, benchmarks, tests) imports this package before TensorFlow, which
# reads both when first imported:
# - tf.Transform supports Keras 2 only: TensorFlow must pick tf_keras;
# - TF's C++ INFO/WARNING lines would bury the project's own output (run.log keeps them).
# The Dockerfile sets the same for processes in the image that start elsewhere.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
