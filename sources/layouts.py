"""The folder layouts a source can have, and finding the image/mask pairs in each: one
`discover` for the FolderExampleGen, preflight's sample check and `evaluate`.

- "oxford": the Oxford-IIIT Pet archives unpacked, `images/` and `annotations/trimaps/`
  (sources/oxford_layout.py);
- "folder": images in one folder, masks in another, matched by file stem
  (sources/image_folder.py).
"""

from sources import image_folder, oxford_layout
from sources.pairs import Discovery

LAYOUTS = ("oxford", "folder")


def discover(
    layout: str,
    root: str = "",
    image_dir: str = "",
    mask_dir: str = "",
    subset: str = "trainval",
) -> tuple[Discovery, str]:
    """(the pairs and the files without a partner, a description of where they are).

    root and subset are the Oxford layout's; image_dir and mask_dir the plain folder's.
    """
    if layout == "oxford":
        return oxford_layout.find_pairs(root, subset), f"Oxford-IIIT Pet folder {root}"
    if layout == "folder":
        return image_folder.find_pairs(image_dir, mask_dir), f"folder {image_dir} + {mask_dir}"
    raise ValueError(f"Unknown layout {layout!r}; use one of {LAYOUTS}.")
