"""Synthetic, Oxford-IIIT-Pet-shaped segmentation data as a TFDS dataset.

The pipeline's real target is `oxford_iiit_pet` (about 800 MB to download). This
module registers `synthetic_pets`, a TensorFlow Datasets builder that generates
pet-like scenes offline and deterministically, with exactly the same features and
splits as `oxford_iiit_pet`. It is the default source for runs and tests on
machines without internet access, and anything that consumes one dataset can
consume the other.

Each scene is an animal-like shape (body, head, ears, legs, tail) with a fur
texture, in a random pose, on a textured background with distractor objects.
Foreground and background colours often overlap on purpose, so that a model has
to learn shape and texture instead of a colour threshold. Masks are trimaps as in
Oxford: 1 = pet, 2 = background, 3 = a border band straddling the pet's outline.

Usage:

```python
import tensorflow_datasets as tfds
from sources import synthetic_pets  # registers the builder

ds = tfds.load("synthetic_pets", split="train")  # 1000 train / 250 test
small = synthetic_pets.make_config(num_train=64, num_test=16)
ds = tfds.load("synthetic_pets", builder_kwargs={"config": small}, split="test")
```
"""

import dataclasses
import zlib

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image, ImageDraw, ImageFilter

from sources import oxford_layout

_LABEL_CLASSES = list(oxford_layout.BREEDS)
_SPECIES_CLASSES = [name.capitalize() for name in oxford_layout.SPECIES]  # as TFDS names them

# Rough coat of each breed: (main colour, second colour, pattern). Only meant to
# make the label mean something visually; segmentation does not depend on it.
_COLOURS = {
    "black": (30, 26, 26),
    "white": (236, 232, 224),
    "cream": (226, 204, 166),
    "fawn": (200, 160, 112),
    "tan": (178, 118, 62),
    "ruddy": (168, 98, 50),
    "red": (196, 104, 48),
    "brown": (112, 72, 44),
    "seal": (62, 46, 36),
    "grey": (122, 126, 134),
    "silver": (184, 184, 180),
    "golden": (212, 164, 84),
    "pink": (222, 172, 152),
    "wheat": (222, 194, 140),
}
_COATS = {
    "Abyssinian": ("ruddy", "tan", "ticked"),
    "american_bulldog": ("white", "brown", "patches"),
    "american_pit_bull_terrier": ("grey", "white", "bicolor"),
    "basset_hound": ("tan", "white", "bicolor"),
    "beagle": ("tan", "white", "patches"),
    "Bengal": ("golden", "brown", "spots"),
    "Birman": ("cream", "seal", "points"),
    "Bombay": ("black", "black", "solid"),
    "boxer": ("fawn", "white", "bicolor"),
    "British_Shorthair": ("grey", "grey", "solid"),
    "chihuahua": ("fawn", "cream", "solid"),
    "Egyptian_Mau": ("silver", "black", "spots"),
    "english_cocker_spaniel": ("golden", "brown", "solid"),
    "english_setter": ("white", "black", "spots"),
    "german_shorthaired": ("brown", "white", "spots"),
    "great_pyrenees": ("white", "cream", "solid"),
    "havanese": ("cream", "white", "solid"),
    "japanese_chin": ("white", "black", "patches"),
    "keeshond": ("silver", "black", "patches"),
    "leonberger": ("golden", "black", "points"),
    "Maine_Coon": ("brown", "black", "stripes"),
    "miniature_pinscher": ("black", "tan", "points"),
    "newfoundland": ("black", "black", "solid"),
    "Persian": ("white", "cream", "solid"),
    "pomeranian": ("red", "cream", "solid"),
    "pug": ("fawn", "black", "points"),
    "Ragdoll": ("cream", "seal", "points"),
    "Russian_Blue": ("grey", "silver", "solid"),
    "saint_bernard": ("white", "red", "patches"),
    "samoyed": ("white", "white", "solid"),
    "scottish_terrier": ("black", "black", "solid"),
    "shiba_inu": ("red", "cream", "bicolor"),
    "Siamese": ("cream", "seal", "points"),
    "Sphynx": ("pink", "pink", "hairless"),
    "staffordshire_bull_terrier": ("brown", "white", "bicolor"),
    "wheaten_terrier": ("wheat", "cream", "solid"),
    "yorkshire_terrier": ("grey", "tan", "bicolor"),
}

# Trimap values, as in Oxford-IIIT Pet.
PET, BACKGROUND, BORDER = 1, 2, 3

_SEED = 20240611  # Root of every example's seed; change it to get other data.


@dataclasses.dataclass(eq=False)
class SyntheticPetsConfig(tfds.core.BuilderConfig):
    """Dataset size: examples per split and range of image side lengths."""

    num_train: int = 1000
    num_test: int = 250
    min_side: int = 192
    max_side: int = 320


def make_config(num_train, num_test, min_side=192, max_side=320):
    """Returns a config named after its values, so sizes never share a cache."""
    if min(num_train, num_test) < 1:
        raise ValueError("Each split needs at least one example.")
    if not 32 <= min_side <= max_side:
        raise ValueError(f"Need 32 <= min_side <= max_side, got {min_side}, {max_side}.")
    return SyntheticPetsConfig(
        name=f"n{num_train}_{num_test}_s{min_side}_{max_side}",
        description=(
            f"{num_train} train / {num_test} test images, sides {min_side}..{max_side} px."
        ),
        num_train=num_train,
        num_test=num_test,
        min_side=min_side,
        max_side=max_side,
    )


class SyntheticPets(tfds.core.GeneratorBasedBuilder):
    """Procedural pet scenes in the `oxford_iiit_pet` format."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release.",
        "1.1.0": "Border band as wide as in the real trimaps (2.5% of the shorter side).",
    }
    BUILDER_CONFIGS = [
        SyntheticPetsConfig(
            name="default", description="1000 train / 250 test images, sides 192..320 px."
        ),
        # For tests and smoke runs.
        SyntheticPetsConfig(
            name="tiny",
            description="32 train / 16 test images, sides 64..96 px.",
            num_train=32,
            num_test=16,
            min_side=64,
            max_side=96,
        ),
        # The real dataset's size (3,680 trainval / 3,669 test, about 500x375), for
        # benchmarks.
        SyntheticPetsConfig(
            name="full",
            description="3680 train / 3669 test images, sides 300..500 px.",
            num_train=3680,
            num_test=3669,
            min_side=300,
            max_side=500,
        ),
    ]

    def _info(self):
        # Identical to `oxford_iiit_pet`'s features, including the head bounding box.
        features = tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(encoding_format="jpeg"),
                "label": tfds.features.ClassLabel(names=_LABEL_CLASSES),
                "species": tfds.features.ClassLabel(names=_SPECIES_CLASSES),
                "file_name": tfds.features.Text(),
                "segmentation_mask": tfds.features.Image(shape=(None, None, 1), use_colormap=True),
                "head_bbox": tfds.features.BBoxFeature(),
            }
        )
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Procedural pet-like scenes (textured animal shapes on textured "
                "backgrounds with distractors) with trimap masks, in the exact "
                "format of oxford_iiit_pet; an offline stand-in for it."
            ),
            features=features,
            supervised_keys=("image", "label"),
            homepage="http://www.robots.ox.ac.uk/~vgg/data/pets/",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        cfg = self.builder_config
        return {
            "train": self._generate_examples("train", cfg.num_train, 0),
            "test": self._generate_examples("test", cfg.num_test, cfg.num_train),
        }

    def _generate_examples(self, split, num_examples, first_number):
        cfg = self.builder_config
        for index in range(num_examples):
            example = generate_example(
                split, index, cfg.min_side, cfg.max_side, number=first_number + index + 1
            )
            yield example["file_name"], example


def generate_example(split, index, min_side=192, max_side=320, number=None):
    """Example `index` of `split`, always the same (it has its own seed)."""
    # crc32, unlike hash(), is stable across processes.
    rng = np.random.default_rng([_SEED, zlib.crc32(split.encode()), index])
    height, width = rng.integers(min_side, max_side + 1, size=2)
    label = int(rng.integers(len(_LABEL_CLASSES)))
    breed = _LABEL_CLASSES[label]
    image, mask, head_bbox = render_scene(rng, int(height), int(width), breed)
    return {
        "image": image,
        "label": label,
        "species": oxford_layout.species_of(breed),
        # Numbered like Oxford's files; `number` must be unique per dataset.
        "file_name": f"{breed}_{index + 1 if number is None else number}.jpg",
        "segmentation_mask": mask[..., None],
        "head_bbox": head_bbox,
    }


def render_scene(rng, height, width, breed):
    """Returns (uint8 image HxWx3, uint8 trimap HxW, head BBox) for one scene."""
    cat = oxford_layout.species_of(breed) == oxford_layout.SPECIES.index("cat")
    c1, c2, pattern = _COATS[breed]
    coat = (_jitter(rng, _COLOURS[c1]), _jitter(rng, _COLOURS[c2]))
    image = _background(rng, height, width, coat)
    image, pet = _draw_pet(rng, image, cat, coat, pattern)
    image = _add_occluder(rng, image, pet, coat)

    # Sensor noise over everything, so no region is perfectly flat.
    image += rng.standard_normal(image.shape, np.float32) * rng.uniform(1, 5)
    image = np.clip(image, 0, 255).astype(np.uint8)

    fg = pet["mask"]
    trimap = np.where(fg, PET, BACKGROUND).astype(np.uint8)
    # Border: pixels within d of the outline, on both sides. Only the pet's
    # bounding box (plus d) can hold any, so work there.
    # 2.5% of the shorter side: the band then has the width relative to the outline that
    # real Oxford trimaps have (measured on 120 of them: border area / outline length is
    # a median 4.0% of the shorter side; with 2% here it was 3.25%).
    d = max(2, round(0.025 * min(height, width)))
    rows, cols = np.flatnonzero(fg.any(1)), np.flatnonzero(fg.any(0))
    y0, y1 = max(rows[0] - d, 0), min(rows[-1] + d + 1, height)
    x0, x1 = max(cols[0] - d, 0), min(cols[-1] + d + 1, width)
    box = fg[y0:y1, x0:x1]
    trimap[y0:y1, x0:x1][_dilate(box, d) & _dilate(~box, d)] = BORDER
    return image, trimap, pet["head_bbox"]


# ----------------------------------------------------------------------------
# Textures. Everything works on float32 HxW(x3) arrays with values in 0..255.


def _jitter(rng, colour, amount=0.12):
    """A colour near `colour`: brightness and per-channel changes."""
    c = np.asarray(colour, np.float32) * rng.uniform(1 - amount, 1 + amount)
    return np.clip(c + rng.normal(0, 255 * amount / 3, 3), 0, 255).astype(np.float32)


def _random_colour(rng):
    c = rng.uniform(0, 255, 3)
    grey = c.mean()
    return (grey + (c - grey) * rng.uniform(0, 1)).astype(np.float32)


def _noise(rng, h, w, cells):
    """Smooth value noise in [0, 1] with about `cells` blobs across the image."""
    gh = max(2, int(round(cells * h / max(h, w))) + 1)
    gw = max(2, int(round(cells * w / max(h, w))) + 1)
    grid = rng.random((gh, gw), dtype=np.float32)
    n = np.asarray(Image.fromarray(grid).resize((w, h), Image.BICUBIC))
    return (n - n.min()) / max(float(n.max() - n.min()), 1e-6)


def _fractal(rng, h, w, cells, octaves=3):
    """Noise at several scales (coarse to fine), in [0, 1]."""
    total = sum(0.5**k * _noise(rng, h, w, cells * 2**k) for k in range(octaves))
    return total / (2 - 0.5 ** (octaves - 1))


def _smoothstep(lo, hi, x):
    t = np.clip((x - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


def _coords(h, w):
    return (np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :])


def _texture(rng, h, w, c1, c2, ref=None):
    """One of several texture kinds, mixing colours c1 and c2.

    `ref` is the image side that feature sizes are relative to (default: max(h, w)),
    so that a texture made for a small object looks like one made for the image.
    """
    ref = ref or max(h, w)
    y, x = _coords(h, w)
    angle = rng.uniform(0, np.pi)
    # Python floats keep the arrays float32 (numpy scalars would upcast them).
    c, s = float(np.cos(angle)), float(np.sin(angle))
    along, across = x * c + y * s, y * c - x * s
    kind = rng.choice(["gradient", "noise", "stripes", "tiles"])
    if kind == "gradient":
        t = (along - along.min()) / max(float(along.max() - along.min()), 1.0)
        t = t + 0.15 * _noise(rng, h, w, 4)
    elif kind == "noise":
        t = _fractal(rng, h, w, rng.uniform(2, 24) * max(h, w) / ref, octaves=rng.integers(1, 4))
    elif kind == "stripes":
        period = rng.uniform(4, 0.25 * ref)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * along / period)
        t = np.clip((t - 0.5) * rng.uniform(1, 6) + 0.5, 0, 1)  # soft to hard edges
    else:  # tiles with darker grout lines
        p = rng.uniform(8, 0.3 * ref)
        a, b = along / p, across / p
        t = ((np.floor(a) + np.floor(b)) % 2) * rng.uniform(0.3, 1)
        grout = np.minimum(np.abs(a - np.round(a)), np.abs(b - np.round(b))) < 0.04
        t = np.where(grout, -0.4, t)
    t = np.broadcast_to(t, (h, w))[..., None]
    tex = c1 + (c2 - c1) * t
    grain = rng.uniform(0.05, 0.3) * (_noise(rng, h, w, max(h, w) / 3) - 0.5)
    return tex * (1 + grain[..., None])


def _background(rng, h, w, coat):
    """Textured scene behind the pet: maybe a floor/wall split, plus distractors."""

    def colour():
        # Often pick a colour close to the pet's: colour alone must not separate them.
        if rng.random() < 0.35:
            return _jitter(rng, coat[rng.integers(2)], 0.2)
        return _random_colour(rng)

    image = _texture(rng, h, w, colour(), colour())
    if rng.random() < 0.5:  # floor/wall split along a slightly tilted horizon
        floor = _texture(rng, h, w, colour(), colour())
        y, x = _coords(h, w)
        horizon = h * rng.uniform(0.3, 0.8) + rng.uniform(-0.2, 0.2) * (x - w / 2)
        image = np.where((y > horizon)[..., None], floor, image)

    for _ in range(rng.integers(1, 6)):
        shape = _random_shape_mask(rng, h, w, rng.uniform(0.08, 0.4))
        # Sometimes fur-coloured, like cushions, rugs or toys.
        c1, c2 = coat if rng.random() < 0.3 else (colour(), colour())
        _composite(image, lambda bh, bw: _texture(rng, bh, bw, c1, c2, max(h, w)), shape)

    if rng.random() < 0.3:  # shallow depth of field
        image = _blur_rgb(image, rng.uniform(0.8, 2.5))
    # Uneven lighting.
    y, x = _coords(h, w)
    gx, gy = rng.uniform(-0.25, 0.25, 2).tolist()
    return image * (1 + gx * (x / w - 0.5) + gy * (y / h - 0.5))[..., None]


def _random_shape_mask(rng, h, w, size):
    """A filled ellipse, rotated rectangle or irregular blob, as an 'L' image."""
    canvas = Image.new("L", (w, h))
    draw = ImageDraw.Draw(canvas)
    r = size * max(h, w) / 2
    cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
    kind = rng.integers(3)
    if kind == 0:
        pts = _ellipse(cx, cy, r, r * rng.uniform(0.3, 1), rng.uniform(0, np.pi))
    elif kind == 1:
        pts = _rect(cx, cy, r, r * rng.uniform(0.2, 1), rng.uniform(0, np.pi))
    else:
        theta = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        radius = r * (
            1 + 0.35 * np.convolve(np.tile(rng.normal(size=40), 3), np.ones(7) / 7, "same")[40:80]
        )
        pts = np.stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)], 1)
    draw.polygon(pts.ravel().tolist(), fill=255)
    return canvas


def _composite(image, layer, mask_img, soften=0.6, strength=1.0):
    """Pastes `layer` over `image` (in place) where the 'L' mask is set.

    `layer` is a colour, an image as large as `image`, or a function
    (h, w) -> texture that is only evaluated on the mask's bounding box, which is
    much cheaper for small objects. Edges are softened by a slight blur.
    """
    box = mask_img.getbbox()
    if box is None:
        return image
    m = int(3 * soften) + 2  # margin for the blur
    x0, y0 = max(box[0] - m, 0), max(box[1] - m, 0)
    x1, y1 = min(box[2] + m, image.shape[1]), min(box[3] + m, image.shape[0])
    alpha = strength * _blur_mask(mask_img.crop((x0, y0, x1, y1)), soften)[..., None]
    if callable(layer):
        layer = layer(y1 - y0, x1 - x0)
    elif np.ndim(layer) == 3:
        layer = layer[y0:y1, x0:x1]
    region = image[y0:y1, x0:x1]
    region += (layer - region) * alpha
    return image


def _blur_rgb(image, radius):
    im = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(float(radius))), np.float32)


def _blur_mask(mask_img, radius):
    return np.asarray(mask_img.filter(ImageFilter.GaussianBlur(float(radius))), np.float32) / 255


# ----------------------------------------------------------------------------
# The pet: polygons in a local frame (x forward, y down, body length 1), then
# posed into the image with one affine transform.


def _ellipse(cx, cy, rx, ry, angle=0.0, n=40):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def _rect(cx, cy, rx, ry, angle):
    corners = np.array([[-rx, -ry], [rx, -ry], [rx, ry], [-rx, ry]])
    c, s = np.cos(angle), np.sin(angle)
    return corners @ np.array([[c, s], [-s, c]]) + [cx, cy]


def _capsule(p0, p1, r0, r1, n=12):
    """Tapered limb from p0 (radius r0) to p1 (radius r1) with round ends."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    a = np.arctan2(*(p1 - p0)[::-1])
    t0 = a + np.linspace(np.pi / 2, 3 * np.pi / 2, n)
    t1 = a + np.linspace(-np.pi / 2, np.pi / 2, n)
    return np.concatenate(
        [
            p0 + r0 * np.stack([np.cos(t0), np.sin(t0)], 1),
            p1 + r1 * np.stack([np.cos(t1), np.sin(t1)], 1),
        ]
    )


def _pet_parts(rng, cat):
    """Polygons of a random animal: all of it ("body"), the parts that darken in
    the 'points' coat ("extremities"), the head with ears ("head"); plus where
    the eye and nose go and the head radius "hr"."""
    u = rng.uniform
    ry = u(0.16, 0.25)  # body half-height: slim to stocky
    pose = rng.choice(["stand", "sit", "lie"], p=[0.5, 0.25, 0.25])
    hr = u(0.15, 0.2) if cat else u(0.16, 0.25)  # head radius
    legs, extremities = [], []
    leg_r = u(0.045, 0.07) if cat else u(0.05, 0.09)

    if pose == "stand":
        body = [_ellipse(0, 0, 0.5, ry, u(-0.1, 0.1))]
        head = np.array([0.5 + u(-0.05, 0.05), -ry - u(0.0, 0.18)])
        ground = ry + (u(0.2, 0.35) if cat else u(0.25, 0.5))
        for x in (0.32, 0.22, -0.28, -0.38):
            foot = (x + u(-0.12, 0.12), ground)
            legs.append(_capsule((x, 0.3 * ry), foot, leg_r, 0.8 * leg_r))
            extremities.append(_ellipse(foot[0] + 0.02, foot[1], 1.3 * leg_r, leg_r))
    elif pose == "sit":
        body = [_ellipse(-0.1, -0.05, 0.45, ry * 1.1, -0.9 + u(-0.2, 0.2))]
        head = np.array([0.2 + u(-0.05, 0.08), -0.5 - u(0, 0.12)])
        ground = 0.35
        body.append(_ellipse(-0.3, 0.2, 0.25, 0.17, u(-0.3, 0.3)))  # haunch
        for x in (0.12, 0.2):
            foot = (x + u(0, 0.08), ground)
            legs.append(_capsule((x - 0.05, -0.1), foot, leg_r, 0.8 * leg_r))
            extremities.append(_ellipse(foot[0] + 0.02, foot[1], 1.3 * leg_r, leg_r))
        extremities.append(_ellipse(-0.1, ground, 2 * leg_r, leg_r))  # hind paw
    else:  # lying, front paws stretched forward
        body = [_ellipse(0, 0, 0.5, ry, u(-0.05, 0.05))]
        head = np.array([0.5 + u(-0.02, 0.06), -ry * u(0.3, 1.0)])
        for dy in (0.0, 0.05):
            foot = (0.62 + u(0, 0.15), ry * 0.8 + dy)
            legs.append(_capsule((0.25, ry * 0.6 + dy), foot, leg_r, 0.8 * leg_r))
            extremities.append(_ellipse(foot[0], foot[1], 1.3 * leg_r, leg_r))
        body.append(_ellipse(-0.3, ry * 0.7, 0.18, 0.1))  # tucked hind leg

    neck = _capsule((0.3 if pose != "sit" else 0.1, -0.05), head, 0.6 * hr, 0.7 * hr)
    head_parts = [_ellipse(head[0], head[1], hr, hr * u(0.85, 1.0))]
    ears = []
    if cat:  # pointy triangles on top of the head
        muzzle = _ellipse(head[0] + 0.75 * hr, head[1] + 0.25 * hr, 0.4 * hr, 0.35 * hr)
        ear_len = u(0.6, 1.1)
        for theta in (-np.pi / 2 + u(0.3, 0.7), -np.pi / 2 - u(0.3, 0.7)):
            base = [
                head + 0.85 * hr * np.array([np.cos(t), np.sin(t)])
                for t in (theta - 0.4, theta + 0.4)
            ]
            tip = head + hr * (1 + ear_len) * np.array([np.cos(theta), np.sin(theta)])
            ears.append(np.array([base[0], tip, base[1]]))
    else:  # snout plus floppy (hanging) or small rounded ears
        length = u(0.4, 1.0)  # pug to collie
        muzzle = _ellipse(
            head[0] + (0.6 + length / 2) * hr,
            head[1] + 0.3 * hr,
            length * hr,
            0.5 * hr,
            u(-0.1, 0.3),
        )
        if rng.random() < 0.7:
            ears.append(
                _ellipse(
                    head[0] - 0.45 * hr,
                    head[1] + 0.35 * hr,
                    0.35 * hr,
                    u(0.7, 1.0) * hr,
                    u(-0.4, 0.2),
                )
            )
        else:
            for theta in (-np.pi / 2 + 0.5, -np.pi / 2 - 0.4):
                c = head + 0.95 * hr * np.array([np.cos(theta), np.sin(theta)])
                ears.append(_ellipse(c[0], c[1], 0.4 * hr, 0.5 * hr, theta))
    head_parts += [muzzle] + ears
    extremities += ears + [muzzle]

    # Tail: capsules along a random quadratic Bezier from the rump.
    start = np.array([-0.47, -0.05]) if pose != "sit" else np.array([-0.4, 0.25])
    length = u(0.45, 0.8) if cat else u(0.2, 0.6)
    ctrl = start + length * np.array([-0.6, u(-1, 0.6)])
    end = start + length * np.array([u(-1, 0.2), u(-1.2, 0.8)])
    t = np.linspace(0, 1, 8)[:, None]
    path = (1 - t) ** 2 * start + 2 * t * (1 - t) * ctrl + t**2 * end
    tr = u(0.03, 0.06) if cat else u(0.03, 0.08)
    tail = [
        _capsule(path[i], path[i + 1], tr, tr * (0.95 if cat else 0.85), 6)
        for i in range(len(path) - 1)
    ]
    extremities += tail[len(tail) // 2 :]
    return {
        "body": body + legs + [neck] + head_parts + tail,
        "extremities": extremities,
        "head": head_parts,
        "eye": head + hr * np.array([0.4, -0.15]),
        "hr": hr,
        "nose": muzzle[0],
    }  # muzzle[0] is its front tip


def _rasterize(polygons, h, w, transform=None):
    canvas = Image.new("L", (w, h))
    draw = ImageDraw.Draw(canvas)
    for p in polygons:
        if transform is not None:
            p = transform(p)
        draw.polygon(p.ravel().tolist(), fill=255)
    return canvas


def _draw_pet(rng, image, cat, coat, pattern):
    h, w = image.shape[:2]
    parts = _pet_parts(rng, cat)

    # Scale so the pet covers about 15%..60% of the image: measure its area at a
    # known scale (area does not depend on the pose).
    ref = 100
    unit_area = (
        np.count_nonzero(
            np.asarray(
                _rasterize(parts["body"], 3 * ref, 4 * ref, lambda p: (p + [2.0, 1.5]) * ref)
            )
        )
        / ref**2
    )
    scale = float(np.sqrt(rng.uniform(0.15, 0.6) * h * w / unit_area))

    angle = rng.normal(0, 0.25) if rng.random() < 0.9 else rng.uniform(-1.6, 1.6)
    flip = rng.choice([-1.0, 1.0])
    c, s = np.cos(angle), np.sin(angle)
    a = np.array([[c, -s], [s, c]]) @ np.diag(
        [flip * scale * rng.uniform(0.9, 1.1), scale * rng.uniform(0.9, 1.1)]
    )

    # Place it inside the image, or (sometimes) partly cut by the edge.
    pts = np.concatenate(parts["body"]) @ a.T
    lo, hi = pts.min(0), pts.max(0)
    slack = (hi - lo) * (0.25 if rng.random() < 0.25 else 0.0)
    offset = np.empty(2)
    for k, size in enumerate((w, h)):
        low, high = -lo[k] - slack[k], size - hi[k] + slack[k]
        offset[k] = rng.uniform(low, high) if low < high else (low + high) / 2
    transform = lambda p: p @ a.T + offset

    body_img = _rasterize(parts["body"], h, w, transform)
    fg = np.asarray(body_img) > 127

    # The fur is only computed on the pet's bounding box (plus a margin).
    x0, y0, x1, y1 = body_img.getbbox()
    x0, y0, x1, y1 = max(x0 - 3, 0), max(y0 - 3, 0), min(x1 + 3, w), min(y1 + 3, h)
    bh, bw = y1 - y0, x1 - x0
    crop = lambda img: img.crop((x0, y0, x1, y1))
    y, x = _coords(bh, bw)
    inv = np.linalg.inv(a).tolist()  # local body coordinates of every pixel
    x, y = x + float(x0 - offset[0]), y + float(y0 - offset[1])
    lu, lv = inv[0][0] * x + inv[0][1] * y, inv[1][0] * x + inv[1][1] * y

    # Coat pattern: how much of the second colour each pixel gets.
    size = max(bh, bw) / scale  # crop side in body lengths
    if pattern == "stripes":
        warp = _noise(rng, bh, bw, 3 * size)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (lu * rng.uniform(6, 11) + 0.8 * warp))
        t = _smoothstep(0.45, 0.75, t)
    elif pattern == "spots":
        t = _smoothstep(0.6, 0.7, _noise(rng, bh, bw, size * rng.uniform(7, 14)))
    elif pattern == "patches":
        t = _smoothstep(0.5, 0.6, _noise(rng, bh, bw, size * rng.uniform(2, 4)))
    elif pattern == "bicolor":  # lighter belly, chest and legs
        t = _smoothstep(0.05, 0.12, lv + 0.1 * _noise(rng, bh, bw, 4 * size))
    elif pattern == "points":  # darker ears, face, paws and tail
        ext = crop(_rasterize(parts["extremities"], h, w, transform))
        t = np.clip(1.5 * _blur_mask(ext, 0.04 * scale), 0, 1)
    elif pattern == "ticked":
        t = 0.6 * _noise(rng, bh, bw, max(bh, bw) / 2)
    else:  # solid, hairless
        t = np.zeros((bh, bw), np.float32)
    fur = coat[0] + (coat[1] - coat[0]) * t[..., None]

    # Fur grain (streaky noise), rim shading and a light direction give volume.
    streaks = np.asarray(
        Image.fromarray(rng.random((bh, max(2, bw // 4)), np.float32)).resize(
            (bw, bh), Image.BILINEAR
        )
    )
    grain = (0.05 if pattern == "hairless" else rng.uniform(0.2, 0.5)) * (
        0.6 * streaks + 0.4 * rng.random((bh, bw), np.float32) - 0.5
    )
    rim = _blur_mask(crop(body_img), max(1.0, 0.05 * scale))
    lx, ly = (rng.normal(size=2) / 4).tolist()
    fur *= ((1 + grain) * (0.6 + 0.4 * rim) * (1 + lx * lu + ly * lv))[..., None]

    # Eye and nose: dark dots that are part of the pet, like in the real masks.
    details = Image.new("L", (bw, bh))
    draw = ImageDraw.Draw(details)
    for centre, r in ((parts["eye"], 0.13 * parts["hr"]), (parts["nose"], 0.1 * parts["hr"])):
        dot = transform(_ellipse(centre[0], centre[1], r, r, n=12)) - [x0, y0]
        draw.polygon(dot.ravel().tolist(), fill=255)
    _composite(fur, 20.0, details, 0.4)

    # A soft contact shadow under the pet; it belongs to the background.
    shadow = _rasterize(parts["body"], h, w, lambda p: transform(p) + [0.03 * scale, 0.05 * scale])
    _composite(
        image, 0.0, shadow, 0.05 * scale * rng.uniform(0.5, 1.5), strength=rng.uniform(0.2, 0.5)
    )
    _composite(image[y0:y1, x0:x1], fur, crop(body_img))  # a view: in place

    head = np.concatenate([transform(p) for p in parts["head"]])
    hx0, hy0 = np.clip(head.min(0), 0, [w, h]).tolist()
    hx1, hy1 = np.clip(head.max(0), 0, [w, h]).tolist()
    if hx1 - hx0 < 1 or hy1 - hy0 < 1:  # head outside the image
        head_bbox = tfds.features.BBox(0.0, 0.0, 0.0, 0.0)
    else:
        head_bbox = tfds.features.BBox(hy0 / h, hx0 / w, hy1 / h, hx1 / w)
    return image, {"mask": fg, "head_bbox": head_bbox, "offset": offset, "scale": scale}


def _add_occluder(rng, image, pet, coat):
    """Sometimes an object in front of the pet, cutting a piece out of its mask."""
    if rng.random() > 0.15:
        return image
    h, w = image.shape[:2]
    canvas = Image.new("L", (w, h))
    scale = pet["scale"]  # body length in pixels
    cx, cy = pet["offset"] + rng.normal(0, [0.3, 0.2]) * scale  # near the body
    r = scale * rng.uniform(0.1, 0.25)
    pts = _rect(cx, cy, r, r * rng.uniform(0.2, 0.8), rng.uniform(0, np.pi))
    ImageDraw.Draw(canvas).polygon(pts.ravel().tolist(), fill=255)
    c1 = _random_colour(rng) if rng.random() < 0.7 else _jitter(rng, coat[0])
    c2 = _random_colour(rng)
    _composite(image, lambda bh, bw: _texture(rng, bh, bw, c1, c2, max(h, w)), canvas)
    pet["mask"] = pet["mask"] & (np.asarray(canvas) <= 127)
    return image


def _dilate(mask, r):
    """Binary dilation by a disk of radius r, in O(r * pixels) with numpy only."""
    h, w = mask.shape
    padded = np.pad(mask, r).astype(np.int32)
    # Running sums along rows: any True within [x - dx, x + dx] in one slice.
    csum = np.pad(np.cumsum(padded, axis=1), ((0, 0), (1, 0)))
    out = np.zeros((h, w), bool)
    for dy in range(-r, r + 1):
        dx = int(np.sqrt(r * r - dy * dy))
        rows = csum[r + dy : r + dy + h]
        out |= (rows[:, r + dx + 1 : r + dx + 1 + w] - rows[:, r - dx : r - dx + w]) > 0
    return out


def write_oxford_layout(root, num_trainval, num_test=0, min_side=96, max_side=160):
    """Writes generated scenes as the Oxford-IIIT Pet archives unpack, lists included.

    For trying the Oxford-layout source offline, and for tests:
    `python -m sources.synthetic_pets DIR --trainval 200 --test 50`.
    """
    import os

    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    os.makedirs(os.path.join(root, "annotations", "trimaps"), exist_ok=True)
    for split, count in (("trainval", num_trainval), ("test", num_test)):
        lines = []
        for index in range(count):
            number = index + 1 if split == "trainval" else num_trainval + index + 1
            example = generate_example(split, index, min_side, max_side, number=number)
            name = os.path.splitext(example["file_name"])[0]
            Image.fromarray(example["image"]).save(
                os.path.join(root, "images", f"{name}.jpg"), quality=90
            )
            Image.fromarray(example["segmentation_mask"][..., 0]).save(
                os.path.join(root, "annotations", "trimaps", f"{name}.png")
            )
            label, species = example["label"], example["species"]
            lines.append(f"{name} {label + 1} {species + 1} {label + 1}\n")
        if count:
            with open(os.path.join(root, "annotations", f"{split}.txt"), "w") as list_file:
                list_file.writelines(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=write_oxford_layout.__doc__)
    parser.add_argument("root")
    parser.add_argument("--trainval", type=int, default=200)
    parser.add_argument("--test", type=int, default=0)
    parser.add_argument("--min-side", type=int, default=192)
    parser.add_argument("--max-side", type=int, default=320)
    args = parser.parse_args()
    write_oxford_layout(args.root, args.trainval, args.test, args.min_side, args.max_side)
    print(f"Wrote {args.trainval} trainval and {args.test} test pairs to {args.root}.")
