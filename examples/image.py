"""Cut a person out of a photo: a transparent PNG plus a version on a blurred background.

    python examples/image.py [PHOTO] [OUT_DIR]

PHOTO defaults to examples/astronaut.jpg (public domain); the results are written to OUT_DIR (the
current folder by default) as <photo>_cutout.png and <photo>_blurred.jpg. Existing files are never
replaced.
"""

import sys
from pathlib import Path

import bgseg
from bgseg.effects import Effect
from bgseg.io import InputError, OutputExists, read_image, write_image

photo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("astronaut.jpg"))
out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else ".")
try:
    rgb = read_image(photo)                              # upright RGB uint8 (EXIF applied)
    with bgseg.load("default_image") as segmenter:       # a Segmenter: no state between images
        mask = segmenter.segment(rgb)                    # float32 person probability, photo size
    write_image(out_dir / f"{photo.stem}_cutout.png", Effect(alpha=True)(rgb, mask))
    write_image(out_dir / f"{photo.stem}_blurred.jpg", Effect(blur=15)(rgb, mask))
except OutputExists as error:                            # never replace the user's files
    sys.exit(f"error: {error.path}: output exists; remove it or pass another OUT_DIR")
except InputError as error:                              # missing photo, unreadable image, ...
    sys.exit(f"error: {error}")
print(
    f"wrote {out_dir / (photo.stem + '_cutout.png')} and {out_dir / (photo.stem + '_blurred.jpg')}"
)
