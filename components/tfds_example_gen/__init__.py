"""An ExampleGen for TensorFlow Datasets segmentation datasets."""

from components.tfds_example_gen.component import TFDSExampleGen

__all__ = ["TFDSExampleGen"]
