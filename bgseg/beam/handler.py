"""A Beam `ModelHandler` for the bgseg TFLite runtime."""

import hashlib
import os
import tempfile
import threading

import numpy as np
from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler, PredictionResult


def is_url(path):
    """True for a Beam filesystem URL (gs://, s3://, hdfs://, ...), False for a local path."""
    return "://" in str(path)


def local_model_path(model):
    """A shipped model name or local path as is; a remote one (gs://, s3://, ...) copied once into
    the worker's temporary folder, under a key of its URL, size and modification time: two URLs
    with the same file name never share a copy, and a changed remote file is fetched again."""
    if not is_url(model):
        return model
    url = str(model)
    folder = os.path.join(tempfile.gettempdir(), "bgseg-models", remote_key(url))
    target = os.path.join(folder, os.path.basename(url))
    if not os.path.isfile(target):
        os.makedirs(folder, exist_ok=True)
        partial = f"{target}.{os.getpid()}.part"
        with FileSystems.open(url) as source, open(partial, "wb") as handle:
            handle.write(source.read())
        os.replace(partial, target)
    return target


def remote_key(url):
    """A short hex digest of `url` and its size and modification time as the filesystem reports
    them (only the URL where the filesystem cannot say)."""
    try:
        found = FileSystems.match([url], limits=[1])[0].metadata_list
    except (BeamIOError, NotImplementedError):  # a filesystem that cannot list: the URL alone
        found = []
    stamp = f"{found[0].size_in_bytes}:{found[0].last_updated_in_seconds}" if found else ""
    return hashlib.sha256(f"{url}\n{stamp}".encode()).hexdigest()[:16]


class SegmenterModelHandler(ModelHandler[np.ndarray, PredictionResult, object]):
    """RunInference handler: RGB uint8 images of any size in, float32 person masks (image size) out.

    The model (a `.tflite` path, possibly remote, or a shipped name) is loaded once per worker
    process by RunInference's shared handle and runs one image at a time (the released models have
    a static batch of one for the GPU delegate); Beam groups elements into batches of up to
    `max_batch_size` to amortise the per-bundle cost.

    Args:
        model: `.tflite` path/URL or shipped model name ("default_image", ...).
        threads: interpreter threads per worker process (None: min(4, CPU count)).
        refine: guided-filter refinement on the full-resolution image, as `bgseg image`.
        zoom: the runtime's second look at the people (`bgseg.runtime.zoom`), as `bgseg image`.
        sharpen: the runtime's output sharpening, as `bgseg image --sharpen` (None: the model's
            own).
        flip: the mirrored first look, as `bgseg image --flip` (None: the runtime's default).
        max_batch_size: the most images in one `run_inference` call.
        errors_as_results: an image that fails gets its exception as its inference (for a
            dead-letter step downstream) instead of failing the whole batch.
    """

    def __init__(self, model="default_image", threads=None, refine=True, max_batch_size=8,
                 errors_as_results=False, zoom=True, sharpen=None, flip=None):
        super().__init__(min_batch_size=1, max_batch_size=max_batch_size)
        self.model, self.threads = model, threads
        self.options = {"refine": refine, "zoom": zoom, "sharpen": sharpen,  # Segmenter's
                        "flip": flip}
        self.errors_as_results = errors_as_results

    def load_model(self):
        from bgseg.runtime import resolve_model

        return ThreadSegmenters(resolve_model(local_model_path(self.model)), self.threads,
                                self.options)

    def run_inference(self, batch, model, inference_args=None):
        segmenter, results = model.get(), []
        for image in batch:
            try:
                results.append(PredictionResult(image, segmenter.segment(image)))
            except Exception as error:  # noqa: BLE001 - reported per image, see errors_as_results
                if not self.errors_as_results:
                    raise
                results.append(PredictionResult(image, error))
        return results

    def get_num_bytes(self, batch):
        return sum(image.nbytes for image in batch)

    def get_metrics_namespace(self):
        return "bgseg"


class ThreadSegmenters:
    """The per-process model that RunInference shares between a worker's threads: one checked
    `.tflite` path and one Segmenter per thread (a LiteRT interpreter must not be called from two
    threads at once)."""

    def __init__(self, path, threads, options):
        self.path, self.threads, self.options = path, threads, options
        self._local = threading.local()
        self.get()  # load (and check the contract) once now, where RunInference loads the model

    def get(self):
        """This thread's Segmenter."""
        if not hasattr(self._local, "segmenter"):
            from bgseg.runtime import Segmenter, TFLiteModel

            self._local.segmenter = Segmenter(TFLiteModel(self.path, threads=self.threads),
                                              **self.options)
        return self._local.segmenter
