"""Builders of small image/mask folders with the traps real data has (shared by tests)."""

import io
import os
import uuid

import numpy as np
from PIL import Image

from sources import synthetic_pets


def save(image: Image.Image, path, fmt):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image.save(path, format=fmt)


def photo(height=24, width=32, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, [height, width, 3], dtype=np.uint8)


def trimap(height=24, width=32) -> np.ndarray:
    mask = np.full([height, width], 2, np.uint8)  # background
    mask[6:18, 8:24] = 3  # border band
    mask[8:16, 10:22] = 1  # pet
    return mask


def truncated_jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(64, 64)).save(buffer, format="JPEG")
    return buffer.getvalue()[:300]


# name -> (how the image is written, how the trimap is written, skipped?, reason fragment)
OXFORD_TRAPS = {
    "Abyssinian_1": ("rgb_jpeg", "ok", False, None),
    "Bengal_2": ("png_named_jpg", "ok", False, None),
    "Birman_3": ("gif_named_jpg", "ok", False, None),
    "beagle_4": ("grayscale_jpeg", "ok", False, None),
    "boxer_5": ("rgba_png_named_jpg", "ok", False, None),
    "pug_6": ("cmyk_jpeg", "ok", False, None),
    "samoyed_7": ("truncated_jpeg", "ok", True, "not a readable image"),
    "havanese_8": ("rgb_jpeg", "wrong_size", True, "masks must have their image's size"),
    "keeshond_9": ("rgb_jpeg", "unknown_values", True, "outside the declared convention"),
    "Persian_10": ("rgb_jpeg", None, True, "no trimap"),
    "Sphynx_11": ("empty_file", "ok", True, "empty"),
    "chihuahua_12": ("rgb_jpeg", "ok", False, None),
}
OXFORD_GOOD = sorted(name for name, trap in OXFORD_TRAPS.items() if not trap[2])


def write_image(kind, path, seed=0):
    pixels = photo(seed=seed)
    image = Image.fromarray(pixels)
    if kind == "rgb_jpeg":
        save(image, path, "JPEG")
    elif kind == "png_named_jpg":
        save(image, path, "PNG")
    elif kind == "gif_named_jpg":
        save(image.convert("P"), path, "GIF")
    elif kind == "grayscale_jpeg":
        save(image.convert("L"), path, "JPEG")
    elif kind == "rgba_png_named_jpg":
        save(image.convert("RGBA"), path, "PNG")
    elif kind == "cmyk_jpeg":
        save(image.convert("CMYK"), path, "JPEG")
    elif kind == "truncated_jpeg":
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            file.write(truncated_jpeg_bytes())
    elif kind == "empty_file":
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()
    else:
        raise ValueError(kind)


def write_trimap(kind, path):
    if kind is None:
        return
    mask = {"ok": trimap(), "wrong_size": trimap(20, 32), "unknown_values": trimap() * 3}[kind]
    save(Image.fromarray(mask), path, "PNG")


def oxford_folder_with_traps(root, with_lists=True):
    """Every trap of OXFORD_TRAPS, plus a .mat file and macOS '._' files to ignore."""
    for index, (name, (image_kind, mask_kind, _, _)) in enumerate(OXFORD_TRAPS.items()):
        write_image(image_kind, os.path.join(root, "images", f"{name}.jpg"), seed=index)
        write_trimap(mask_kind, os.path.join(root, "annotations", "trimaps", f"{name}.png"))
    open(os.path.join(root, "images", "Abyssinian_101.mat"), "wb").close()
    open(os.path.join(root, "annotations", "trimaps", "._Abyssinian_1.png"), "wb").close()
    if with_lists:
        with open(os.path.join(root, "annotations", "trainval.txt"), "w") as lines:
            for name in OXFORD_TRAPS:
                class_id = synthetic_pets.oxford_layout.BREEDS.index(name.rsplit("_", 1)[0]) + 1
                species = 1 if name[0].isupper() else 2
                lines.write(f"{name} {class_id} {species} 1\n")
    return root


def generated_oxford_folder(root, num_trainval=12, num_test=4):
    """A clean Oxford-layout folder of generated pets (sources/synthetic_pets.py)."""
    synthetic_pets.write_oxford_layout(root, num_trainval, num_test, min_side=64, max_side=96)
    return root


def copy_to_ram(local_dir) -> str:
    """The tree under local_dir copied, byte for byte, into TensorFlow's in-memory
    filesystem: a new ram:// URI, which only this process sees."""
    import tensorflow as tf

    uri = f"ram://{uuid.uuid4().hex}"
    for directory, _, names in os.walk(local_dir):
        relative = os.path.relpath(directory, local_dir)
        target = uri if relative == "." else f"{uri}/{relative}"
        tf.io.gfile.makedirs(target)
        for name in names:
            with open(os.path.join(directory, name), "rb") as source:
                with tf.io.gfile.GFile(f"{target}/{name}", "wb") as copy:
                    copy.write(source.read())
    return uri
