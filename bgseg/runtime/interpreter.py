"""A TFLite model behind the bgseg I/O contract, run with `ai_edge_litert` (no TensorFlow).

The contract: one input `[1, H, W, 4]` (RGB in [0, 1] + previous mask probability in [0, 1]) or
`[1, H, W, 3]` (RGB only), one output `[1, H, W, 1]` (person probability in [0, 1]); batch 1, static
H and W. Tensors are float32, float16, or int8/uint8 with the scale and zero point stored in the
file.
"""

import contextlib
import os
import warnings

import numpy as np

_QUANTIZED = (np.int8, np.uint8)
_FLOAT = (np.float32, np.float16)


class ModelContractError(ValueError):
    """The model file does not follow the bgseg I/O contract."""


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what native code prints on stderr (LiteRT's "INFO: Created TensorFlow Lite XNNPACK
    delegate for CPU." on every load) unless BGSEG_VERBOSE is set (`bgseg --verbose`)."""
    if os.environ.get("BGSEG_VERBOSE"):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor (embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class TFLiteModel:
    """One loaded `.tflite` model: contract check on load, float in, float out. The project's one
    TFLite runner: the runtime, export parity, the export report and the benchmarks use it.

    Args:
        path: the `.tflite` file, or the model's bytes.
        threads: interpreter thread count (None: min(4, CPU count)).
    """

    def __init__(self, path, threads=None):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        if isinstance(path, (bytes, bytearray, memoryview)):
            source = {"model_content": bytes(path)}
            self.path = f"<{len(source['model_content'])} bytes of .tflite>"
        else:
            self.path = os.fspath(path)
            source = {"model_path": self.path}
        if threads is None:
            threads = min(4, os.cpu_count() or 1)
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self.delegate = "xnnpack"
        self._source, self._pair = source, None  # the batch-2 interpreter of `run_pair`
        try:
            with quiet_native_stderr():
                self._interpreter = Interpreter(**source, num_threads=threads)
                self._interpreter.allocate_tensors()
        except RuntimeError as error:
            if "XNNPACK" not in str(error):
                raise ModelContractError(_not_loadable(self.path, error)) from None
            # XNNPACK rejects some graphs (seen with int8 models); the builtin kernels still run
            # them
            warnings.warn(
                f"{self.path}: XNNPACK cannot run this model ({error}); falling back to "
                f"the slower builtin kernels",
                RuntimeWarning,
                stacklevel=2,
            )
            self._interpreter = Interpreter(
                **source,
                num_threads=threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            self._interpreter.allocate_tensors()
            self.delegate = "none"
        except ValueError as error:
            raise ModelContractError(_not_loadable(self.path, error)) from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        self._input, self._output = self._check(inputs, outputs)
        _, self.height, self.width, self.channels = (int(d) for d in self._input["shape"])
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_dtype = np.dtype(self._output["dtype"])
        self._check_output_range()

    def _check_output_range(self):
        """One probe inference on a seeded noise frame: the output must be a probability map (a
        model ending in logits would otherwise be clipped silently)."""
        probe = np.random.default_rng(0).random((self.height, self.width, self.channels))
        self.set_input(probe.astype(np.float32))
        self.invoke()
        y = self._dequantize(self._interpreter.get_tensor(self._output["index"]))
        low, high = float(np.min(y)), float(np.max(y))
        if not (np.isfinite(low) and np.isfinite(high)):
            self._fail("outputs non-finite values")
        if low < -1e-3 or high > 1.001:
            self._fail(f"outputs values in [{low:.3g}, {high:.3g}], not a probability in [0, 1] "
                       f"(logits? end the model with a sigmoid)")

    def _fail(self, reason):
        raise ModelContractError(
            f"{self.path}: {reason}; a bgseg model takes float32 [1,H,W,4] (RGB + previous mask) "
            f"or [1,H,W,3] and returns [1,H,W,1] person probability, batch 1, static H and W"
        )

    def _check(self, inputs, outputs):
        if len(inputs) != 1 or len(outputs) != 1:
            self._fail(f"has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1")
        (inp,), (out,) = inputs, outputs
        shape = [int(d) for d in inp["shape"]]
        signature = [int(d) for d in inp.get("shape_signature", inp["shape"])]
        if len(shape) != 4 or shape[-1] not in (3, 4):
            self._fail(f"input shape {shape} is not [1,H,W,4] or [1,H,W,3]")
        if shape[0] != 1 or signature[0] != 1:
            self._fail(f"input batch is {signature[0]} (-1: dynamic), expected a fixed batch of 1")
        if -1 in signature[1:3]:
            self._fail(f"input height/width are dynamic ({signature}), expected static")
        out_shape = [int(d) for d in out["shape"]]
        if out_shape != [1, shape[1], shape[2], 1]:
            self._fail(f"output shape {out_shape} is not [1,{shape[1]},{shape[2]},1]")
        for name, detail in (("input", inp), ("output", out)):
            dtype = np.dtype(detail["dtype"])
            if dtype in _QUANTIZED:
                scale, _ = detail["quantization"]
                if not scale:
                    self._fail(f"{name} is {dtype} without quantization parameters")
            elif dtype not in _FLOAT:
                self._fail(f"{name} dtype is {dtype}, expected float32, float16, int8 or uint8")
        return inp, out

    @property
    def is_video(self):
        """True when the model takes the previous mask as a 4th channel."""
        return self.channels == 4

    def _quantize(self, x):
        dtype = self.input_dtype
        if dtype in _QUANTIZED:
            scale, zero_point = self._input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.rint(x / scale + zero_point), info.min, info.max)
        return x.astype(dtype, copy=False)

    def _dequantize(self, y):
        if self.output_dtype in _QUANTIZED:
            scale, zero_point = self._output["quantization"]
            return (y.astype(np.float32) - zero_point) * scale
        return y.astype(np.float32, copy=False)

    def set_input(self, x):
        """Set the input from a float32 `[H, W, C]` array in [0, 1] (quantized when needed)."""
        self._interpreter.set_tensor(self._input["index"], self._quantize(x[None]))

    def invoke(self):
        self._interpreter.invoke()

    def get_output(self):
        """The output as a float32 `[H, W]` probability map."""
        y = self._interpreter.get_tensor(self._output["index"])[0, :, :, 0]
        return np.clip(self._dequantize(y), 0.0, 1.0)

    def run_pair(self, first, second):
        """The `[H, W]` masks of two float32 `[H, W, C]` inputs, e.g. a picture and its mirror
        image. With two or more threads they run as one batch of 2 on a second interpreter, where
        XNNPACK keeps both threads busy (a 384 x 384 pair: about 15 % less wall and CPU time than
        two runs); its outputs are checked once against two single runs and used only when they
        are the same to the bit, else (and with one thread) the pair is two runs."""
        pair = self._pair_interpreter()
        if pair is None:
            return self(first), self(second)
        inp, out = pair.get_input_details()[0], pair.get_output_details()[0]
        pair.set_tensor(inp["index"], self._quantize(np.stack([first, second])))
        pair.invoke()
        y = np.clip(self._dequantize(pair.get_tensor(out["index"])[..., 0]), 0.0, 1.0)
        return y[0], y[1]

    def _pair_interpreter(self):
        """The batch-2 interpreter, made and checked on first use; None where it is not used."""
        if self._pair is None:
            self._pair = False
            if self.threads >= 2 and self.delegate == "xnnpack":
                self._pair = self._checked_pair() or False
        return self._pair or None

    def _checked_pair(self):
        from ai_edge_litert.interpreter import Interpreter

        try:
            with quiet_native_stderr():
                pair = Interpreter(**self._source, num_threads=self.threads)
                index = pair.get_input_details()[0]["index"]
                pair.resize_tensor_input(index, [2, self.height, self.width, self.channels],
                                         strict=False)
                pair.allocate_tensors()
        except (RuntimeError, ValueError):
            return None
        rng = np.random.default_rng(1)
        probes = rng.random((2, self.height, self.width, self.channels)).astype(np.float32)
        singles = []
        for probe in probes:
            self._interpreter.set_tensor(self._input["index"], self._quantize(probe[None]))
            self._interpreter.invoke()
            singles.append(self.get_output())
        pair.set_tensor(index, self._quantize(probes))
        pair.invoke()
        batched = pair.get_tensor(pair.get_output_details()[0]["index"])[..., 0]
        batched = np.clip(self._dequantize(batched), 0.0, 1.0)
        return pair if np.array_equal(batched, np.stack(singles)) else None

    def predict(self, inputs):
        """Outputs `[N, H, W, 1]` of float inputs `[N, H, W, C]` in [0, 1], one invoke each."""
        return np.stack([self(x) for x in np.asarray(inputs, np.float32)])[..., None]

    def __call__(self, x):
        """Run one float32 `[H, W, C]` input, return the `[H, W]` mask."""
        self.set_input(x)
        self.invoke()
        return self.get_output()

    def __repr__(self):
        return (f"TFLiteModel({self.path!r}, input=[1,{self.height},{self.width},{self.channels}] "
                f"{self.input_dtype}, output {self.output_dtype}, delegate {self.delegate})")


KERAS_SUFFIXES = (".keras", ".h5")


def _not_loadable(path, error):
    """The message for a model file LiteRT cannot load, with the export hint for Keras files."""
    message = f"{path}: not a loadable TFLite model ({error})"
    if str(path).lower().endswith(KERAS_SUFFIXES):
        message += f"; make one with: bgseg export {path} -o model.tflite"
    return message
