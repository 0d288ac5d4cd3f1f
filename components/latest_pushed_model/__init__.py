"""The baseline for blessing, found in the serving directory instead of ML Metadata."""

from components.latest_pushed_model.component import LatestPushedModel

__all__ = ["LatestPushedModel"]
