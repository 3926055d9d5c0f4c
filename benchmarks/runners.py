"""The models of a comparison: the raw model (one `.tflite`, bilinear stretch in, no
post-processing) and the same model through the shipped runtime (`bgseg.runtime.VideoSegmenter`)."""

import time
from pathlib import Path

import cv2
import numpy as np

from bgseg import contract

THRESHOLD = 0.5  # probability -> person mask, for every model


class RawModel:
    """The raw model, timed: the frame stretched bilinearly to the model's H x W (as MediaPipe's
    own ImageSegmenter feeds a model, so that both models get the same input), scaled by the
    contract's 1/255, run through the runtime's `TFLiteModel` (the project's one TFLite runner),
    and the probability resized back bilinearly. No post-processing."""

    def __init__(self, name, path, threads, feedback=True):
        from bgseg.runtime import TFLiteModel

        self.name, self.path, self.feedback = name, Path(path), feedback
        if not self.path.is_file():
            raise FileNotFoundError(f"{name}: model file not found: {self.path}")
        self.model = TFLiteModel(self.path, threads=threads)
        self.height, self.width, self.channels = (self.model.height, self.model.width,
                                                  self.model.channels)
        self._input = np.zeros((self.height, self.width, self.channels), np.float32)
        self.invoke_seconds, self.frame_seconds = [], []
        self.reset()
        for _ in range(3):  # warm-up, not timed
            self.model(self._input)

    def describe(self):
        return {"name": self.name, "path": str(self.path),
                "input": [1, self.height, self.width, self.channels],
                "input_dtype": self.model.input_dtype.name}

    def reset(self):
        """Forget the previous mask (start of a clip, or a still image)."""
        self.prior = np.zeros((self.height, self.width), np.float32)

    def __call__(self, bgr):
        """Person probability of a BGR uint8 frame at the frame's size."""
        start = time.perf_counter()
        rgb = cv2.cvtColor(cv2.resize(bgr, (self.width, self.height),
                                      interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        np.multiply(rgb, contract.SCALE, out=self._input[..., :3], casting="unsafe")
        if self.channels == 4:
            self._input[..., 3] = self.prior
        self.model.set_input(self._input)
        invoke_start = time.perf_counter()
        self.model.invoke()
        self.invoke_seconds.append(time.perf_counter() - invoke_start)
        prob = self.model.get_output()
        if not np.isfinite(prob).all():
            raise ValueError(f"{self.name}: the model output non-finite values ({self.path}); "
                             "a broken export (e.g. unfrozen VAR_HANDLE/READ_VARIABLE ops)?")
        if self.feedback:
            self.prior = prob
        alpha = contract.mask_to_frame(prob, bgr.shape[1], bgr.shape[0])
        self.frame_seconds.append(time.perf_counter() - start)
        return alpha

    def timing(self):
        invoke, frame = np.array(self.invoke_seconds), np.array(self.frame_seconds)
        return {"frames": int(frame.size), "median_invoke_ms": float(np.median(invoke) * 1e3),
                "mean_frame_ms": float(frame.mean() * 1e3), "fps": float(frame.size / frame.sum())}


def _i420(bgr):
    """A BGR frame (cropped to even size) as the I420 buffer of its yuv420p BT.709 frame."""
    import av

    even = np.ascontiguousarray(bgr[:bgr.shape[0] // 2 * 2, :bgr.shape[1] // 2 * 2])
    return av.VideoFrame.from_ndarray(even, format="bgr24").reformat(
        format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG").to_ndarray()


def _rgb_of_i420(frame, shape):
    """An I420 buffer decoded to RGB, edge-padded back to `shape`."""
    from benchmarks.composite_psnr import i420_to_rgb

    rgb = i420_to_rgb(frame, "bt709")
    return cv2.copyMakeBorder(rgb, 0, shape[0] - rgb.shape[0], 0, shape[1] - rgb.shape[1],
                              cv2.BORDER_REPLICATE)


class RuntimeModel:
    """The same model through `bgseg.runtime.VideoSegmenter` with its post-processing (zoom on the
    people, guided-filter refinement, sharpening, optional temporal smoothing and motion
    compensation), for comparison with the raw model. `options` go to VideoSegmenter; those not
    given (smoothing None included) keep the runtime's defaults. Still photos go through
    `still()`: `bgseg.runtime.Segmenter`, what `bgseg image` runs (with its per-person looks).
    `planes=True`: video frames take `bgseg video`'s YUV path (converted to I420, BT.709, as an
    H.264 decoder gives them, then `bgseg.runtime.stream.segment_planes`); `yuv420=True`: the RGB
    path on those I420 frames decoded to RGB (its fair reference, with the same chroma loss)."""

    VIDEO_ONLY = ("smoothing", "motion", "hysteresis", "redetect")
    STILL_ONLY = ("zoom_people",)

    def __init__(self, name, path, threads, smoothing=None, planes=False, yuv420=False,
                 **options):
        from bgseg.runtime import Segmenter, VideoSegmenter

        self.name, self.path, self.planes, self.yuv420 = name, Path(path), planes, yuv420
        self.options = {"refine": True, **options}
        if smoothing is not None:
            self.options["smoothing"] = smoothing
        self.segmenter = VideoSegmenter(str(path), threads=threads, **{
            k: v for k, v in self.options.items() if k not in self.STILL_ONLY})
        self.still_segmenter = Segmenter(
            self.segmenter.model, **{k: v for k, v in self.options.items()
                                     if k not in self.VIDEO_ONLY})
        self.runs = []
        self.invoke_seconds, self.frame_seconds = [], []

    def describe(self):
        return {"name": self.name, "path": str(self.path),
                "runtime": "bgseg.runtime.VideoSegmenter (stills: Segmenter)", **self.options,
                **({"planes": True} if self.planes else {}),
                **({"yuv420": True} if self.yuv420 else {})}

    def reset(self):
        self.segmenter.reset()

    def __call__(self, bgr):
        return self._timed(self.segmenter, bgr, planes=self.planes)

    def still(self, bgr):
        """Person probability of an independent still photo, as `bgseg image` computes it."""
        return self._timed(self.still_segmenter, bgr)

    def _timed(self, segmenter, bgr, planes=False):
        if planes or self.yuv420:  # what an H.264 decoder gives: made before the clock starts
            frame = _i420(bgr)
        if planes:
            from bgseg.runtime.stream import segment_planes

            start = time.perf_counter()
            alpha = segment_planes(segmenter, frame, "bt709", np.float32)
            alpha = cv2.copyMakeBorder(alpha, 0, bgr.shape[0] - alpha.shape[0], 0,
                                       bgr.shape[1] - alpha.shape[1], cv2.BORDER_REPLICATE)
        else:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if not self.yuv420 else _rgb_of_i420(
                frame, bgr.shape)
            start = time.perf_counter()
            alpha = segmenter(rgb)
        self.frame_seconds.append(time.perf_counter() - start)
        timings = segmenter.timings
        self.invoke_seconds.append(timings["invoke"] / timings["runs"])  # per model run
        self.runs.append(timings["runs"])
        return alpha

    def timing(self):
        """As RawModel's, the invoke time per model run, plus the mean runs per frame."""
        return {**RawModel.timing(self), "runs_per_frame": float(np.mean(self.runs))}


class RVMModel:
    """Robust Video Matting (MobileNetV3, ONNX; GPL-3.0: measured against, never shipped) through
    onnxruntime, as its authors run it: the full-resolution RGB frame / 255, `downsample_ratio`
    `min(512 / long side, 1)`, the recurrent state carried from frame to frame and zeroed by
    `reset()` (a clip's first frame, every still photo). Its alpha `pha` is the probability."""

    STATES = ("r1", "r2", "r3", "r4")

    def __init__(self, name, path, threads):
        try:
            import onnxruntime
        except ImportError:
            raise OSError('the RVM column needs onnxruntime: pip install -e ".[bench]"') from None
        self.name, self.path = name, Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{name}: ONNX model not found: {self.path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(self.path), options,
                                                    providers=["CPUExecutionProvider"])
        self.invoke_seconds, self.frame_seconds = [], []
        self.reset()

    def describe(self):
        return {"name": self.name, "path": str(self.path), "runtime": "onnxruntime",
                "downsample_ratio": "min(512 / max(H, W), 1)"}

    def reset(self):
        self.state = {f"{r}i:0": np.zeros((1, 1, 1, 1), np.float32) for r in self.STATES}

    def __call__(self, bgr):
        start = time.perf_counter()
        height, width = bgr.shape[:2]
        src = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[None].astype(np.float32) / 255.0
        ratio = np.array([min(512.0 / max(height, width), 1.0)], np.float32)
        invoke_start = time.perf_counter()
        outputs = self.session.run(["pha", *(f"{r}o" for r in self.STATES)],
                                   {"src": src, "downsample_ratio:0": ratio, **self.state})
        self.invoke_seconds.append(time.perf_counter() - invoke_start)
        self.state = {f"{r}i:0": o for r, o in zip(self.STATES, outputs[1:])}
        alpha = outputs[0][0, :, :, 0]
        self.frame_seconds.append(time.perf_counter() - start)
        return alpha

    def timing(self):
        return RawModel.timing(self)


class BlazePoseModel:
    """BlazePose's segmentation mask (MediaPipe pose landmarker, `model_complexity` 1, the full
    model in the mediapipe==0.10.21 wheel; Apache-2.0), in video mode with its own segmentation
    smoothing, run in the MediaPipe environment by `benchmarks/blazepose_worker.py`. Frames go
    through a pipe; the time of that round trip is counted in `frame_seconds`, the worker's
    inference is most of it."""

    def __init__(self, name, python, threads, complexity=1):
        import subprocess

        self.name, self.python = name, Path(python)
        if not self.python.is_file():
            raise FileNotFoundError(
                f"{name}: MediaPipe environment not found: {self.python} (make it with "
                "tflite/setup_mediapipe_venv.sh)")
        worker = Path(__file__).with_name("blazepose_worker.py")
        env = {"OMP_NUM_THREADS": str(threads), "GLOG_minloglevel": "2",
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.process = subprocess.Popen([str(self.python), str(worker), str(complexity)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env)
        self.complexity = complexity
        self.invoke_seconds, self.frame_seconds = [], []
        self.reset()

    def describe(self):
        return {"name": self.name, "runtime": "mediapipe 0.10.21 solutions.pose (video mode)",
                "model_complexity": self.complexity}

    def reset(self):
        self._reset = True

    def __call__(self, bgr):
        import struct

        start = time.perf_counter()
        height, width = bgr.shape[:2]
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self.process.stdin.write(struct.pack("<3i", height, width, int(self._reset)))
        self.process.stdin.write(rgb.tobytes())
        self.process.stdin.flush()
        self._reset = False
        data = self.process.stdout.read(height * width * 4)
        if len(data) != height * width * 4:
            raise OSError(f"{self.name}: the MediaPipe worker stopped ({self.python})")
        elapsed = time.perf_counter() - start
        self.invoke_seconds.append(elapsed)
        self.frame_seconds.append(elapsed)
        return np.frombuffer(data, np.float32).reshape(height, width)

    def timing(self):
        return RawModel.timing(self)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)
