"""Model code that TFX runs: the Transform preprocessing_fn and the Trainer run_fn.

Transform and Trainer import it by name (models.preprocessing.preprocessing_fn,
models.trainer.run_fn), and a hash of its files is in their config: any edit here re-runs
both components (which is what you want after changing them), so keep it to their code.
"""

import os

# tf.Transform supports Keras 2 only. TensorFlow picks its Keras when first imported, so
# this has to happen before any `import tensorflow`; entry points set it too.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
