"""The version of the project code a component runs, for TFX's cache key.

TFX reuses a cached execution when a component's inputs and exec properties are unchanged;
it does not look at the code behind an executor, a `preprocessing_fn` named by module, or
a TFMA metric. So each component that runs project code gets a hash of that code among
its exec properties: an edit to `evaluation/tfma_metrics.py` re-runs the Evaluator, an
edit to `models/unet.py` the Transform and the Trainer, and nothing else re-runs.

"That code" is the component's entry modules and every project module they import,
directly or not, at the top of a module or inside a function, with the `__init__.py` of
each package on the way: found by reading the import statements, so a new import is
covered without anyone listing it.
"""

import ast
import hashlib
import os

from pipeline import configs

# The project's own top-level packages; imports of anything else (TFX, TensorFlow) are
# versioned by the lock file, not here.
PROJECT_PACKAGES = (
    "components",
    "evaluation",
    "inference",
    "metadata",
    "models",
    "orchestration",
    "pipeline",
    "sources",
)


def code_version(*modules: str, root: str | None = None) -> str:
    """A short hash of the source of `modules` (dotted names) and all they import, read
    from the project's checkout (or `root`)."""
    root = root or configs.PROJECT_DIR
    digest = hashlib.sha256()
    for path in sorted(module_files(modules, root)):
        digest.update(os.path.relpath(path, root).encode() + b"\0")
        with open(path, "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()[:16]


def module_files(modules, root: str) -> set[str]:
    """The files of `modules` and of the project modules they import, transitively."""
    found, pending = set(), list(modules)
    while pending:
        for path in files_of(pending.pop(), root):
            if path not in found:
                found.add(path)
                # A package's __init__.py counts by its own text; its imports are not
                # followed. Here they set TensorFlow's environment or re-export component
                # classes (components/X/__init__.py imports the spec, not the executor).
                if os.path.basename(path) != "__init__.py":
                    pending.extend(imported_modules(path))
    return found


def files_of(module: str, root: str) -> list[str]:
    """The file of a project module and the __init__.py of each package down to it; [] for
    a name that is not a project module. `from models import features` asks for
    `models.features`, a module; `from pipeline.configs import PIPELINE_NAME` asks for
    `pipeline.configs.PIPELINE_NAME`, a name in one: its files are those of the module."""
    parts = module.split(".")
    if parts[0] not in PROJECT_PACKAGES:
        return []
    files = []
    for depth in range(1, len(parts) + 1):
        base = os.path.join(root, *parts[:depth])
        if os.path.isfile(os.path.join(base, "__init__.py")):
            files.append(os.path.join(base, "__init__.py"))
        elif os.path.isfile(base + ".py"):
            files.append(base + ".py")
            break  # what follows is a name inside the module
        else:
            break
    return files


def imported_modules(path: str) -> list[str]:
    """Every module an `import` or `from ... import` in the file names, and for `from X
    import a, b` also X.a and X.b, which may be modules."""
    with open(path, "rb") as source:
        tree = ast.parse(source.read(), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names
