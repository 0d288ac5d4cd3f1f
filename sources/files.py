"""Paths of the data: local paths, and URIs (`gs://...`) that tasks elsewhere read as given."""

import os


def absolute(path: str) -> str:
    """A local path made absolute (tasks may not run where this runs); a URL as it is."""
    return path if "://" in path else os.path.abspath(path)
