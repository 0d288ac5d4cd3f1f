"""The project's custom TFX components.

Kubeflow's launcher finds a custom artifact type by its TYPE_NAME, which KFP requires to
be `namespace.Name`: so ours are `components.<Name>`, and this package hands them out.
"""


def __getattr__(name):
    # Imported on first use: the component modules import TFX, which takes seconds.
    if name == "IngestionReport":
        from components.folder_example_gen.component import IngestionReport

        return IngestionReport
    if name == "VisualReport":
        from components.segmentation_report.component import VisualReport

        return VisualReport
    raise AttributeError(f"module 'components' has no attribute {name!r}")
