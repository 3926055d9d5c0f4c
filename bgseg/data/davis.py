"""DAVIS video clips: `<root>/JPEGImages/480p/<clip>/NNNNN.jpg` with
`<root>/Annotations/480p/<clip>/NNNNN.png`.

Every frame is an `Item` keyed by its clip name (so a whole clip falls in one split); from the
second frame on, `prev_mask` is the previous frame's true mask and `prev_image` the previous frame,
which train the 4th input channel on real motion (synthetic and on-policy priors).
"""

from pathlib import Path

from bgseg.data.folders import Item


def davis_items(root, resolution="480p"):
    """The frames of all clips, in clip then frame order. Missing folders or masks raise errors
    naming them."""
    root = Path(root)
    images_root, masks_root = root / "JPEGImages" / resolution, root / "Annotations" / resolution
    for d in (images_root, masks_root):
        if not d.is_dir():
            raise FileNotFoundError(f"DAVIS layout needs {d}")
    items = []
    for clip_dir in sorted(p for p in images_root.iterdir() if p.is_dir()):
        frames = sorted(clip_dir.glob("*.jpg"))
        prev = prev_frame = None
        for frame in frames:
            mask = masks_root / clip_dir.name / f"{frame.stem}.png"
            if not mask.is_file():
                raise FileNotFoundError(f"DAVIS frame {frame} has no annotation {mask}")
            items.append(Item(key=clip_dir.name, image=str(frame), mask=str(mask),
                              prev_mask=None if prev is None else str(prev),
                              prev_image=None if prev_frame is None else str(prev_frame)))
            prev, prev_frame = mask, frame
    if not items:
        raise ValueError(f"no DAVIS clips in {images_root}")
    return items
