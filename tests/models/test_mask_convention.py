"""The mask convention, the class modes of trimaps and the parsing of mask formats."""

import pytest

from models import mask_convention
from models.mask_convention import MaskFormat, parse_mask_format


def test_mask_convention_round_trips_through_json():
    convention = mask_convention.trimap_convention("binary_border_as_pet")
    assert mask_convention.MaskConvention.from_json_dict(convention.to_json_dict()) == convention
    assert convention.class_of_value == {2: 0, 1: 1, 3: 1}


@pytest.mark.parametrize(
    "names, values, message",
    [
        (("a",), ((0,),), "two classes"),
        (("a", "a"), ((0,), (1,)), "unique"),
        (("a", "b"), ((0,), (0,)), "distinct"),
        (("a", "b"), ((0,), (256,)), "distinct"),
        (("a", "b"), ((0,),), "one tuple"),
    ],
)
def test_bad_conventions_are_refused(names, values, message):
    with pytest.raises(ValueError, match=message):
        mask_convention.MaskConvention(names, values, background=None)


def test_parse_mask_format():
    mask_format = parse_mask_format(values="background=2, pet=1+3")
    assert mask_format.convention.class_names == ("background", "pet")
    assert mask_format.convention.class_of_value == {2: 0, 1: 1, 3: 1}
    assert mask_format.convention.background == "background"
    assert parse_mask_format(values="sky=0,road=1").convention.background is None
    assert MaskFormat.from_json(mask_format.to_json()) == mask_format
    palette = parse_mask_format(palette="background=#000000,pet=ff8000")
    assert palette.palette == ((0, 0, 0), (255, 128, 0))
    assert MaskFormat.from_json(palette.to_json()) == palette


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of"),
        ({"values": "a=0", "palette": "a=#000000"}, "exactly one of"),
        ({"values": "background:0,pet:1"}, "write CLASS=VALUE pairs"),
        ({"values": "background=zero,pet=1"}, "integers"),
        ({"values": "background=0,pet=0"}, "distinct"),
        ({"palette": "background=black,pet=#ff0000"}, "hex RGB"),
        ({"palette": "background=#000000,pet=#000000"}, "share a colour"),
    ],
)
def test_parse_mask_format_errors_say_how_to_write_it(kwargs, message):
    with pytest.raises(ValueError, match=message):
        parse_mask_format(**kwargs)


def test_model_convention_merges_trimaps_by_class_mode_and_keeps_declared_classes():
    trimap = mask_convention.trimap_convention("trimap")
    binary = mask_convention.trimap_convention("binary_border_as_background")
    assert mask_convention.model_convention(trimap, "binary_border_as_background") == binary
    declared = parse_mask_format(values="background=0,pet=1").stored_convention
    assert mask_convention.model_convention(declared, "trimap") == declared
    with pytest.raises(ValueError, match="merges Oxford trimap classes"):
        mask_convention.model_convention(declared, "binary_border_as_pet")


def test_a_format_describes_itself_as_its_flag_is_written():
    assert parse_mask_format(values="background=2,pet=1+3").describe() == "background=2,pet=1+3"
    palette = parse_mask_format(palette="background=#000000,pet=ff8000")
    assert palette.describe() == "background=#000000,pet=#ff8000"
