import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models import mask_convention
from models.mask_convention import MaskFormat, parse_mask_format
from sources.image_files import BadFile, read_image, read_mask
from tests import trap_files


@pytest.mark.parametrize(
    "kind",
    [
        "rgb_jpeg",
        "png_named_jpg",
        "gif_named_jpg",
        "grayscale_jpeg",
        "rgba_png_named_jpg",
        "cmyk_jpeg",
    ],
)
def test_images_decode_by_content_to_rgb_that_tensorflow_reads(tmp_path, kind):
    path = str(tmp_path / "photo.jpg")
    trap_files.write_image(kind, path)
    image = read_image(path)
    assert image.rgb.shape == (24, 32, 3) and image.rgb.dtype == np.uint8
    decoded = tf.io.decode_image(image.encoded, channels=3, expand_animations=False).numpy()
    if kind == "rgb_jpeg":  # kept as the original bytes, not re-encoded
        assert image.encoded == open(path, "rb").read()
    else:  # converted losslessly: TensorFlow sees exactly PIL's RGB pixels
        np.testing.assert_array_equal(decoded, image.rgb)


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros([2, 2, 4], np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]  # opaque red; the rest fully transparent
    path = str(tmp_path / "sticker.png")
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = read_image(path).rgb
    assert rgb[0, 0].tolist() == [255, 0, 0] and rgb[1, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize(
    "kind, message",
    [("truncated_jpeg", "not a readable image"), ("empty_file", "the file is empty")],
)
def test_unreadable_images_name_the_file(tmp_path, kind, message):
    path = str(tmp_path / "broken.jpg")
    trap_files.write_image(kind, path)
    with pytest.raises(BadFile, match=message) as raised:
        read_image(path)
    assert raised.value.path == path and str(raised.value).startswith(path)


def test_a_text_file_and_a_missing_file_are_bad_files(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(BadFile, match="not a readable image"):
        read_image(str(text))
    with pytest.raises(BadFile, match="cannot read the file"):
        read_image(str(tmp_path / "missing.jpg"))


def write_mask(tmp_path, array, mode=None, fmt="PNG", name="mask.png"):
    path = str(tmp_path / name)
    Image.fromarray(array, mode).save(path, format=fmt)
    return path


def test_trimap_masks_keep_their_values(tmp_path):
    path = write_mask(tmp_path, trap_files.trimap())
    values = read_mask(path, MaskFormat.trimap(), expected_size=(24, 32))
    np.testing.assert_array_equal(values, trap_files.trimap())
    class_ids = mask_convention.mask_class_ids(values, mask_convention.trimap_convention("trimap"))
    assert class_ids[12, 16] == 0 and class_ids[0, 0] == 1 and class_ids[6, 8] == 2


def test_mask_of_another_size_is_refused_with_both_sizes(tmp_path):
    path = write_mask(tmp_path, trap_files.trimap(20, 32))
    with pytest.raises(BadFile, match="mask is 32x20 but its image is 32x24"):
        read_mask(path, MaskFormat.trimap(), expected_size=(24, 32))


def test_unknown_mask_values_are_named(tmp_path):
    path = write_mask(tmp_path, np.array([[1, 2, 7]], np.uint8))
    with pytest.raises(BadFile, match=r"mask values \[7\] are outside .* pet=1,background=2"):
        read_mask(path, MaskFormat.trimap())


def test_jpeg_masks_are_refused(tmp_path):
    path = write_mask(tmp_path, trap_files.trimap(), fmt="JPEG", name="mask.jpg")
    with pytest.raises(BadFile, match="JPEG"):
        read_mask(path, MaskFormat.trimap())


def test_palette_masks_become_class_ids(tmp_path):
    mask_format = parse_mask_format(palette="background=#000000,cat=#ff0000,dog=#00ff00")
    colours = np.zeros([2, 3, 3], np.uint8)
    colours[0, 1] = [255, 0, 0]
    colours[1, 2] = [0, 255, 0]
    values = read_mask(write_mask(tmp_path, colours), mask_format)
    np.testing.assert_array_equal(values, [[0, 1, 0], [0, 0, 2]])
    assert mask_format.stored_convention.class_names == ("background", "cat", "dog")
    colours[0, 0] = [1, 2, 3]
    with pytest.raises(BadFile, match="#010203 are not in the declared palette"):
        read_mask(write_mask(tmp_path, colours), mask_format)


def test_colour_masks_need_a_palette(tmp_path):
    colours = np.zeros([2, 2, 3], np.uint8)
    colours[0, 0] = [255, 0, 0]
    with pytest.raises(BadFile, match="declare a palette"):
        read_mask(write_mask(tmp_path, colours), parse_mask_format(values="background=0,pet=1"))


def test_values_masks_in_palette_mode_and_binary_255(tmp_path):
    indexed = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "L").convert("P")
    path = str(tmp_path / "indexed.png")
    indexed.save(path)
    mask_format = parse_mask_format(values="background=0,pet=1")
    np.testing.assert_array_equal(read_mask(path, mask_format), [[0, 1], [1, 0]])
    binary = write_mask(tmp_path, np.array([[0, 255]], np.uint8), name="binary.png")
    values = read_mask(binary, parse_mask_format(values="background=0,pet=255"))
    np.testing.assert_array_equal(values, [[0, 255]])


def test_a_decompression_bomb_is_a_bad_file(tmp_path, monkeypatch):
    path = str(tmp_path / "huge.png")
    trap_files.write_image("png_named_jpg", path)  # 24 x 32 = 768 pixels
    # PIL refuses images over twice MAX_IMAGE_PIXELS; lowering it makes this one "huge".
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(BadFile, match="image too large to read safely"):
        read_image(path)


def png_header_only(width, height) -> bytes:
    """A PNG that claims width x height pixels and holds none: what a hostile file does."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


def test_an_image_over_the_projects_size_limit_is_one_clear_reason(tmp_path, recwarn):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(12000, 9000))  # 108 MP: PIL only warns at this size
    with pytest.raises(BadFile) as error:
        read_image(str(path))
    assert error.value.reason == (
        "12000x9000 pixels, over the 50 megapixels this project reads and serves; downscale it"
    )
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
