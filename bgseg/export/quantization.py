"""One small config for every TFLite conversion mode, built with named constructors.

    QuantizationConfig.float32()            # no quantization, reference parity
    QuantizationConfig.float16()            # float16 weights, float compute: the GPU-delegate file
    QuantizationConfig.dynamic()            # int8 weights, float activations (dynamic range)
    QuantizationConfig.int8()               # full integer, float I/O (int8/uint8 I/O on request)
    QuantizationConfig.qat(epochs=2)        # TF-MOT quantization-aware fine-tuning, then full int8

TF-MOT pruning (`prune_sparsity`) and weight clustering (`clusters`) apply to the QAT path, where
the tf_keras twin of the model is fine-tuned anyway; they then run before quantization-aware
training.
"""

import dataclasses

MODES = ("float32", "float16", "dynamic", "int8", "qat")
IO_TYPES = ("float32", "int8", "uint8")


@dataclasses.dataclass(frozen=True)
class QuantizationConfig:
    """How to convert: `mode`, the integer modes' I/O type and sample count, and the QAT options."""

    mode: str = "float16"
    io_type: str = "float32"
    representative_samples: int = 64
    epochs: int = 0
    batch_size: int = 8
    learning_rate: float = 1e-4
    prune_sparsity: float = 0.0
    clusters: int = 0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown quantization mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.io_type not in IO_TYPES:
            raise ValueError(f"io_type must be one of {', '.join(IO_TYPES)}, got {self.io_type!r}")
        if self.io_type != "float32" and not self.is_integer:
            raise ValueError(f"io_type={self.io_type!r} needs an integer mode (int8 or qat), "
                             f"not {self.mode!r}")
        if self.representative_samples < 1:
            raise ValueError("representative_samples must be at least 1")
        if self.mode == "qat" and self.epochs < 1:
            raise ValueError("qat needs epochs >= 1")
        if not 0.0 <= self.prune_sparsity < 1.0:
            raise ValueError(f"prune_sparsity must be in [0, 1), got {self.prune_sparsity}")
        if self.clusters < 0 or self.clusters == 1:
            raise ValueError(f"clusters must be 0 (off) or at least 2, got {self.clusters}")
        if (self.prune_sparsity or self.clusters) and self.mode != "qat":
            raise ValueError(
                "pruning and clustering run in the qat mode (TF-MOT on the tf_keras twin)"
            )

    @property
    def is_integer(self):
        """True for the full-integer modes, which need representative data."""
        return self.mode in ("int8", "qat")

    @property
    def name(self):
        """A short tag for file names and reports, e.g. `int8`, `int8-uint8io`, `qat`."""
        return self.mode if self.io_type == "float32" else f"{self.mode}-{self.io_type}io"

    @classmethod
    def float32(cls):
        """Plain float32 conversion."""
        return cls("float32")

    @classmethod
    def float16(cls):
        """Float16 weights (half the size), float32 I/O; the GPU delegate computes in fp16."""
        return cls("float16")

    @classmethod
    def dynamic(cls):
        """Dynamic-range quantization: int8 weights, activations quantized on the fly."""
        return cls("dynamic")

    @classmethod
    def int8(cls, io_type="float32", representative_samples=64):
        """Full-integer post-training quantization calibrated on representative images."""
        return cls("int8", io_type=io_type, representative_samples=representative_samples)

    @classmethod
    def qat(cls, epochs=2, io_type="float32", representative_samples=64, batch_size=8,
            learning_rate=1e-4, prune_sparsity=0.0, clusters=0):
        """Quantization-aware fine-tuning (TF-MOT, tf_keras twin) for `epochs`, then full int8."""
        return cls("qat", io_type=io_type, representative_samples=representative_samples,
                   epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                   prune_sparsity=prune_sparsity, clusters=clusters)

    def to_dict(self):
        return dataclasses.asdict(self)
