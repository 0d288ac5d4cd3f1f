"""FolderExampleGen: image and mask files in, TFX's `Examples` and a skip report out.

Layouts (see sources/): "oxford", the Oxford-IIIT Pet archives unpacked under `root`; and
"folder", images in `image_dir` and masks with the same file stems in `mask_dir`.
The examples have the same features as the TFDS `oxford_iiit_pet` ones, so every
component downstream treats both sources alike.

A pair that cannot be used (corrupt image, no mask, mask of another size or with values
outside the declared convention, ...) is skipped, logged, and listed in the `report`
artifact; a source where more than `max_bad_fraction` of the pairs are bad fails early.
"""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components import component_specs as specs
from components.folder_example_gen import executor
from pipeline.code_version import code_version
from sources.layouts import LAYOUTS


class IngestionReport(types.Artifact):
    """report.json: pairs found, examples written per split, and every skipped file."""

    TYPE_NAME = "components.IngestionReport"  # see components/__init__.py


class FolderExampleGenSpec(types.ComponentSpec):
    PARAMETERS = {
        specs.LAYOUT_KEY: ExecutionParameter(type=str),
        # "oxford": the folder holding images/ and annotations/.
        specs.ROOT_KEY: ExecutionParameter(type=str, optional=True),
        # "folder": the two folders matched by file stem.
        specs.IMAGE_DIR_KEY: ExecutionParameter(type=str, optional=True),
        specs.MASK_DIR_KEY: ExecutionParameter(type=str, optional=True),
        # JSON of sources.mask_convention.MaskFormat: the masks' classes (values or palette).
        specs.MASK_FORMAT_KEY: ExecutionParameter(type=str),
        specs.EVAL_FRACTION_KEY: ExecutionParameter(type=float),
        specs.SEED_KEY: ExecutionParameter(type=int),
        specs.MAX_BAD_FRACTION_KEY: ExecutionParameter(type=float),
        # The code the executor runs, hashed (pipeline/code_version.py): TFX's cache key.
        specs.CODE_VERSION_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {}
    OUTPUTS = {
        specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        specs.REPORT_KEY: ChannelParameter(type=IngestionReport),
    }


class FolderExampleGen(base_component.BaseComponent):
    SPEC_CLASS = FolderExampleGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        layout: str,
        mask_format: str,
        *,
        eval_fraction: float,
        seed: int,
        max_bad_fraction: float,
        root: str = "",
        image_dir: str = "",
        mask_dir: str = "",
    ):
        if layout not in LAYOUTS:
            raise ValueError(f"Unknown layout {layout!r}; use one of {LAYOUTS}.")
        spec = FolderExampleGenSpec(
            code_version=code_version(executor.__name__),
            layout=layout,
            root=root,
            image_dir=image_dir,
            mask_dir=mask_dir,
            mask_format=mask_format,
            eval_fraction=eval_fraction,
            seed=seed,
            max_bad_fraction=max_bad_fraction,
            examples=types.Channel(type=standard_artifacts.Examples),
            report=types.Channel(type=IngestionReport),
        )
        super().__init__(spec=spec)
