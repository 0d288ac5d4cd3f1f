"""The code a component runs is found by reading imports, transitively, and only that."""

import os

from pipeline.code_version import code_version, module_files


def write(root, path, text=""):
    os.makedirs(os.path.dirname(root / path), exist_ok=True)
    (root / path).write_text(text)


def test_imports_are_followed_at_any_depth_and_inside_functions(tmp_path):
    write(tmp_path, "models/__init__.py", "import sources.never_followed\n")
    write(tmp_path, "models/trainer.py", "import numpy\nfrom models import losses, CONSTANT\n")
    write(tmp_path, "models/losses.py", "def f():\n    from evaluation.metrics import dice\n")
    write(tmp_path, "evaluation/__init__.py")
    write(tmp_path, "evaluation/metrics.py", "from pipeline.configs import PIPELINE_NAME\n")
    write(tmp_path, "pipeline/__init__.py")
    write(tmp_path, "pipeline/configs.py")
    write(tmp_path, "sources/__init__.py")
    write(tmp_path, "sources/never_followed.py")
    write(tmp_path, "models/unused.py")

    found = module_files(["models.trainer"], str(tmp_path))

    assert sorted(os.path.relpath(path, tmp_path) for path in found) == [
        "evaluation/__init__.py",
        "evaluation/metrics.py",
        "models/__init__.py",
        "models/losses.py",
        "models/trainer.py",
        "pipeline/__init__.py",
        "pipeline/configs.py",
    ]
    before = code_version("models.trainer", root=str(tmp_path))
    write(tmp_path, "models/unused.py", "# an edit elsewhere")
    assert code_version("models.trainer", root=str(tmp_path)) == before
    write(tmp_path, "pipeline/configs.py", "# an edit three imports away")
    assert code_version("models.trainer", root=str(tmp_path)) != before
