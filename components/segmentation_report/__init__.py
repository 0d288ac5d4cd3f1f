"""The pipeline's visual report: predictions next to true masks, metrics and curves."""

from components.segmentation_report.component import SegmentationReport, VisualReport

__all__ = ["SegmentationReport", "VisualReport"]
