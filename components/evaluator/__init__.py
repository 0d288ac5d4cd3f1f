"""TFX's Evaluator, taking a baseline that holds no model as no baseline."""

from components.evaluator.component import Evaluator

__all__ = ["Evaluator"]
