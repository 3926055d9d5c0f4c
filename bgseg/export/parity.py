"""Keras vs TFLite parity: run both on the same inputs, report max/mean abs difference and mask
IoU."""

import dataclasses

import numpy as np

# Per-mode parity bounds on a trained model (probabilities in [0, 1]): max |keras - tflite|, mean
# |keras - tflite| and the minimum IoU of the two masks thresholded at 0.5. Integer modes have no
# max bound: a few pixels right at an edge can flip by a quantization step of the logit.
TOLERANCE = {
    "float32": {"max_abs": 5e-4, "mean_abs": 1e-5, "mask_iou": 0.999},  # XNNPACK vs TF kernels
    # float16 weights move single edge pixels of the selfie models by up to 0.08 (their logits reach
    # several hundred before the sigmoid); the mean and the mask IoU bound the effect
    "float16": {"max_abs": 0.1, "mean_abs": 1e-3, "mask_iou": 0.99},
    "dynamic": {"max_abs": 0.1, "mean_abs": 0.01, "mask_iou": 0.97},
    "int8": {"max_abs": 1.0, "mean_abs": 0.03, "mask_iou": 0.93},
    "qat": {"max_abs": 1.0, "mean_abs": 0.05, "mask_iou": 0.85},
}


@dataclasses.dataclass
class Parity:
    max_abs: float
    mean_abs: float
    mask_iou: float

    def within(self, mode):
        """True when this parity meets `TOLERANCE[mode]`."""
        bound = TOLERANCE[mode]
        return (self.max_abs <= bound["max_abs"] and self.mean_abs <= bound["mean_abs"]
                and self.mask_iou >= bound["mask_iou"])

    def __str__(self):
        return f"max|d|={self.max_abs:.2g} mean|d|={self.mean_abs:.2g} mask IoU={self.mask_iou:.4f}"


def tflite_predict(model_data, inputs, threads=None):
    """Run `.tflite` bytes (or a path) on float inputs `[N, H, W, C]` with the runtime's runner
    (`bgseg.runtime.TFLiteModel`: contract check, quantized I/O (de)quantized with the tensors' own
    scale and zero point). Returns float `[N, H, W, 1]`."""
    from bgseg.runtime.interpreter import TFLiteModel

    return TFLiteModel(model_data, threads=threads).predict(inputs)


def mask_iou(a, b, threshold=0.5):
    """IoU of two probability maps thresholded at `threshold` (two empty masks: 1)."""
    from bgseg.evaluation import iou

    return iou(a > threshold, b > threshold)


def compare(model, model_data, inputs):
    """Parity of a Keras model and its `.tflite` bytes on `inputs` `[N, H, W, C]` in [0, 1]."""
    expected = np.asarray(model.predict(np.asarray(inputs, np.float32), batch_size=1, verbose=0))
    actual = tflite_predict(model_data, inputs)
    diff = np.abs(expected - actual)
    return Parity(float(diff.max()), float(diff.mean()), mask_iou(expected, actual))
