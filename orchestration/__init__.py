"""Running the one pipeline definition: on Kubeflow Pipelines (orchestration/kubeflow)."""
