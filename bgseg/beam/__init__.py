"""Batch background removal on Apache Beam (`pip install "bgseg[beam]"`).

`SegmenterModelHandler` runs the project's TFLite runtime (LiteRT, no TensorFlow on workers) inside
Beam's `RunInference`; `bgseg.beam.pipeline` reads images and videos matched by file patterns,
segments them, applies an effect and writes each output atomically under an output prefix.
The same pipeline runs on the DirectRunner here and on Dataflow, Flink or Spark (docs/scale.md).
"""

try:
    import apache_beam  # noqa: F401
except ModuleNotFoundError as error:  # pragma: no cover - depends on the install
    from bgseg.install import install_command

    raise ModuleNotFoundError(
        f'bgseg.beam needs Apache Beam: {install_command("beam")}', name="apache_beam") from error

from bgseg.beam.handler import SegmenterModelHandler
from bgseg.beam.pipeline import BatchOptions, build, run

__all__ = ["BatchOptions", "SegmenterModelHandler", "build", "run"]
