"""Hostile input to a pushed model: an error with a message or a right mask, never a crash.

First the serving signatures' decoding step alone (fast). Then the pushed SavedModel is loaded with plain `tf.saved_model.load` in a fresh process (no
project code, no TF_USE_LEGACY_KERAS) and fed each file through `segment_image` and
`serving_default`; the process must survive all of them and still serve a good image.
Then the project's `predict` command gets the same files in one folder.
"""

import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models import features, signatures
from tests.reliability.helpers import PROJECT_DIR, serve_files

# Tests marked slow need a trained, pushed model (`good_run`): a pipeline run, ~4 minutes.

TOO_LARGE = "image too large to serve"
# File name -> what segment_image must give: the mask's [height, width], or a phrase of
# the InvalidArgumentError's message.
EXPECTED = {
    "good.jpg": [75, 100],
    "one_pixel.png": [1, 1],
    "gray.jpg": [40, 60],
    "gray_lossless.png": [40, 60],
    "rgba.png": [40, 60],
    "palette.gif": [30, 50],
    "top_down.bmp": [30, 50],  # a negative height in the header, as some writers do
    "not_an_image.jpg": "not a JPEG, PNG, GIF or BMP image",
    "empty.jpg": "empty image bytes",
    "truncated.jpg": "Invalid JPEG data",
    "huge_8000x8000.jpg": TOO_LARGE,
    # A few hundred bytes whose header claims 65535 x 65535 pixels (12 GB decoded).
    "bomb_65535x65535.png": TOO_LARGE,
}


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a huge image, with next to no pixel data behind it."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, [75, 100, 3], dtype=np.uint8))
    gray = Image.fromarray(rng.integers(0, 255, [40, 60], dtype=np.uint8))
    small = Image.fromarray(rng.integers(0, 255, [30, 50, 3], dtype=np.uint8))
    bmp = bytearray(encoded(small, "BMP"))
    bmp[22:26] = struct.pack("<i", -30)  # rows stored top-down
    big_photo = encoded(
        Image.fromarray(rng.integers(0, 255, [300, 400, 3], dtype=np.uint8)), "JPEG"
    )
    files = {
        "good.jpg": encoded(noise, "JPEG"),
        "one_pixel.png": encoded(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
        "gray.jpg": encoded(gray, "JPEG"),
        "gray_lossless.png": encoded(gray, "PNG"),
        "rgba.png": encoded(
            Image.fromarray(rng.integers(0, 255, [40, 60, 4], dtype=np.uint8)), "PNG"
        ),
        "palette.gif": encoded(small.convert("P"), "GIF"),
        "top_down.bmp": bytes(bmp),
        "not_an_image.jpg": b"Dear model, this is not an image.\n" * 20,
        "empty.jpg": b"",
        "truncated.jpg": big_photo[: len(big_photo) // 2],
        "huge_8000x8000.jpg": encoded(Image.new("RGB", (8000, 8000), (90, 60, 30)), "JPEG"),
        "bomb_65535x65535.png": png_claiming(65535, 65535),
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


@pytest.mark.parametrize("name", EXPECTED)
def test_the_decoding_guard_decodes_or_refuses_before_decoding(hostile_dir, name):
    decode = tf.function(
        signatures.decode_served_image, input_signature=[tf.TensorSpec([], tf.string)]
    )
    encoded = tf.constant((hostile_dir / name).read_bytes())
    if isinstance(EXPECTED[name], list):
        assert decode(encoded).shape.as_list() == EXPECTED[name] + [3]
    else:
        with pytest.raises(tf.errors.InvalidArgumentError, match=EXPECTED[name]):
            decode(encoded)


@pytest.fixture(scope="module")
def served(good_run, hostile_dir):
    _, summary, _ = good_run
    paths = [str(hostile_dir / name) for name in EXPECTED]  # good.jpg first
    return serve_files(summary.pushed_model_dir, paths)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_segment_image_gives_a_mask_or_a_clear_error(served, name):
    outcome = served["segment_image " + name]
    if isinstance(EXPECTED[name], list):
        assert outcome == EXPECTED[name]
    else:
        assert isinstance(outcome, str) and EXPECTED[name] in outcome


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_serving_default_gives_masks_or_a_clear_error(served, name):
    # Each file is batched with the good image: one bad image fails its whole batch.
    outcome = served["serving_default " + name]
    if isinstance(EXPECTED[name], list):
        assert outcome == [2, 64, 64]
    else:
        assert isinstance(outcome, str) and EXPECTED[name] in outcome


@pytest.mark.slow
def test_the_process_survives_and_still_serves(served):
    assert served["segment_image the first file again"] == [75, 100]
    assert "no images: serving_default needs at least one" in served["serving_default empty batch"]
    # The huge images were refused before decoding: without the guard, the 8000 x 8000
    # one alone takes 1.2 GB more (measured), the 65535 x 65535 one 80 GB.
    assert served["max_rss_mb"] < 2000
    assert str(features.MAX_IMAGE_PIXELS) in served["segment_image huge_8000x8000.jpg"]


def run_predict(model_dir, inputs, output_dir):
    return subprocess.run(
        [sys.executable, "-m", "inference.predict", *inputs, "--model", model_dir]
        + ["--output-dir", str(output_dir)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_predict_skips_bad_files_and_writes_the_good_ones(good_run, hostile_dir, tmp_path):
    _, summary, _ = good_run
    folder = tmp_path / "images"
    folder.mkdir()
    for name in EXPECTED:
        if name != "bomb_65535x65535.png":  # see the next test
            (folder / name).write_bytes((hostile_dir / name).read_bytes())
    result = run_predict(summary.pushed_model_dir, [str(folder)], tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    good = [name for name, shape in EXPECTED.items() if isinstance(shape, list)]
    assert f"Wrote {len(good)} masks" in result.stdout
    for name in good:
        with Image.open(tmp_path / "out" / "masks" / (os.path.splitext(name)[0] + ".png")) as mask:
            assert list(mask.size[::-1]) == EXPECTED[name], name
    skipped = result.stdout[result.stdout.index("Skipped 4 file(s):") :]
    for name, reason in [
        ("not_an_image.jpg", "unknown or corrupt image format"),
        ("empty.jpg", "the file is empty"),
        ("truncated.jpg", "image file is truncated"),
        # Refused by the reader from its header, with the same limit as serving.
        ("huge_8000x8000.jpg", "over the 50 megapixels this project reads and serves"),
    ]:
        assert name in skipped and reason in skipped, (name, skipped)


@pytest.mark.slow
def test_predict_skips_a_decompression_bomb(good_run, hostile_dir, tmp_path):
    _, summary, _ = good_run
    bomb = str(hostile_dir / "bomb_65535x65535.png")
    good = str(hostile_dir / "good.jpg")
    result = run_predict(summary.pushed_model_dir, [bomb, good], tmp_path / "out")
    assert result.returncode == 0 and "Skipped 1 file(s):" in result.stdout, result.stderr[-2000:]
