"""Tools around the compiled Kubeflow Pipelines spec (see kubeflow/local_harness.py)."""
