"""Fuzzed image and mask files: every reader gives a clean answer, never a crash or a hang.

From a few small valid files (JPEG, PNG, grayscale PNG mask, GIF, BMP), a seeded generator
makes corrupt variants: truncations, flipped bytes, a scrambled header, a header claiming a
huge size, junk before or after. Each goes through
- `sources/image_files.py` `read_image` (ExampleGens, predict, evaluate): an image or a
  `BadFile` with a reason;
- `read_mask` with the trimap convention: a mask or a `BadFile`;
- the serving signatures' decoding (`models/signatures.py` `decode_served_image`): an image
  tensor or an `InvalidArgumentError`;
- (slow: it needs a pushed model) the pushed SavedModel's `segment_image` and
  `serving_default` signatures in a fresh process: a mask exactly where the decoding gave
  an image, else an `InvalidArgumentError`, and the process survives them all.
Anything else (another exception, a crash of the process) fails the test and names the
input. The counts of inputs and outcomes are in docs/reliability.md.
"""

import io
import struct
import time
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models import features, signatures
from models.mask_convention import MaskFormat
from sources.image_files import BadFile, read_image, read_mask
from tests.reliability.helpers import serve_files

VARIANTS_PER_SEED = 60
SEED = 20261201
# Not a speed target: an input that takes this long means a reader hangs.
HANG_SECONDS = 30


def encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def seed_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, [24, 32, 3], dtype=np.uint8))
    trimap = Image.fromarray(rng.integers(1, 4, [24, 32], dtype=np.uint8))
    return {
        "jpeg": encoded(photo, "JPEG"),
        "png": encoded(photo, "PNG"),
        "mask_png": encoded(trimap, "PNG"),
        "gif": encoded(photo.convert("P"), "GIF"),
        "bmp": encoded(photo, "BMP"),
    }


def claim_huge_size(data: bytes, width: int, height: int) -> bytes:
    """The same file with a header that declares width x height pixels."""
    if data.startswith(b"\x89PNG"):
        chunk = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
        return data[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[33:]
    if data.startswith(b"GIF"):
        return data[:6] + struct.pack("<HH", width % 65536, height % 65536) + data[10:]
    if data.startswith(b"BM"):
        return data[:18] + struct.pack("<ii", width, height) + data[26:]
    start = data.find(b"\xff\xc0")  # JPEG: the baseline frame header
    return data[: start + 5] + struct.pack(">HH", height % 65536, width % 65536) + data[start + 9 :]


def variants(data: bytes, rng: np.random.Generator) -> list[tuple[str, bytes]]:
    made = []
    for index in range(VARIANTS_PER_SEED):
        kind = ("truncated", "flipped", "header", "huge", "junk")[index % 5]
        if kind == "truncated":
            made.append((kind, data[: int(rng.integers(0, len(data)))]))
        elif kind == "flipped":
            mutated = bytearray(data)
            for position in rng.integers(0, len(data), int(rng.integers(1, 9))):
                mutated[position] ^= 1 << int(rng.integers(0, 8))
            made.append((kind, bytes(mutated)))
        elif kind == "header":
            length = int(rng.integers(1, 33))
            made.append((kind, rng.bytes(length) + data[length:]))
        elif kind == "huge":
            width, height = (int(side) for side in rng.integers(1, 2**31 - 1, 2))
            made.append((kind, claim_huge_size(data, width, height)))
        else:
            junk = rng.bytes(int(rng.integers(1, 64)))
            made.append((kind, junk + data if index % 2 else data + junk))
    return made


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """[(name, path, bytes)] of every variant of every seed file, written to disk."""
    directory = tmp_path_factory.mktemp("fuzzed")
    rng = np.random.default_rng(SEED)
    inputs = []
    for seed_name, data in seed_files().items():
        for index, (kind, variant) in enumerate(variants(data, rng)):
            name = f"{seed_name}_{index:02}_{kind}"
            path = directory / name
            path.write_bytes(variant)
            inputs.append((name, str(path), variant))
    return inputs


def outcomes_of(inputs, read) -> dict[str, int]:
    """Runs `read` on each input; counts its clean outcomes; fails on anything else."""
    counts = {}
    for name, path, data in inputs:
        started = time.monotonic()
        try:
            outcome = read(path, data)
        except Exception as error:  # noqa: BLE001 - the point is to see every kind
            pytest.fail(f"{name}: {type(error).__name__}: {error}")
        assert time.monotonic() - started < HANG_SECONDS, name
        counts[outcome] = counts.get(outcome, 0) + 1
    print(f"{len(inputs)} inputs: {counts}")
    return counts


def test_read_image_gives_an_image_or_a_reason(fuzzed):
    def read(path, data):
        try:
            image = read_image(path)
        except BadFile as problem:
            assert problem.reason and "\n" not in problem.reason, problem
            return "BadFile"
        assert image.rgb.ndim == 3 and image.rgb.shape[2] == 3
        assert image.rgb.shape[0] * image.rgb.shape[1] <= features.MAX_IMAGE_PIXELS
        return "image"

    counts = outcomes_of(fuzzed, read)
    assert sum(counts.values()) == len(fuzzed) == 300
    assert counts.get("BadFile", 0) > 0 and counts.get("image", 0) > 0


def test_read_mask_gives_a_mask_or_a_reason(fuzzed):
    trimaps = MaskFormat.trimap()

    def read(path, data):
        try:
            mask = read_mask(path, trimaps)
        except BadFile as problem:
            assert problem.reason and "\n" not in problem.reason, problem
            return "BadFile"
        assert mask.ndim == 2 and set(np.unique(mask)) <= {1, 2, 3}
        return "mask"

    counts = outcomes_of(fuzzed, read)
    assert sum(counts.values()) == len(fuzzed)
    assert counts.get("BadFile", 0) > 0


def decoded_shapes(inputs) -> dict[str, list | None]:
    """{name: [height, width] the serving decoding gives, or None where it refuses}."""
    decode = tf.function(
        signatures.decode_served_image, input_signature=[tf.TensorSpec([], tf.string)]
    )
    shapes = {}

    def read(path, data):
        try:
            image = decode(tf.constant(data))
        except tf.errors.InvalidArgumentError:
            shapes[path.rsplit("/", 1)[-1]] = None
            return "InvalidArgumentError"
        height, width, channels = image.shape.as_list()
        assert channels == 3 and height * width <= features.MAX_IMAGE_PIXELS
        shapes[path.rsplit("/", 1)[-1]] = [height, width]
        return "image"

    counts = outcomes_of(inputs, read)
    assert sum(counts.values()) == len(inputs)
    assert counts.get("InvalidArgumentError", 0) > 0 and counts.get("image", 0) > 0
    return shapes


def test_serving_decodes_or_refuses_each_input(fuzzed):
    decoded_shapes(fuzzed)


@pytest.mark.slow
def test_the_pushed_signatures_answer_each_input_as_their_decoding_does(fuzzed, good_run, tmp_path):
    _, summary, _ = good_run
    good = tmp_path / "good.png"
    good.write_bytes(seed_files()["png"])
    served = serve_files(summary.pushed_model_dir, [str(good)] + [path for _, path, _ in fuzzed])

    expected = decoded_shapes(fuzzed)
    counts = {}
    for name, shape in expected.items():
        single, batch = served["segment_image " + name], served["serving_default " + name]
        if shape is None:  # refused: an InvalidArgumentError's message, for the whole batch
            assert isinstance(single, str) and single, name
            assert isinstance(batch, str) and batch, name
            counts["InvalidArgumentError"] = counts.get("InvalidArgumentError", 0) + 1
        else:  # a mask at the image's own size; the batch at the model's size
            assert single == shape, name
            assert isinstance(batch, list) and batch[0] == 2, name
            counts["mask"] = counts.get("mask", 0) + 1
    print(f"{len(expected)} inputs through each signature: {counts}")
    assert served["segment_image the first file again"] == [24, 32]  # the process still serves
