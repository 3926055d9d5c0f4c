"""Segmenter (single images) and VideoSegmenter (streams with mask feedback)."""

import time

import cv2
import numpy as np

from bgseg import contract
from bgseg.runtime import motion as motion_module
from bgseg.runtime import postprocess, zoom
from bgseg.runtime.interpreter import TFLiteModel
from bgseg.runtime.registry import resolve_model, runtime_options


def _check_frame(image):
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
        described = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                     else type(image).__name__)
        raise ValueError(f"expected an RGB uint8 image of shape (H, W, 3), got a {described}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")


def _check_picture_gray(picture_gray, image):
    if picture_gray is None:
        return
    if not isinstance(picture_gray, np.ndarray) or picture_gray.dtype != np.uint8 \
            or picture_gray.shape != image.shape[:2]:
        raise ValueError(f"picture_gray must be a uint8 array of the image's shape "
                         f"{image.shape[:2]}")


def _half_gray(gray, size):
    """`gray` area-averaged to the picture's `size` (width, height) when that is exactly half of
    it (720p; what the YUV path's picture luma is), else None."""
    width, height = size
    if gray.shape != (2 * height, 2 * width):
        return None
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _check_gray(gray, image):
    if gray is None:
        return
    if not isinstance(gray, np.ndarray) or gray.dtype != np.uint8 or gray.ndim != 2:
        raise ValueError("gray must be a uint8 (H, W) array")
    height, width = image.shape[:2]
    if abs(gray.shape[1] * height - gray.shape[0] * width) > max(gray.shape):
        raise ValueError(f"gray {gray.shape} and image {image.shape[:2]} differ in aspect ratio")


CANVAS_SIDE = 960  # longest side of the frame-shaped mask that zoomed crops are pasted into


def picture_size(image):
    """(width, height) of the runtime's working size: shorter side at most
    `postprocess.WORK_SIZE`, longer side at most `CANVAS_SIDE` (what the YUV path converts the
    picture to RGB at for the model)."""
    height, width = image.shape[:2]
    scale = min(1.0, CANVAS_SIDE / max(height, width), postprocess.WORK_SIZE / min(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def canvas_size(image, subsample=1):
    """The frame-shaped mask's (width, height): `picture_size` shrunk by `subsample`, the guided
    filter's subsampling when it refines (`Segmenter.subsample`), so that the zoom's paste,
    smoothing, motion compensation and the refinement's coefficients all run at one resolution;
    1 without refinement (the canvas is then what is upsampled to the frame)."""
    width, height = picture_size(image)
    return max(1, round(width / subsample)), max(1, round(height / subsample))


def _frame_shaped(mask, size):
    """A model-resolution mask resized to the canvas `size` (width, height), as a new array."""
    canvas = contract.mask_to_frame(mask, *size)
    return canvas.copy() if canvas is mask else canvas


class Segmenter:
    """Person segmentation of independent RGB images.

    Args:
        model: a `.tflite` path, a shipped model name ("default", "default_image") or a loaded
            `TFLiteModel`. A 4-channel video model gets an empty previous mask.
        threads: interpreter thread count (None: min(4, CPU count)).
        refine: refine the upsampled mask with a guided filter on the full-resolution frame.
        refine_radius, refine_eps: guided-filter radius (pixels at a <= 360 px working size) and
            regularisation (smaller: follows edges harder).
        zoom: when the people found fill less than 80 % of the image, run the model a second time
            on a square crop around them and paste that mask back (`bgseg.runtime.zoom`).
        zoom_margin: the crop's margin around the people, as a fraction of their box's longer side.
        zoom_people: with zoom, give up to this many separate people who still look small a
            closer look of their own (`zoom.people_boxes`; one more model run each, 0: off).
            Still images only: `VideoSegmenter` keeps one run per frame.
        sharpen: push the output probabilities away from 0.5 (`postprocess.sharpen`, 1: off) so
            that people are opaque and the background clear; the 0.5 boundary does not move.
            None: the shipped model's own option (`registry.runtime_options`), else 2.
        flip: the first look at the whole image is the mean of the model's masks of it and of
            its mirror image (one model run more per image; the closer looks are not mirrored).
            Test-time augmentation: it steadies the first look, which decides where the closer
            looks go (docs/benchmarks.md, "Mirrored first look"). None: the shipped model's own
            option, else on.

    `segment(image)` takes an RGB uint8 `(H, W, 3)` array of any size and aspect ratio and returns
    the float32 `(H, W)` person probability at that size. `timings` holds the last call's
    pre-processing, invoke (summed over the model runs) and post-processing seconds and `runs`,
    the number of model runs.

    `subsample` (class attribute): the guided filter's subsampling (`postprocess.guided_filter`).
    1 for still images, whose refinement fits its coefficients at the working size itself;
    `VideoSegmenter` fits them at half of it (`postprocess.SUBSAMPLE`), a quarter of the pixels
    per frame for its post-processing.
    """

    subsample = 1
    FLIP = True  # `flip`'s default where the model has no option of its own

    def __init__(self, model="default", threads=None, refine=True, refine_radius=2,
                 refine_eps=1e-4, zoom=True, zoom_margin=0.15, sharpen=None, zoom_people=4,
                 flip=None):
        self.model = model if isinstance(model, TFLiteModel) else TFLiteModel(
            resolve_model(model), threads=threads)
        sharpen, flip = self.own_options(self.model.path, sharpen, flip)
        if not 0.0 <= zoom_margin <= 1.0:
            raise ValueError(f"zoom_margin must be in [0, 1], got {zoom_margin}")
        if not 1.0 <= sharpen <= 10.0:
            raise ValueError(f"sharpen must be in [1, 10] (1: off), got {sharpen}")
        if int(zoom_people) != zoom_people or zoom_people < 0:
            raise ValueError(f"zoom_people must be a whole number >= 0, got {zoom_people}")
        self.sharpen = float(sharpen)
        self.zoom_people = int(zoom_people)
        self.flip = bool(flip)
        self.refine = refine
        self.refine_radius = refine_radius
        self.refine_eps = refine_eps
        self.zoom = zoom
        self.zoom_margin = zoom_margin
        self.timings = {}
        m = self.model
        self._input = np.zeros((m.height, m.width, m.channels), np.float32)

    @classmethod
    def own_options(cls, path, sharpen=None, flip=None):
        """(sharpen, flip) for the model file `path`: the given values, else the shipped model's
        own (`registry.runtime_options`), else 2 and `FLIP`."""
        own = runtime_options(path)
        return (own.get("sharpen", 2.0) if sharpen is None else sharpen,
                own.get("flip", cls.FLIP) if flip is None else flip)

    def _start(self):
        self._started = time.perf_counter()
        self.timings = {"pre": 0.0, "invoke": 0.0, "post": 0.0, "runs": 0}

    def _infer(self, image, prior, mirror=False):
        """Resize, normalise, attach the prior (model resolution), run: returns the
        model-resolution mask; with `mirror`, the mean of it and of the mirrored input's mask
        (mirrored back; a second model run, both in one call: `TFLiteModel.run_pair`). Adds to
        the timings that `_start` opened."""
        start = time.perf_counter()
        contract.to_model_input(image, self.model.width, self.model.height,
                                out=self._input[..., :3])
        if self.model.is_video:
            self._input[..., 3] = 0.0 if prior is None else prior
        if not mirror:
            return self._run(self._input, start)
        mirror_image = cv2.flip(self._input, 1)
        invoke_start = time.perf_counter()
        mask, mirrored = self.model.run_pair(self._input, mirror_image)  # one batch of 2
        self._count(start, invoke_start, runs=2)
        return cv2.addWeighted(mask, 0.5, cv2.flip(mirrored, 1), 0.5, 0.0)

    def _run(self, model_input, start):
        """One model run on `model_input` (prepared since `start`): its mask."""
        self.model.set_input(model_input)
        invoke_start = time.perf_counter()
        self.model.invoke()
        self._count(start, invoke_start)
        return self.model.get_output()

    def _count(self, start, invoke_start, runs=1):
        """Add a model call to the timings: its input prepared since `start`, invoked (`runs`
        model runs) from `invoke_start` until now."""
        done = time.perf_counter()
        self.timings["pre"] += invoke_start - start
        self.timings["invoke"] += done - invoke_start
        self.timings["runs"] += runs

    def _model_prior(self, canvas):
        """A frame-shaped mask (or a crop of one) as the model's 4th input channel (area-averaged
        when shrinking, bilinear when enlarging, as frames are)."""
        return contract.resize_frame(canvas, self.model.width, self.model.height)

    def _person_looks(self, image, canvas, boxes):
        """Give each separate person under `boxes` (`zoom.people_boxes`) a look of their own:
        inside what the canvas calls person the closer look decides, elsewhere in the crop the
        larger probability is kept (a person the wider look half-missed). In place; returns
        `canvas`."""
        for x0, y0, x1, y1 in boxes:
            region = canvas[y0:y1, x0:x1]
            closer = self._look(image, canvas.shape, (x0, y0, x1, y1), None)
            canvas[y0:y1, x0:x1] = np.where(region > zoom.THRESHOLD, closer,
                                            np.maximum(region, closer))
        return canvas

    def _look(self, image, canvas_shape, box, prior, mirror=False):
        """The model's mask of the crop of `image` under `box` (pixels of a canvas of
        `canvas_shape`), at the box's size; `prior`: None, or a function of the box giving the
        previous frame's canvas under it (`VideoSegmenter._prior`; it may give None); `mirror`
        as in `_infer`."""
        c_height, c_width = canvas_shape
        height, width = image.shape[:2]
        x0, y0, x1, y1 = box
        fx0, fx1 = round(x0 * width / c_width), round(x1 * width / c_width)
        fy0, fy1 = round(y0 * height / c_height), round(y1 * height / c_height)
        crop = image[fy0:max(fy1, fy0 + 1), fx0:max(fx1, fx0 + 1)]  # a view: OpenCV reads strides
        under = None if prior is None else prior(box)
        crop_prior = None if under is None else self._model_prior(under)
        return contract.mask_to_frame(self._infer(crop, crop_prior, mirror), x1 - x0, y1 - y0)

    def _zoomed(self, image, canvas, box, prior, mirror=False):
        """Run the model on the crop of `image` under `box` (canvas pixels) and paste its mask into
        `canvas` (in place, returned); `prior` and `mirror` as in `_look`."""
        x0, y0, x1, y1 = box
        canvas[y0:y1, x0:x1] = self._look(image, canvas.shape, box, prior, mirror)
        return canvas

    @property
    def _canvas_step(self):
        """How much smaller than `picture_size` the canvas is (`canvas_size`)."""
        return self.subsample if self.refine else 1

    def _finish(self, image, mask, dtype, gray=None, picture_gray=None):
        """Upsample to the image size (`gray`'s when given) as `dtype`, optionally refine; closes
        the timing of the call."""
        height, width = (image if gray is None else gray).shape[:2]
        if self.refine:
            full = postprocess.guided_filter(image, mask, self.refine_radius, self.refine_eps,
                                             strength=self.sharpen, gray=gray, dtype=dtype,
                                             subsample=self.subsample, half_gray=picture_gray)
        else:
            sharp = postprocess.sharpen(mask, self.sharpen)
            if dtype == np.uint8:  # quantized before the upsampling: a uint8 resize is cheaper
                sharp = cv2.multiply(sharp, 255.0, dtype=cv2.CV_8U)
            full = contract.mask_to_frame(sharp, width, height)
            if full is mask:
                full = full.copy()
        timings = self.timings  # post: everything else since _start
        timings["post"] = time.perf_counter() - self._started - timings["pre"] - timings["invoke"]
        return full

    def segment(self, image, dtype=np.float32, gray=None, picture_gray=None):
        """Person probability (image size) of one RGB uint8 image: float32 in [0, 1], or with
        `dtype=numpy.uint8` the same rounded to 0-255 (computed without a full-size float image;
        what `bgseg.effects` composites fastest). `gray` (uint8 `(H, W)`, e.g. a video frame's
        luma plane): the full-resolution guide of the refinement and the size of the result;
        `image` may then be the same picture at a smaller size (`picture_size` of the full one
        is what the models look at). `picture_gray` (with `gray`): `gray` resized to `image`'s
        size by `contract.resize_frame`, when the caller has it (the YUV path): where it is
        exactly half of `gray`, the refinement's small grayscale is made from it (the same
        pixels, one full-size pass fewer)."""
        _check_frame(image)
        _check_gray(gray, image)
        _check_picture_gray(picture_gray, image)
        dtype = postprocess.mask_dtype(dtype)
        self._start()
        mask = self._infer(image, None, mirror=self.flip)
        if self.zoom:
            canvas = _frame_shaped(mask, canvas_size(image, self._canvas_step))
            box = zoom.zoom_box(canvas, self.zoom_margin)
            if box is not None:
                mask = self._zoomed(image, canvas, box, None)
            boxes = zoom.people_boxes(canvas, box, self.zoom_margin, self.zoom_people)
            if boxes:
                mask = self._person_looks(image, canvas, boxes)
        return self._finish(image, mask, dtype, gray, picture_gray)

    __call__ = segment

    def close(self):
        """Release the interpreter."""
        self.model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"{type(self).__name__}({self.model!r}, refine={self.refine}, zoom={self.zoom})"


class VideoSegmenter(Segmenter):
    """Person segmentation of a frame sequence, carrying state from frame to frame.

    A 4-channel model receives the previous frame's mask (before smoothing) as its 4th input
    channel; the first frame, and the first after `reset()`, get an empty mask. Call `reset()` at
    scene cuts or when switching streams.

    With `zoom` (the default) the crop around the people is tracked: each frame runs the model
    once, on the crop that held everyone in the previous frame (the prior cropped alike); the whole
    frame is looked at again (a second run) on the first frame, every `redetect` frames (people
    entering) and whenever nobody was found or the people filled the frame. `previous_mask` is then
    frame-shaped (longest side at most `CANVAS_SIDE`), else at model resolution.

    Args (besides Segmenter's):
        smoothing: 0 disables; otherwise the weight (0..1, default 1) with which uncertain pixels
            mix with the previous output (see `postprocess.smooth_temporal`).
        hysteresis: hold each pixel's previous label unless its probability crosses 0.5 by more
            than this (`postprocess.hysteresis`; default 0: off, it did not pay on held-out video).
        redetect: with zoom, look at the whole frame every this many frames.
        motion: move the previous frame's masks along the optical flow between the frames
            (`bgseg.runtime.motion`) before they are used: as the model's prior and, with
            smoothing, as the mask the new one is mixed with (weighted by how well the flow
            explains the new frame, so occlusions and new content are not smoothed). Default on:
            with smoothing 1 it lowers flicker without the lag of plain smoothing
            (docs/runtime.md).
        flip: every model run is the mean of the model's masks of its input and of the mirrored
            input, prior included (two runs per frame). None: the shipped model's own option (on
            for the quality model, whose outlines it steadies: docs/benchmarks.md, "Mirrored
            looks"), else off.

    Smoothing and sharpening shape the output only: the model is fed its own raw mask.
    """

    subsample = postprocess.SUBSAMPLE
    FLIP = False

    def __init__(self, model="default", threads=None, refine=True, refine_radius=2,
                 refine_eps=1e-4, smoothing=1.0, zoom=True, zoom_margin=0.15, redetect=15,
                 sharpen=None, motion=True, hysteresis=0.0, flip=None):
        super().__init__(model, threads, refine, refine_radius, refine_eps, zoom, zoom_margin,
                         sharpen, zoom_people=0, flip=flip)
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {smoothing}")
        if int(redetect) != redetect or redetect < 1:
            raise ValueError(f"redetect must be a whole number of frames >= 1, got {redetect}")
        if not 0.0 <= hysteresis < 0.5:
            raise ValueError(f"hysteresis must be in [0, 0.5), got {hysteresis}")
        self.smoothing = smoothing
        self.hysteresis = hysteresis
        self.redetect = int(redetect)
        self.motion = motion_module.MotionCompensator() if motion else None
        self.reset()

    def reset(self):
        """Forget the previous frame (scene cut, new stream)."""
        self.previous_mask = None
        self._prior_unmoved = False  # previous_mask still to be moved by this frame's flow
        self._previous_output = None
        self._box = None
        self.frame_index = 0
        if self.motion is not None:
            self.motion.reset()

    def _follow_motion(self, frame, gray):
        """Move the previous frame's masks onto `frame` (`gray`: its grayscale, any size) along
        the optical flow; returns the per-pixel trust in the moved output for smoothing (None: no
        motion compensation)."""
        if self.motion is None or not self.motion.update(frame, gray):
            return None
        # the model's prior is moved when it is used (`_prior`): with zoom only its crop is
        self._prior_unmoved = self.previous_mask is not None
        if self._previous_output is None or (self.smoothing <= 0 and self.hysteresis <= 0):
            return None  # nothing uses the previous output
        self._previous_output = self.motion.warp(self._previous_output)
        return self.motion.confidence_at(self._previous_output.shape)

    def _prior(self, box=None):
        """`previous_mask` moved onto this frame (`box`, canvas pixels: only that crop of it;
        the same values as the whole one's crop), or None."""
        prior = self.previous_mask
        if prior is None or not self._prior_unmoved:
            return prior if box is None or prior is None else prior[box[1]:box[3], box[0]:box[2]]
        if box is None:
            self.previous_mask, self._prior_unmoved = self.motion.warp(prior), False
            return self.previous_mask
        return self.motion.warp(prior, box)

    def _tracked(self, frame):
        """The frame-shaped (canvas) mask of the next frame, zooming on the tracked crop."""
        size = canvas_size(frame, self._canvas_step)
        if self.previous_mask is not None and self.previous_mask.shape != size[::-1]:
            # the stream changed size: restart
            self.previous_mask, self._prior_unmoved = None, False
            self._previous_output, self._box = None, None
        canvas = None
        if self._box is None or self.frame_index % self.redetect == 0:
            prior = self._prior()
            whole = self._infer(frame, None if prior is None else self._model_prior(prior),
                                self.flip)
            canvas = _frame_shaped(whole, size)
            self._box = zoom.keep_box(self._box, canvas, self.zoom_margin)
            if self._box is None:
                return canvas
        if canvas is None:
            canvas = np.zeros(size[::-1], np.float32)
        canvas = self._zoomed(frame, canvas, self._box, self._prior, self.flip)
        self._box = zoom.keep_box(self._box, canvas, self.zoom_margin)
        return canvas

    def segment(self, frame, dtype=np.float32, gray=None, picture_gray=None):
        """Person probability (frame size) of the next RGB uint8 frame of the stream: float32 in
        [0, 1], or 0-255 with `dtype=numpy.uint8`; `gray` and `picture_gray` as in
        `Segmenter.segment`, and the optical flow's small grayscale (`motion`) is then made
        from `picture_gray` instead of `gray` (a quarter of the pixels to read at 720p). Without
        `picture_gray`, when the grayscale is exactly twice the picture's size (720p), the
        picture's grayscale is its area average, made once for both."""
        _check_frame(frame)
        _check_gray(gray, frame)
        _check_picture_gray(picture_gray, frame)
        dtype = postprocess.mask_dtype(dtype)
        self._start()
        if gray is None and (self.refine or self.motion is not None):  # both look at grayscale
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if picture_gray is None and gray is not None:
            picture_gray = _half_gray(gray, picture_size(frame))
        # the flow's small grayscale from the picture's own (a quarter of the pixels)
        trust = self._follow_motion(frame, gray if picture_gray is None else picture_gray)
        raw = self._tracked(frame) if self.zoom else self._infer(frame, self._prior(), self.flip)
        self.previous_mask, self._prior_unmoved = raw, False
        previous = self._previous_output
        if previous is not None and previous.shape != raw.shape:
            previous = trust = None  # the stream changed size
        smoothed = postprocess.smooth_temporal(raw, previous, self.smoothing, trust)
        smoothed = postprocess.hysteresis(smoothed, previous, self.hysteresis, trust)
        self._previous_output = smoothed
        self.frame_index += 1
        return self._finish(frame, smoothed, dtype, gray, picture_gray)

    __call__ = segment

    def __repr__(self):
        return (f"VideoSegmenter({self.model!r}, refine={self.refine}, zoom={self.zoom}, "
                f"smoothing={self.smoothing}, motion={self.motion is not None}, "
                f"frame_index={self.frame_index})")


def load(name_or_path="default", kind=None, threads=None, **kwargs):
    """Open a model: a VideoSegmenter for 4-channel models, a Segmenter for 3-channel ones.

    `kind="image"` or `kind="video"` picks the class explicitly; other keyword arguments go to it.
    """
    if kind not in (None, "image", "video"):
        raise ValueError(f"kind must be None, 'image' or 'video', got {kind!r}")
    model = TFLiteModel(resolve_model(name_or_path), threads=threads)
    if kind is None:
        kind = "video" if model.is_video else "image"
    return (VideoSegmenter if kind == "video" else Segmenter)(model, **kwargs)
