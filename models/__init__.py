"""Model code that TFX runs: the Transform preprocessing_fn and the Trainer run_fn.

TFX packages this directory into a wheel for Transform and Trainer, so keep it small:
any edit here re-runs both components (which is what you want after changing them).
"""

import os

# tf.Transform supports Keras 2 only. TensorFlow picks its Keras when first imported, so
# this has to happen before any `import tensorflow`; entry points set it too.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
