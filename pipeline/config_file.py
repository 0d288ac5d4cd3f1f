"""The runners' `--config FILE`: settings from a TOML or YAML file, checked key by key.

The keys are PipelineConfig's fields, nested as its dataclasses are, in the flags' names
(`--batch-size` is `batch_size`); configs/photos.toml is an example:

    pipeline_name = "pets-photos"   # top level: pipeline_name, output_dir, baseline_source,
                                    # beam_pipeline_args
    [data]                          # the data flags: dataset, data_dir, train_split,
    oxford_dir = "~/data/pets"      # eval_split, image_key, mask_key, oxford_dir, image_dir,
                                    # mask_dir, mask_values, mask_palette, eval_fraction; and
                                    # the folder sources' seed, max_bad_fraction, background
    [training]                      # recipe, and every TrainingConfig field
    recipe = "photos"
    epochs = 60
    [evaluation]                    # every EvaluationConfig field
    blessing_min = 0.7

The data source is written as with the data flags (`oxford_dir`, not OxfordFolderSource's
`root`), so that a file and a command line that say the same thing make the same source.
Paths are read as on a command line: relative to the directory the runner starts in, with
"~" expanded. pipeline/flags.py layers the settings: defaults < recipe < file < flags.
"""

import dataclasses
import difflib
import os
import tomllib
import types
import typing

from pipeline import configs

SUFFIXES = (".toml", ".yaml", ".yml")
SECTIONS = ("data", "training", "evaluation")

# What each section takes: {key: type}. The top level holds PipelineConfig's plain fields.
_TOP_KEYS = {
    field.name: field.type
    for field in dataclasses.fields(configs.PipelineConfig)
    if field.name not in SECTIONS
}
# The data flags' names (flags.DATA_FLAGS), typed as the source fields they fill; then the
# folder sources' fields that no flag sets.
_DATA_KEYS = {
    "dataset": str,
    "data_dir": str,
    "train_split": str,
    "eval_split": str,
    "image_key": str,
    "mask_key": str,
    "oxford_dir": str,
    "image_dir": str,
    "mask_dir": str,
    "mask_values": str,
    "mask_palette": str,
    "eval_fraction": float,
    "seed": int,
    "max_bad_fraction": float,
    "background": str | None,
}
KEYS = {
    "": _TOP_KEYS,
    "data": _DATA_KEYS,
    # The recipe first: the other keys override its values.
    "training": {
        "recipe": str,
        **{field.name: field.type for field in dataclasses.fields(configs.TrainingConfig)},
    },
    "evaluation": {
        field.name: field.type for field in dataclasses.fields(configs.EvaluationConfig)
    },
}
CHOICES = {
    ("", "baseline_source"): configs.BASELINE_SOURCES,
    ("training", "recipe"): tuple(configs.RECIPES),
}
# Paths, whose "~" is expanded (a shell does it for flags); relative ones stay relative to
# the working directory, as flags are.
PATHS = {
    ("", "output_dir"),
    ("data", "data_dir"),
    ("data", "oxford_dir"),
    ("data", "image_dir"),
    ("data", "mask_dir"),
    ("training", "encoder_weights"),
}


class ConfigFileError(ValueError):
    """A config file that cannot be read, or a key or value it must not hold."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """A config file's checked settings, {key: value} per section ("" the top level)."""

    path: str | None = None
    sections: dict = dataclasses.field(default_factory=lambda: {name: {} for name in KEYS})

    def __getitem__(self, section: str) -> dict:
        return self.sections[section]


NONE = Settings()  # no --config


def load(path: str) -> Settings:
    """The file's settings, every key and type checked; ConfigFileError (one line naming
    the file, the key and the fix) otherwise."""
    document = _read(path)
    if not isinstance(document, dict):
        raise ConfigFileError(
            f"{path}: a config file holds settings as `key = value` (TOML) or `key: value` "
            f"(YAML), not {_kind(document)}."
        )
    sections = {name: {} for name in KEYS}
    for key, value in document.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigFileError(
                    f"{path}: {key} is a section of settings ([{key}] then `key = value` "
                    f"lines in TOML, `{key}:` then indented `key: value` lines in YAML), "
                    f"not {_kind(value)}."
                )
            for inner_key, inner_value in value.items():
                sections[key][inner_key] = _checked(path, key, inner_key, inner_value)
        else:
            sections[""][key] = _checked(path, "", key, value)
    return Settings(path=path, sections=sections)


def where(section: str) -> str:
    return f"in [{section}]" if section else "at the top level"


def _read(path: str):
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise ConfigFileError(
            f"{path}: a config file is TOML (.toml) or YAML (.yaml, .yml); name it so "
            "(configs/photos.toml is an example)."
        )
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ConfigFileError(
            f"Cannot read the config file {path}: {error.strerror or error}. Check the path "
            "given to --config."
        ) from None
    if suffix == ".toml":
        try:
            return tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigFileError(f"{path} is not valid TOML: {error}.") from None
    import yaml  # only for YAML files: --help and TOML files need no YAML parser

    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as error:
        # Its message spans lines (the offending line drawn with a caret): keep one.
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigFileError(f"{path} is not valid YAML: {problem}{at}.") from None
    return {} if document is None else document  # an empty file: no settings


def _checked(path: str, section: str, key, value):
    """The value in its field's type (an int where a float goes becomes a float)."""
    keys = KEYS[section]
    if key not in keys:
        close = difflib.get_close_matches(str(key).replace("-", "_"), keys, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        homes = [f"[{name}]" for name in SECTIONS if key in KEYS[name]]
        if not section and homes:
            hint = f"; it goes in the {' or '.join(homes)} section."
        takes = ", ".join(keys) + (
            ", and the sections " + ", ".join(f"[{name}]" for name in SECTIONS)
            if not section
            else ""
        )
        raise ConfigFileError(
            f"{path}: unknown key {key!r} {where(section)}{hint} "
            f"{f'[{section}]' if section else 'The top level'} takes: {takes}."
        )
    expected = keys[key]
    try:
        value = _as_type(value, expected)
    except TypeError:
        hint = ""
        if isinstance(value, str) and _is_number(value) and expected in (float, int):
            if path.endswith(".toml") or "e" not in value.lower():
                hint = f" (a number is written without quotes: {key} = {value})"
            else:
                hint = " (YAML reads 1e-3 as a string: write 1.0e-3)"
        raise ConfigFileError(
            f"{path}: {key} = {value!r} {where(section)} is {_kind(value)}; it must be "
            f"{_describe(expected)}{hint}."
        ) from None
    choices = CHOICES.get((section, key))
    if choices and value not in choices:
        raise ConfigFileError(
            f"{path}: {key} = {value!r} {where(section)}; use one of {', '.join(choices)}."
        )
    if (section, key) in PATHS and value is not None and "://" not in value:
        value = os.path.expanduser(value)
    return value


def _as_type(value, expected):
    """value as `expected` (str, int, float, bool, X | None, tuple[X, ...]); TypeError if
    it is not one."""
    if isinstance(expected, types.UnionType):  # X | None
        if value is None:
            return None
        return _as_type(value, _inner(expected))
    if typing.get_origin(expected) is tuple:  # tuple[X, ...]
        if not isinstance(value, (list, tuple)):
            raise TypeError
        return tuple(_as_type(item, typing.get_args(expected)[0]) for item in value)
    if isinstance(value, bool) and expected is not bool:
        raise TypeError  # True is an int to Python, not to a reader of the file
    if expected is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, expected):
        raise TypeError
    return value


_NAMES = {str: ("a string", "strings"), int: ("a whole number", "whole numbers")}
_NAMES |= {float: ("a number", "numbers"), bool: ("true or false", "true or false values")}


def _describe(expected) -> str:
    if isinstance(expected, types.UnionType):
        return f"{_describe(_inner(expected))} (or left out)"
    if typing.get_origin(expected) is tuple:
        return f"a list of {_NAMES[typing.get_args(expected)[0]][1]}"
    return _NAMES[expected][0]


def _inner(optional):
    """X of `X | None`."""
    (inner,) = [option for option in typing.get_args(optional) if option is not type(None)]
    return inner


def _kind(value) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a section"
    return f"a {type(value).__name__}"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
