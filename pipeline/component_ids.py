"""The ids of the pipeline's components, one definition each.

TFX names every node by its id: in ML Metadata (the context PIPELINE.ID of each
execution), under the pipeline root (PIPELINE_ROOT/ID/...) and as the task names of a
Kubeflow spec. A component's id is its class name unless create_pipeline sets one
(tests/pipeline/test_pipeline.py checks that they are these), and whatever reads ML
Metadata or a compiled spec (metadata/, orchestration/kubeflow/, bench/) finds the
components by these names. A light module: reading them imports nothing of TFX.
"""

TFDS_EXAMPLE_GEN = "TFDSExampleGen"
FOLDER_EXAMPLE_GEN = "FolderExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "SchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
TRANSFORM = "Transform"
TRAINER = "Trainer"
# The baseline: TFX's resolver (local runs, Vertex AI), or LatestPushedModel (open-source
# Kubeflow Pipelines, pipeline.baseline_finder).
BASELINE_RESOLVER = "latest_blessed_model_resolver"
LATEST_PUSHED_MODEL = "LatestPushedModel"
EVALUATOR = "Evaluator"
SEGMENTATION_REPORT = "SegmentationReport"
PUSHER = "Pusher"
