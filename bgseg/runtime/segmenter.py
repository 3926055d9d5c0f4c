"""Segmenter (single images) and VideoSegmenter (streams with mask feedback)."""

import time

import numpy as np

from bgseg import contract
from bgseg.runtime import postprocess
from bgseg.runtime.interpreter import TFLiteModel
from bgseg.runtime.registry import resolve_model


def _check_frame(image):
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
        described = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                     else type(image).__name__)
        raise ValueError(f"expected an RGB uint8 image of shape (H, W, 3), got a {described}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")


class Segmenter:
    """Person segmentation of independent RGB images.

    Args:
        model: a `.tflite` path, a shipped model name ("default", "default_image") or a loaded
            `TFLiteModel`. A 4-channel video model gets an empty previous mask.
        threads: interpreter thread count (None: min(4, CPU count)).
        refine: refine the upsampled mask with a guided filter on the full-resolution frame.
        refine_radius, refine_eps: guided-filter radius (pixels at a <= 360 px working size) and
            regularisation (smaller: follows edges harder).

    `segment(image)` takes an RGB uint8 `(H, W, 3)` array of any size and aspect ratio and returns
    the float32 `(H, W)` person probability at that size. `timings` holds the last call's
    pre-processing, invoke and post-processing seconds.
    """

    def __init__(self, model="default", threads=None, refine=True, refine_radius=2,
                 refine_eps=1e-4):
        self.model = model if isinstance(model, TFLiteModel) else TFLiteModel(
            resolve_model(model), threads=threads)
        self.refine = refine
        self.refine_radius = refine_radius
        self.refine_eps = refine_eps
        self.timings = {}
        m = self.model
        self._input = np.zeros((m.height, m.width, m.channels), np.float32)

    def _infer(self, image, prior):
        """Resize, normalise, attach the prior, run: returns the model-resolution mask."""
        start = time.perf_counter()
        contract.to_model_input(image, self.model.width, self.model.height,
                                out=self._input[..., :3])
        if self.model.is_video:
            self._input[..., 3] = 0.0 if prior is None else prior
        self.model.set_input(self._input)
        invoke_start = time.perf_counter()
        self.model.invoke()
        post_start = time.perf_counter()
        mask = self.model.get_output()
        self.timings = {"pre": invoke_start - start, "invoke": post_start - invoke_start,
                        "post": post_start}
        return mask

    def _finish(self, image, mask):
        """Upsample to the image size, optionally refine; closes the timing of the call."""
        height, width = image.shape[:2]
        if self.refine:
            full = postprocess.guided_filter(image, mask, self.refine_radius, self.refine_eps)
        else:
            full = contract.mask_to_frame(mask, width, height)
        self.timings["post"] = time.perf_counter() - self.timings["post"]
        return full

    def segment(self, image):
        """Person probability (float32, image size) of one RGB uint8 image."""
        _check_frame(image)
        return self._finish(image, self._infer(image, None))

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
        return f"{type(self).__name__}({self.model!r}, refine={self.refine})"


class VideoSegmenter(Segmenter):
    """Person segmentation of a frame sequence, carrying state from frame to frame.

    A 4-channel model receives the previous frame's mask (model resolution, before smoothing) as its
    4th input channel; the first frame, and the first after `reset()`, get an empty mask. Call
    `reset()` at scene cuts or when switching streams.

    Args (besides Segmenter's):
        smoothing: 0 disables; otherwise the weight (0..1) with which uncertain pixels mix with the
            previous output (see `postprocess.smooth_temporal`).
    """

    def __init__(self, model="default", threads=None, refine=True, refine_radius=2,
                 refine_eps=1e-4, smoothing=0.0):
        super().__init__(model, threads, refine, refine_radius, refine_eps)
        if not 0.0 <= smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {smoothing}")
        self.smoothing = smoothing
        self.reset()

    def reset(self):
        """Forget the previous frame (scene cut, new stream)."""
        self.previous_mask = None
        self._previous_output = None
        self.frame_index = 0

    def segment(self, frame):
        """Person probability (float32, frame size) of the next RGB uint8 frame of the stream."""
        _check_frame(frame)
        raw = self._infer(frame, self.previous_mask)
        self.previous_mask = raw
        smoothed = postprocess.smooth_temporal(raw, self._previous_output, self.smoothing)
        self._previous_output = smoothed
        self.frame_index += 1
        return self._finish(frame, smoothed)

    __call__ = segment

    def __repr__(self):
        return (f"VideoSegmenter({self.model!r}, refine={self.refine}, smoothing={self.smoothing}, "
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
