"""The mask convention: what the values of stored masks mean, in one place.

- `MaskConvention`: which class each stored mask value belongs to, the classes' names and
  which one is the background (left out of foreground Dice). The model's class i is
  `class_names[i]`; the Transform, the Trainer, the exported model's metadata, `predict`
  and `evaluate` all carry it as JSON.
- Oxford-IIIT Pet trimaps (1 = pet, 2 = background, 3 = border) and the class modes that
  keep or merge their border band (`--class-mode`).
- `MaskFormat`: how a source's mask files encode classes, as values or as RGB colours,
  and `parse_mask_format`, the parsing of `--mask-values` / `--mask-palette`.
- `model_convention`: the classes a model learns from a source under a class mode.
"""

import dataclasses
import json
import re

import numpy as np

# Oxford-IIIT Pet trimap values.
TRIMAP_PET = 1
TRIMAP_BACKGROUND = 2
TRIMAP_BORDER = 3
TRIMAP_VALUES = (TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER)


@dataclasses.dataclass(frozen=True)
class MaskConvention:
    """Which class each stored mask value belongs to: the one place masks are interpreted.

    `class_values[i]` lists the mask values of class `class_names[i]`; a value may belong to
    one class only, and a value listed nowhere is an error. `background` names the class
    left out of foreground Dice (None: every class is foreground).
    """

    class_names: tuple[str, ...]
    class_values: tuple[tuple[int, ...], ...]
    background: str | None = "background"

    def __post_init__(self):
        if len(self.class_names) < 2:
            raise ValueError(f"A mask convention needs two classes or more: {self.class_names}")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"Class names must be unique: {self.class_names}")
        if len(self.class_values) != len(self.class_names):
            raise ValueError("class_values needs one tuple of mask values per class name.")
        values = [v for class_values in self.class_values for v in class_values]
        if len(set(values)) != len(values) or not all(0 <= v <= 255 for v in values):
            raise ValueError(
                f"Mask values must be distinct integers in [0, 255]: {self.class_values}"
            )
        if self.background is not None and self.background not in self.class_names:
            raise ValueError(f"background {self.background!r} is not in {self.class_names}.")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_of_value(self) -> dict[int, int]:
        return {v: i for i, values in enumerate(self.class_values) for v in values}

    def to_json_dict(self) -> dict:
        """A JSON-able form, as TFX custom_config and the exported model carry it."""
        return {
            "class_names": list(self.class_names),
            "class_values": [list(values) for values in self.class_values],
            "background": self.background,
        }

    @classmethod
    def from_json_dict(cls, config: dict) -> "MaskConvention":
        return cls(
            class_names=tuple(config["class_names"]),
            class_values=tuple(tuple(int(v) for v in values) for values in config["class_values"]),
            background=config.get("background"),
        )

    @classmethod
    def identity(cls, class_names, background="background") -> "MaskConvention":
        """Masks that store class i as value i (what folder ingestion writes)."""
        return cls(tuple(class_names), tuple((i,) for i in range(len(class_names))), background)


# How trimap values become classes. "trimap" keeps the three regions; the binary modes
# merge the uncertain border band into the pet or into the background.
CLASS_MODES = {
    "trimap": MaskConvention(
        ("pet", "background", "border"),
        ((TRIMAP_PET,), (TRIMAP_BACKGROUND,), (TRIMAP_BORDER,)),
    ),
    "binary_border_as_pet": MaskConvention(
        ("background", "pet"), ((TRIMAP_BACKGROUND,), (TRIMAP_PET, TRIMAP_BORDER))
    ),
    "binary_border_as_background": MaskConvention(
        ("background", "pet"), ((TRIMAP_BACKGROUND, TRIMAP_BORDER), (TRIMAP_PET,))
    ),
}

DEFAULT_CLASS_MODE = "trimap"


def trimap_convention(class_mode: str) -> MaskConvention:
    """The convention for trimap data under a class mode (a key of CLASS_MODES)."""
    if class_mode not in CLASS_MODES:
        raise ValueError(f"Unknown class_mode {class_mode!r}; use one of {sorted(CLASS_MODES)}.")
    return CLASS_MODES[class_mode]


def model_convention(stored: MaskConvention, class_mode: str) -> MaskConvention:
    """The classes the model learns: the stored masks' convention, or for trimap data the
    class mode's merge of it."""
    if stored == trimap_convention("trimap"):
        return trimap_convention(class_mode)
    if class_mode != DEFAULT_CLASS_MODE:
        raise ValueError(
            f"class_mode {class_mode!r} merges Oxford trimap classes; this source declares "
            f"its own classes {stored.class_names}. Leave class_mode as "
            f"{DEFAULT_CLASS_MODE!r} and declare the classes you want in its masks."
        )
    return stored


def mask_class_ids(stored_values: np.ndarray, convention: MaskConvention) -> np.ndarray:
    """Stored mask values -> class ids (int64) under `convention`; values must be known."""
    lookup = np.full(256, -1, np.int64)
    for value, class_id in convention.class_of_value.items():
        lookup[value] = class_id
    class_ids = lookup[np.asarray(stored_values, np.uint8)]
    if (class_ids < 0).any():
        raise ValueError(f"mask values outside {sorted(convention.class_of_value)}")
    return class_ids


@dataclasses.dataclass(frozen=True)
class MaskFormat:
    """How mask files encode classes: one-channel values, or one RGB colour per class."""

    convention: MaskConvention
    palette: tuple[tuple[int, int, int], ...] | None = None

    def __post_init__(self):
        if self.palette is not None and len(self.palette) != self.convention.num_classes:
            raise ValueError("A mask palette needs one colour per class.")

    @classmethod
    def trimap(cls) -> "MaskFormat":
        """Oxford-IIIT Pet trimaps: 1 = pet, 2 = background, 3 = border."""
        return cls(trimap_convention("trimap"))

    def to_json(self) -> str:
        return json.dumps(
            {
                "convention": self.convention.to_json_dict(),
                "palette": [list(colour) for colour in self.palette] if self.palette else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "MaskFormat":
        config = json.loads(text)
        palette = config.get("palette")
        return cls(
            MaskConvention.from_json_dict(config["convention"]),
            tuple(tuple(colour) for colour in palette) if palette else None,
        )

    @property
    def stored_convention(self) -> MaskConvention:
        """The convention of the values `read_mask` returns (colours become class ids)."""
        if self.palette is None:
            return self.convention
        return MaskConvention.identity(self.convention.class_names, self.convention.background)

    def describe(self) -> str:
        """The command-line form: "pet=1,background=2" or "pet=#ff0000,..."."""
        convention = self.convention
        if self.palette is not None:
            items = [
                f"{name}=#{r:02x}{g:02x}{b:02x}"
                for name, (r, g, b) in zip(convention.class_names, self.palette)
            ]
        else:
            items = [
                f"{name}={'+'.join(map(str, values))}"
                for name, values in zip(convention.class_names, convention.class_values)
            ]
        return ",".join(items)


def parse_mask_format(
    values: str | None = None, palette: str | None = None, background: str | None = "background"
) -> MaskFormat:
    """The command-line form of a mask format.

    values:  "background=0,pet=1"       (several values per class: "pet=1+3")
    palette: "background=#000000,pet=#ff0000"
    """
    if (values is None) == (palette is None):
        raise ValueError("Declare the masks' classes with exactly one of values or palette.")
    text = values if values is not None else palette
    names, specs = [], []
    for item in text.split(","):
        name, _, spec = item.strip().partition("=")
        if not name or not spec:
            raise ValueError(
                f"Cannot read {item!r} in {text!r}: write CLASS=VALUE pairs separated by "
                "commas, e.g. 'background=0,pet=1' or 'background=#000000,pet=#ff0000'."
            )
        names.append(name.strip())
        specs.append(spec.strip())
    if background is not None and background not in names:
        background = None  # No class of that name: every class counts as foreground.
    if values is not None:
        try:
            class_values = tuple(tuple(int(v) for v in spec.split("+")) for spec in specs)
        except ValueError:
            raise ValueError(f"Mask values must be integers 0-255: {text!r}") from None
        return MaskFormat(MaskConvention(tuple(names), class_values, background))
    colours = []
    for spec in specs:
        if not re.fullmatch(r"#?[0-9a-fA-F]{6}", spec):
            raise ValueError(f"Palette colours are hex RGB like #ff0000, not {spec!r}.")
        spec = spec.lstrip("#")
        colours.append(tuple(int(spec[i : i + 2], 16) for i in (0, 2, 4)))
    if len(set(colours)) != len(colours):
        raise ValueError(f"Two classes share a colour in {text!r}.")
    return MaskFormat(MaskConvention.identity(names, background), tuple(colours))
