"""Augmentation in numpy/OpenCV, driven by an explicit `np.random.Generator` (reproducible per
sample).

Images are uint8 RGB or float32 RGB in [0, 1]; masks float32 in [0, 1], shape (H, W).

- `crop_matrix`: one affine (random scale, crop position, rotation, flip) from a source image to the
  model's (H, W) frame, applied with `warp` to the image, its mask and its previous mask alike.
- `photometric`: brightness, contrast, saturation, per-channel gain, noise, blur, grayscale.
- `composite`: paste the person onto a background photo.
- `paste_person`: copy-paste one more person (cut out by their truth mask) into the frame at a
  random height and place, in front of what is there; the target becomes the union. Several pasted
  people of many sizes make multi-person scenes out of one-person photos.
- `paste_object`: the same for a cut-out object that is not a person (`bgseg.data.objects`), in
  front of what is there: the target loses what it hides. Hard negatives of the kinds of things
  (animals, food, toys, appliances) a person model mistakes for people.
- `cast_shadow`: darken the ground beside the person with their flattened silhouette, labelled
  background (fine-tunes learnt to call the shadow at a walker's feet "person").
- previous-mask synthesis (`PREV_MASK_MODES`): "empty" (first frame / person entering), "small"
  (true mask under a small affine: follow the motion), "large" (large affine: learn to discard a
  wrong prior), "tps" (the frame and its mask are warped by a random thin-plate spline, the prior
  keeps the unwarped mask: fast camera motion) and "distractor" (the true mask under a small affine
  plus false-positive blobs on the background: learn to drop a wrong region that a previous frame's
  prediction would otherwise feed back frame after frame).
- on-policy priors (`on_policy`): the sample carries the previous frame (the real one for clips,
  `previous_frame` for photos) and a synthetic prior for it; the training pipeline replaces the
  prior with the model's own prediction on that frame (`bgseg.data.pipeline.on_policy_priors`).
  With `temporal` > 0, the target of such a sample is pulled towards that prediction on the pixels
  whose truth is the same in both frames (`bgseg.data.pipeline.temporal_targets`): a loss on
  frame-to-frame change where the truth does not change.
"""

import dataclasses
import math

import cv2
import numpy as np

PREV_MASK_MODES = ("empty", "small", "large", "tps", "distractor")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Augmentation knobs (a recipe's "augment" section)."""

    scale: tuple = (0.6, 1.15)        # crop side relative to the largest crop of the model's aspect
    rotate: float = 12.0              # max degrees
    flip: float = 0.5                 # horizontal flip probability
    center_on_person: float = 0.5     # probability to centre a zoomed crop on the person
    stretch: float = 0.0              # probability to crop with the source's aspect and stretch it
                                      # to the model's, as the runtime does with whole frames
    val_full_frame: bool = False      # validate on whole frames stretched (the runtime's view)
    zoom_crop: float = 0.0            # probability to crop as the runtime's zoom does: the square
                                      # around the person with a random margin (runtime.zoom)
    photometric: bool = True
    background_prob: float = 0.0      # probability to composite onto a background photo
    backgrounds: tuple = ()           # folders of background photos
    prev_mask: dict = dataclasses.field(
        default_factory=lambda: {"empty": 0.2, "small": 0.45, "large": 0.15, "tps": 0.2})
    video_prev_prob: float = 0.8      # clips: probability to use the real previous frame's mask
    video_perturb: float = 0.5        # clips: probability to add a small affine to that mask
    on_policy: float = 0.0            # probability that the prior is the model's own prediction on
                                      # the previous frame, as the runtime feeds it (see pipeline)
    temporal: float = 0.0             # weight of the frame-to-frame consistency target on the
                                      # steady pixels of on-policy samples (see pipeline)
    shadow: float = 0.0  # probability to cast the person's shadow (labelled background)
    paste_people: float = 0.0         # probability to paste more people into a training sample ...
    paste_count: tuple = (1, 3)       # ... this many (inclusive range) ...
    paste_height: tuple = (0.15, 0.9)  # ... each this tall relative to the frame (log-uniform) ...
    paste_sources: tuple = ()         # ... cut from these sources (names; empty: every source)
    negative_prob: float = 0.0        # probability that a sample is a background photo alone
                                      # (target empty): hard negatives for rooms and streets
    paste_objects: float = 0.0        # probability to paste COCO objects that are not people ...
    objects: tuple = ()               # ... cut from these COCO roots' train split ...
    object_count: tuple = (1, 2)      # ... this many (inclusive range) ...
    object_height: tuple = (0.1, 0.6)  # ... each this tall relative to the frame (log-uniform)

    def __post_init__(self):
        unknown = set(self.prev_mask) - set(PREV_MASK_MODES)
        if unknown:
            raise ValueError(f"unknown prev_mask modes {sorted(unknown)}; known: {PREV_MASK_MODES}")
        if sum(self.prev_mask.values()) <= 0 or min(self.prev_mask.values()) < 0:
            raise ValueError(f"prev_mask probabilities must be >= 0 with a positive sum, got "
                             f"{self.prev_mask}")
        for name in ("flip", "center_on_person", "stretch", "zoom_crop", "background_prob",
                     "video_prev_prob",
                     "video_perturb", "on_policy", "shadow", "paste_people", "negative_prob",
                     "paste_objects"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"augment.{name} must be a probability in [0, 1]")
        if not 0 <= self.temporal < 0.5:
            raise ValueError(f"augment.temporal must be in [0, 0.5) (at 0.5 a steady pixel's "
                             f"target could reach the wrong side), got {self.temporal}")
        if self.temporal and not self.on_policy:
            raise ValueError("augment.temporal > 0 needs augment.on_policy > 0: the consistency "
                             "target is the model's own prediction on the previous frame")
        if (self.background_prob > 0 or self.negative_prob > 0) and not self.backgrounds:
            raise ValueError("augment.background_prob or negative_prob > 0 needs "
                             "augment.backgrounds folders")
        if self.paste_objects > 0 and not self.objects:
            raise ValueError("augment.paste_objects > 0 needs augment.objects (COCO roots)")
        for name in ("paste_count", "object_count"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi:
                raise ValueError(f"augment.{name} must be [low, high] with 1 <= low <= high, got "
                                 f"{list(getattr(self, name))}")
        for name in ("paste_height", "object_height"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"augment.{name} must be [low, high] with 0 < low <= high, got "
                                 f"{list(getattr(self, name))}")

    def prev_mask_probabilities(self):
        p = np.array([self.prev_mask.get(m, 0.0) for m in PREV_MASK_MODES], np.float64)
        return p / p.sum()


def crop_matrix(rng, src_hw, out_hw, config, person_center=None, train=True, mask=None):
    """2x3 affine taking source pixels to the (H, W) output. Without `train`: the centred largest
    crop, or the whole frame stretched with `config.val_full_frame` (deterministic).

    A "zoom" crop (probability `config.zoom_crop`, needs the sample's `mask`) is what the runtime's
    second look sees: `bgseg.runtime.zoom.zoom_box` around the person with a margin drawn from
    [0.05, 0.3] of the box's longer side, its centre and side jittered by up to 8 %.

    A "stretch" crop (probability `config.stretch`) has the source's aspect ratio and is resized to
    the model's size without keeping proportions, which is what inference does with a whole frame
    of another aspect ratio (a 16:9 video frame into a 256x256 model)."""
    sh, sw = src_hw
    oh, ow = out_hw
    k = min(sh / oh, sw / ow)  # source pixels per output pixel for the largest crop
    if not train:
        if config.val_full_frame:
            return _affine((sw / ow, sh / oh), 0.0, False, (sw / 2, sh / 2), out_hw)
        return _affine(k, 0.0, False, (sw / 2, sh / 2), out_hw)
    if mask is not None and config.zoom_crop and rng.random() < config.zoom_crop:
        matrix = _zoom_matrix(rng, mask, out_hw, config)
        if matrix is not None:
            return matrix
    zoom = rng.uniform(*config.scale)
    if config.stretch and rng.random() < config.stretch:
        k = (sw / ow * zoom, sh / oh * zoom)
        cw, ch = sw * zoom, sh * zoom
    else:
        k *= zoom
        ch, cw = oh * k, ow * k
    center = []
    for size, crop, idx in ((sw, cw, 0), (sh, ch, 1)):
        lo, hi = min(crop / 2, size / 2), max(size - crop / 2, size / 2)
        if person_center is not None and rng.random() < config.center_on_person:
            c = float(np.clip(person_center[idx], lo, hi))
        else:
            c = rng.uniform(lo, hi)
        center.append(c)
    angle = rng.uniform(-config.rotate, config.rotate)
    return _affine(k, angle, rng.random() < config.flip, center, out_hw)


def _zoom_matrix(rng, mask, out_hw, config):
    from bgseg.runtime.zoom import zoom_box

    box = zoom_box(mask, margin=rng.uniform(0.05, 0.3), max_area=1.0, threshold=127)
    if box is None:
        return None
    x0, y0, x1, y1 = box  # square unless cut by the frame, then stretched as the runtime does
    scale = rng.uniform(0.92, 1.08)
    width, height = (x1 - x0) * scale, (y1 - y0) * scale
    center = [(x0 + x1) / 2 + rng.uniform(-0.08, 0.08) * width,
              (y0 + y1) / 2 + rng.uniform(-0.08, 0.08) * height]
    oh, ow = out_hw
    angle = rng.uniform(-config.rotate, config.rotate) / 2
    return _affine((width / ow, height / oh), angle, rng.random() < config.flip, center, out_hw)


def _affine(k, angle, flip, center, out_hw):
    """`k`: source pixels per output pixel, one number or (along x, along y)."""
    oh, ow = out_hw
    kx, ky = (k, k) if np.isscalar(k) else k
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.diag(
        [1.0 / kx, 1.0 / ky])
    if flip:
        rot = np.array([[-1.0, 0.0], [0.0, 1.0]]) @ rot
    t = np.array([ow / 2, oh / 2]) - rot @ np.asarray(center, np.float64)
    return np.hstack([rot, t[:, None]]).astype(np.float32)


def warp(array, matrix, out_hw, interpolation=cv2.INTER_LINEAR):
    """Apply a 2x3 affine to an image or mask, reflecting at the borders."""
    return cv2.warpAffine(array, matrix, (out_hw[1], out_hw[0]), flags=interpolation,
                          borderMode=cv2.BORDER_REFLECT_101)


def random_affine(rng, hw, max_angle, max_scale, max_shift):
    """A random 2x3 affine around the image centre: rotation, zoom and shift (fraction of size)."""
    h, w = hw
    angle = rng.uniform(-max_angle, max_angle)
    scale = math.exp(rng.uniform(-max_scale, max_scale))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += rng.uniform(-max_shift, max_shift, 2) * (w, h)
    return m.astype(np.float32)


def affine_mask(rng, mask, large=False):
    """The mask moved by a small (follow) or large (discard) random affine."""
    params = (30.0, 0.3, 0.25) if large else (4.0, 0.05, 0.04)
    m = random_affine(rng, mask.shape, *params)
    return cv2.warpAffine(mask, m, (mask.shape[1], mask.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def soften(rng, mask):
    """Make a prior look like a model output: random erode/dilate and blur."""
    r = int(rng.integers(0, 3))
    if r:
        kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        mask = (cv2.dilate if rng.random() < 0.5 else cv2.erode)(mask, kernel)
    if rng.random() < 0.5:
        mask = cv2.GaussianBlur(mask, (5, 5), 0)
    return mask


def tps_maps(rng, hw, grid=4, max_shift=0.08, coarse=32):
    """Random thin-plate-spline remap (map_x, map_y) of size `hw`: a `grid` x `grid` lattice of
    control points each moved by up to `max_shift` of the image size (the border lattice too)."""
    h, w = hw
    src = np.stack(np.meshgrid(np.linspace(0, 1, grid), np.linspace(0, 1, grid)), -1).reshape(-1, 2)
    dst = src + rng.uniform(-max_shift, max_shift, src.shape)
    # Solve the TPS mapping output points (src) -> sampling positions (dst).
    n = len(src)

    def kernel(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.where(d2 > 0, d2 * np.log(d2 + 1e-12), 0.0)

    p = np.hstack([np.ones((n, 1)), src])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = kernel(src, src)
    system[:n, n:] = p
    system[n:, :n] = p.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = dst
    coef = np.linalg.solve(system, rhs)
    gy, gx = np.meshgrid(np.linspace(0, 1, coarse), np.linspace(0, 1, coarse), indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel()], -1)
    mapped = kernel(pts, src) @ coef[:n] + np.hstack([np.ones((len(pts), 1)), pts]) @ coef[n:]
    mapped = mapped.reshape(coarse, coarse, 2).astype(np.float32)
    mapped = cv2.resize(mapped, (w, h), interpolation=cv2.INTER_LINEAR)
    return mapped[..., 0] * (w - 1), mapped[..., 1] * (h - 1)


def tps_warp(rng, image, mask):
    """The image and its mask warped by the same random thin-plate spline."""
    map_x, map_y = tps_maps(rng, mask.shape)
    args = dict(interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return cv2.remap(image, map_x, map_y, **args), cv2.remap(mask, map_x, map_y, **args)


def distractor_blobs(rng, hw, count=(1, 3), size=(0.08, 0.35)):
    """1-3 random filled ellipses, each axis `size` (fraction of the image side), as a float
    mask."""
    h, w = hw
    blobs = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        center = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        axes = (max(1, int(rng.uniform(*size) * w / 2)), max(1, int(rng.uniform(*size) * h / 2)))
        cv2.ellipse(blobs, center, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    return blobs


def previous_frame(rng, image, mask):
    """A plausible previous frame of a still photo: image and mask under a small random motion."""
    m = random_affine(rng, mask.shape, 5.0, 0.06, 0.05)
    size = (mask.shape[1], mask.shape[0])
    prev_image = cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    prev_mask = cv2.warpAffine(mask, m, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
    return prev_image, prev_mask


def synth_prev_mask(rng, mode, image, mask):
    """Return (image, mask, prev_mask) for a previous-mask mode (see module doc)."""
    if mode == "empty":
        return image, mask, np.zeros_like(mask)
    if mode == "small":
        return image, mask, soften(rng, affine_mask(rng, mask))
    if mode == "large":
        return image, mask, soften(rng, affine_mask(rng, mask, large=True))
    if mode == "tps":
        warped_image, warped_mask = tps_warp(rng, image, mask)
        return warped_image, warped_mask, soften(rng, mask)
    if mode == "distractor":
        prior = np.maximum(affine_mask(rng, mask), distractor_blobs(rng, mask.shape))
        return image, mask, soften(rng, prior)
    raise ValueError(f"unknown previous-mask mode {mode!r}; known: {PREV_MASK_MODES}")


def cast_shadow(rng, image, mask):
    """Darken the ground beside the person with a soft shadow of their silhouette (a flattened,
    sheared copy of the mask anchored at its lowest row); the label is unchanged: a shadow is
    background. Returns the image (unchanged when the mask is empty)."""
    rows = np.nonzero(mask.max(axis=1) > 0.5)[0]
    if rows.size == 0:
        return image
    h, w = mask.shape
    foot = float(rows[-1])
    flatten = rng.uniform(0.15, 0.6) * (1 if rng.random() < 0.7 else -1)  # ground or wall shadow
    shear = rng.uniform(-1.2, 1.2)
    # y' = foot + (y - foot) * -flatten (mirrored below the feet), x' = x + shear * (foot - y)
    m = np.float32([[1, -shear, shear * foot], [0, -flatten, foot * (1 + flatten)]])
    shadow = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(1.0, 4.0))
    shadow *= (1.0 - mask) * rng.uniform(0.3, 0.65)
    return (image * (1.0 - shadow[..., None])).astype(np.float32)


def photometric(rng, image):
    """Random colour changes on a float32 RGB image in [0, 1] (returned clipped to [0, 1])."""
    image = image * rng.uniform(0.7, 1.3)                                   # brightness
    mean = image.mean()
    image = (image - mean) * rng.uniform(0.7, 1.3) + mean                    # contrast
    gray = image.mean(axis=2, keepdims=True)
    sat = 0.0 if rng.random() < 0.05 else rng.uniform(0.6, 1.4)
    image = (image - gray) * sat + gray                                      # saturation
    image = image * rng.uniform(0.9, 1.1, 3).astype(np.float32)              # white balance
    if rng.random() < 0.3:
        image = image + rng.normal(0, rng.uniform(0.005, 0.03), image.shape).astype(np.float32)
    if rng.random() < 0.15:
        image = cv2.GaussianBlur(image, (5, 5), rng.uniform(0.5, 1.5))
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def composite(image, mask, background):
    """Paste the person (`mask` as alpha, edges slightly feathered) onto `background` (same
    size)."""
    alpha = cv2.GaussianBlur(mask, (3, 3), 0)[..., None]
    return image * alpha + background * (1.0 - alpha)


def paste_person(rng, image, mask, person_image, person_mask, height):
    """Paste the person of (`person_image` uint8 RGB, `person_mask` uint8 0/255) into `image`
    (float32 RGB in [0, 1], (H, W, 3)) with its box `height` x the frame's height, at a random
    place (at least half of it inside), flipped half the time, in front of what is there.

    Returns (image, mask): the composite and the union target `alpha + mask * (1 - alpha)`.
    An empty `person_mask` returns the inputs unchanged."""
    pasted = _paste_cutout(rng, image, person_image, person_mask, height)
    if pasted is None:
        return image, mask
    out, alpha = pasted
    return out, alpha + mask * (1.0 - alpha)


def paste_object(rng, image, mask, object_image, object_mask, height):
    """`paste_person`'s placement for an object that is not a person (`bgseg.data.objects`): in
    front of what is there, so the target loses what it hides, `mask * (1 - alpha)`. A hard
    negative: something pasted, often over a person, that is not one."""
    pasted = _paste_cutout(rng, image, object_image, object_mask, height)
    if pasted is None:
        return image, mask
    out, alpha = pasted
    return out, mask * (1.0 - alpha)


def _paste_cutout(rng, image, cut_image, cut_mask, height):
    """(composite, alpha) of `cut_image` under `cut_mask` pasted into `image` as
    `paste_person` describes; None when `cut_mask` is empty."""
    ys, xs = np.nonzero(cut_mask > 127)
    if not len(xs):
        return None
    oh, ow = image.shape[:2]
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    k = height * oh / (y1 - y0)  # output pixels per source pixel
    w, h = (x1 - x0) * k, (y1 - y0) * k
    left = rng.uniform(-w / 2, ow - w / 2)
    top = rng.uniform(-h / 2, oh - h / 2)
    if rng.random() < 0.5:  # mirror about the box: x -> x1 - (x - x0)
        m = np.array([[-k, 0, left + x1 * k], [0, k, top - y0 * k]], np.float32)
    else:
        m = np.array([[k, 0, left - x0 * k], [0, k, top - y0 * k]], np.float32)
    cut, alpha = (cv2.warpAffine(a, m, (ow, oh), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT).astype(np.float32) * (1 / 255)
                  for a in (cut_image, cut_mask))
    edge = cv2.GaussianBlur(alpha, (3, 3), 0)[..., None]
    return image * (1.0 - edge) + cut * edge, alpha
