"""Reading image and mask files: where files are decoded, checked and converted.

Every folder source (the Oxford layout, a generic folder) and every tool that reads users'
files goes through `read_image` and `read_mask`, so the traps of real data are handled in
one place:
- files are decoded by content, not by extension (a `.jpg` may hold a PNG or a GIF);
- grayscale, RGBA, CMYK and palette images become RGB;
- a corrupt or truncated file, a mask whose size differs from its image, or a mask value
  outside the declared convention raises `BadFile`, which names the file and the problem,
  so callers can skip the pair and report it.

Files are read through sources/files.py: a local path, or a URI such as gs://bucket/a.jpg.
"""

import dataclasses
import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from models import features
from models.mask_convention import MaskFormat
from sources import files


class SourceError(ValueError):
    """A data source that cannot work as configured (missing folder, no pairs, ...)."""


class BadFile(ValueError):
    """One file that cannot be used; the pair it belongs to is skipped and reported."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class ImageFile:
    rgb: np.ndarray  # uint8 [H, W, 3]
    encoded: bytes  # the file's own bytes if an RGB JPEG, else a lossless PNG of `rgb`

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[0], self.rgb.shape[1]


def read_image(path: str) -> ImageFile:
    """An image file of any format PIL reads -> RGB pixels and bytes TensorFlow decodes."""
    raw = _read_bytes(path)
    image = _open(path, raw)
    if image.format == "JPEG" and image.mode == "RGB":
        # TensorFlow decodes RGB JPEGs as they are: keep the bytes, re-encoding would lose
        # quality. Everything else (CMYK JPEGs, PNG/GIF named .jpg, RGBA, ...) is converted.
        return ImageFile(np.asarray(image), raw)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels have no defined colour: put them on white, as viewers do.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(background, rgba).convert("RGB")
    else:
        rgb = image.convert("RGB")
    return ImageFile(np.asarray(rgb), _png_bytes(rgb))


def read_mask(path: str, mask_format: MaskFormat, expected_size=None) -> np.ndarray:
    """A mask file -> uint8 [H, W] values of `mask_format.stored_convention`, checked.

    expected_size: the (height, width) of the mask's image; a different size is an error
    rather than a resize, because a mask of another size usually belongs to another image.
    """
    image = _open(path, _read_bytes(path))
    if image.format == "JPEG":
        # Lossy compression invents values along every edge; such a mask is unusable.
        raise BadFile(path, "mask is a JPEG, whose compression changes values; use PNG masks")
    if expected_size is not None and (image.height, image.width) != tuple(expected_size):
        raise BadFile(
            path,
            f"mask is {image.width}x{image.height} but its image is "
            f"{expected_size[1]}x{expected_size[0]}; masks must have their image's size",
        )
    if mask_format.palette is not None:
        values = _palette_to_class_ids(path, image, mask_format.palette)
    else:
        values = _single_channel(path, image)
    allowed = mask_format.stored_convention.class_of_value
    unknown = sorted(set(np.unique(values).tolist()) - set(allowed))
    if unknown:
        raise BadFile(
            path,
            f"mask values {unknown[:10]} are outside the declared convention "
            f"{mask_format.describe()}",
        )
    return values


def encode_png(values: np.ndarray) -> bytes:
    """A uint8 [H, W] or [H, W, 3] array -> PNG bytes."""
    return _png_bytes(Image.fromarray(np.asarray(values, np.uint8)))


def _read_bytes(path: str) -> bytes:
    try:
        return files.read_bytes(path)
    except OSError as error:
        raise BadFile(path, f"cannot read the file ({error.strerror or error})") from None


def _open(path: str, raw: bytes) -> Image.Image:
    if not raw:
        raise BadFile(path, "the file is empty")
    try:
        with warnings.catch_warnings():
            # PIL warns above its own limit; the size is checked below against ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))  # reads the header only
        if image.width * image.height <= features.MAX_IMAGE_PIXELS:
            image.load()  # Decodes the pixels now: truncated and corrupt files fail here.
    except UnidentifiedImageError:
        raise BadFile(path, "not a readable image (unknown or corrupt image format)") from None
    except Image.DecompressionBombError as error:
        # Over twice PIL's MAX_IMAGE_PIXELS (about 179 megapixels): decoding could take
        # gigabytes, and a small file can claim such a size.
        raise BadFile(path, f"image too large to read safely ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise BadFile(path, f"not a readable image ({error})") from None
    if image.width * image.height > features.MAX_IMAGE_PIXELS:
        raise BadFile(
            path,
            f"{image.width}x{image.height} pixels, over the "
            f"{features.MAX_IMAGE_PIXELS // 1_000_000} megapixels this project reads and "
            "serves; downscale it",
        )
    if image.width < 1 or image.height < 1:
        raise BadFile(path, "the image has no pixels")
    return image


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _single_channel(path: str, image: Image.Image) -> np.ndarray:
    if image.mode == "P":
        return np.asarray(image, np.uint8)  # Palette indices are the values (as in VOC).
    if image.mode in ("L", "1"):
        return np.asarray(image.convert("L"), np.uint8)
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        values = np.asarray(image, np.int64)
        if values.max(initial=0) > 255:
            raise BadFile(path, "mask values above 255; store class values as 8-bit")
        return values.astype(np.uint8)
    rgb = np.asarray(image.convert("RGB"), np.uint8)
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return rgb[..., 0]  # A gray mask saved as RGB.
    raise BadFile(
        path,
        "mask has colours; declare a palette (class=#rrggbb,...) for colour masks, "
        "or save one-channel masks",
    )


def _palette_to_class_ids(path, image, palette) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"), np.int64)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    class_ids = np.full(packed.shape, 255, np.uint8)  # 255: a colour of no class
    for class_id, (r, g, b) in enumerate(palette):
        class_ids[packed == ((r << 16) | (g << 8) | b)] = class_id
    if (class_ids == 255).any():
        unknown = np.unique(packed[class_ids == 255])[:5]
        colours = ", ".join(f"#{int(c):06x}" for c in unknown)
        raise BadFile(path, f"mask colours {colours} are not in the declared palette")
    return class_ids
