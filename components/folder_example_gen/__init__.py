"""An ExampleGen for image and mask files in a folder (the Oxford layout, or generic)."""

from components.folder_example_gen.component import FolderExampleGen, IngestionReport

__all__ = ["FolderExampleGen", "IngestionReport"]
