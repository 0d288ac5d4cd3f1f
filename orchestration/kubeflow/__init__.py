"""Kubeflow Pipelines: compiling for each backend, the task command, a local stand-in."""
