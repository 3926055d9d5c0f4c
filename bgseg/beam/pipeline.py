"""The batch pipeline: match files -> plan outputs -> decode -> RunInference -> effect -> write.

Images go through `RunInference` with `SegmenterModelHandler`; each video is one element, its
frames processed in order by one worker so that every mask is fed into the next frame (as
`bgseg video`). Inputs keep their names (relative to the pattern's folder) under the output
prefix. Outputs that exist are skipped unless `overwrite`, so a rerun resumes where the last run
stopped; a file that cannot be processed becomes a row of the dead-letter JSONL file (path, stage,
reason) and never fails the pipeline. Counters `bgseg/{processed,skipped,failed}` hold the totals.
"""

import dataclasses
import json
import os
import shutil
import tempfile
import time
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from bgseg.beam.handler import SegmenterModelHandler, is_url, local_model_path

GLOB_CHARACTERS = "*?["
FAILED_TAG = "failed"
VIDEO_TAG = "video"
DEAD_LETTER_NAME = "_bgseg_failed.jsonl"


@dataclasses.dataclass
class BatchOptions:
    """What to process and how (everything a worker needs; pickled with the pipeline).

    inputs: file patterns (`photos/*.jpg`, `gs://bucket/in/**`) or local folders (all files under
        them). output: folder or URL prefix. effect: keyword arguments of `bgseg.effects.Effect`
        (a background image as an RGB array, so workers need no access to the launcher's files).
        video_effect: the same for video files (default: `effect`); video files cannot carry
        transparency, so an `alpha` effect needs one.
    """

    inputs: list
    output: str
    effect: dict = dataclasses.field(default_factory=lambda: {"alpha": True})
    video_effect: dict = None
    model: str = "default_image"
    video_model: str = "default"
    overwrite: bool = False
    refine: bool = True
    zoom: bool = True
    sharpen: float = None  # None: the model's own (`bgseg.runtime.registry.runtime_options`)
    flip: bool = None  # the mirrored looks; None: the runtime's default for the model
    smoothing: float = 1.0
    motion: bool = True
    threads: int = None
    max_pixels: float = 100e6
    max_batch_size: int = 8
    dead_letter: str = None

    def __post_init__(self):
        if not self.inputs:
            raise ValueError("no input patterns")
        if not self.output:
            raise ValueError("no output prefix")
        if not 0.0 <= self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {self.smoothing}")
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        self.video_effect = self.video_effect or self.effect
        if self.video_effect.get("alpha"):
            raise ValueError("video files cannot carry transparency: give a video_effect "
                             "(a background, blur or mask_only)")
        self.output = absolute(self.output)
        self.dead_letter = absolute(self.dead_letter or join(self.output, DEAD_LETTER_NAME))

    def segmenter_options(self):
        """The Segmenter keyword arguments (post-processing) for images and videos alike."""
        return {"refine": self.refine, "zoom": self.zoom, "sharpen": self.sharpen,
                "flip": self.flip}


def absolute(path):
    return str(path) if is_url(path) else os.path.abspath(os.path.expanduser(str(path)))


def join(prefix, relative):
    return FileSystems.join(prefix, relative) if is_url(prefix) else os.path.join(prefix, relative)


def expand_pattern(pattern):
    """(pattern, base): a local folder becomes `folder/**`; the base is the folder part before the
    first wildcard, the root that output names are relative to."""
    pattern = absolute(pattern)
    if not is_url(pattern) and os.path.isdir(pattern):
        return os.path.join(pattern, "**"), pattern.rstrip("/") + "/"
    cut = min([pattern.index(c) for c in GLOB_CHARACTERS if c in pattern] or [len(pattern)])
    if cut == len(pattern):  # one file
        return pattern, pattern.rsplit("/", 1)[0] + "/"
    return pattern, pattern[:cut].rsplit("/", 1)[0] + "/"


def unmatched(inputs):
    """The input patterns that match no file (checked by the launcher before the pipeline; one
    match each is enough, the workers list them in full)."""
    missing = []
    for pattern in inputs:
        expanded, _ = expand_pattern(pattern)
        try:
            result = FileSystems.match([expanded], limits=[1])[0]
        except Exception:  # Beam raises BeamIOError for a pattern without any match
            missing.append(pattern)
            continue
        if not result.metadata_list:
            missing.append(pattern)
    return missing


def failure(path, stage, error):
    """A dead-letter row."""
    Metrics.counter("bgseg", "failed").inc()
    return beam.pvalue.TaggedOutput(FAILED_TAG, {"path": path, "stage": stage,
                                                 "reason": str(error)})


class MatchFiles(beam.DoFn):
    """(pattern, base) -> (path, base) for every matched file outside the output prefix."""

    def __init__(self, output):
        self.output = output.rstrip("/") + "/"

    def process(self, item):
        pattern, base = item
        for metadata in FileSystems.match([pattern])[0].metadata_list:
            path = metadata.path
            name = path.rsplit("/", 1)[-1]
            if path.startswith(self.output) or name.startswith("."):
                continue  # earlier outputs (output inside an input folder) and hidden files
            yield path, base


class PlanOutputs(beam.DoFn):
    """(path, base) -> (path, output) for images (main) and videos (tagged); skips existing
    outputs, sends unknown file types to the dead letter."""

    def __init__(self, options):
        self.options = options

    def process(self, item):
        from bgseg import io

        path, base = item
        relative = path[len(base):] if path.startswith(base) else path.rsplit("/", 1)[-1]
        stem, suffix = os.path.splitext(relative)
        suffix = suffix.lower()
        if suffix in io.VIDEO_EXTENSIONS:
            target, tag = join(self.options.output, relative), VIDEO_TAG
        elif suffix in io.IMAGE_EXTENSIONS:
            alpha = bool(self.options.effect.get("alpha"))
            target, tag = join(self.options.output, stem + io.output_suffix(suffix, alpha)), None
        else:
            yield failure(path, "plan", f"not an image or video file ({suffix or 'no extension'})")
            return
        if not self.options.overwrite and FileSystems.exists(target):
            Metrics.counter("bgseg", "skipped").inc()
            return
        yield (path, target) if tag is None else beam.pvalue.TaggedOutput(tag, (path, target))


class DecodeImage(beam.DoFn):
    """(path, output) -> ((path, output), RGB uint8 image), EXIF orientation applied."""

    def __init__(self, max_pixels):
        self.max_pixels = max_pixels

    def process(self, item):
        from bgseg import io

        path, _ = item
        try:
            with FileSystems.open(path) as handle:
                data = handle.read()
            yield item, io.decode_image(data, path, self.max_pixels)
        except Exception as error:  # noqa: BLE001 - every bad file goes to the dead letter
            yield failure(path, "decode", _reason(error, path))


class WriteImage(beam.DoFn):
    """((path, output), PredictionResult) -> output path, after the effect, written atomically."""

    def __init__(self, options):
        self.options = options

    def setup(self):
        from bgseg.effects import Effect

        self.effect = Effect(**self.options.effect)

    def process(self, item):
        from bgseg import io

        (path, target), result = item
        if isinstance(result.inference, Exception):
            yield failure(path, "segment", result.inference)
            return
        try:
            data = io.encode_image(self.effect(result.example, result.inference),
                                   os.path.splitext(target)[1], target)
            write_atomic(target, data.tobytes(), self.options.overwrite)
        except Exception as error:  # noqa: BLE001
            yield failure(path, "write", _reason(error, target))
            return
        Metrics.counter("bgseg", "processed").inc()
        yield target

    def teardown(self):
        self.effect.close()


class SegmentVideo(beam.DoFn):
    """(path, output) -> output path: one whole video, frames in order with mask feedback, written
    like `bgseg video` (same size and timestamps, every audio stream carried) with
    `options.video_effect`."""

    def __init__(self, options):
        self.options = options

    def setup(self):
        from bgseg.runtime import load, resolve_model

        o = self.options
        self.segmenter = load(resolve_model(local_model_path(o.video_model)), kind="video",
                              threads=o.threads, smoothing=o.smoothing, motion=o.motion,
                              **o.segmenter_options())

    def process(self, item):
        path, target = item
        workdir = tempfile.mkdtemp(prefix="bgseg-video-")
        try:
            frames = self._segment(path, target, workdir)
        except Exception as error:  # noqa: BLE001
            yield failure(path, "video", _reason(error, path))
            return
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        Metrics.counter("bgseg", "processed").inc()
        Metrics.counter("bgseg", "video_frames").inc(frames)
        yield target

    def _segment(self, path, target, workdir):
        from bgseg.effects import Effect
        from bgseg.runtime import stream

        source = path
        if is_url(path):  # PyAV reads local files here: fetch the video first
            source = os.path.join(workdir, "input" + os.path.splitext(path)[1])
            with FileSystems.open(path) as remote, open(source, "wb") as local:
                shutil.copyfileobj(remote, local, 1 << 20)
        local_target = os.path.join(workdir, "output" + os.path.splitext(target)[1]) \
            if is_url(target) else target
        self.segmenter.reset()
        with Effect(**self.options.video_effect) as effect:
            frames = stream.segment_video(source, local_target, self.segmenter, effect,
                                          overwrite=self.options.overwrite).frames
        if local_target != target:
            with open(local_target, "rb") as handle:
                write_atomic(target, handle.read(), self.options.overwrite)
        return frames


def _reason(error, path):
    """The reason of an InputError (its path is in the row already), else the message."""
    from bgseg import io

    return error.reason if isinstance(error, io.InputError) else f"{type(error).__name__}: {error}"


def write_atomic(path, data, overwrite=False):
    """Write bytes to a local path or a Beam filesystem URL through a temporary object beside it
    that is renamed into place: readers never see a partial output. Refuses to replace an existing
    output unless `overwrite`."""
    from bgseg import io

    if not overwrite and FileSystems.exists(path):
        raise io.OutputExists(path)
    folder, name = FileSystems.split(path)
    tmp = FileSystems.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with FileSystems.create(tmp) as handle:
            handle.write(data)
        FileSystems.rename([tmp], [path])
    except BaseException:
        if FileSystems.exists(tmp):
            FileSystems.delete([tmp])
        raise


def build(pipeline, options):
    """Add the batch steps to `pipeline`; returns the PCollection of written output paths."""
    handler = KeyedModelHandler(SegmenterModelHandler(
        options.model, threads=options.threads, max_batch_size=options.max_batch_size,
        errors_as_results=True, **options.segmenter_options()))
    files = (pipeline
             | "Patterns" >> beam.Create([expand_pattern(p) for p in options.inputs])
             | "Match" >> beam.ParDo(MatchFiles(options.output))
             | "Spread" >> beam.Reshuffle())
    planned = files | "Plan" >> beam.ParDo(PlanOutputs(options)).with_outputs(
        FAILED_TAG, VIDEO_TAG, main="images")
    decoded = planned.images | "Decode" >> beam.ParDo(DecodeImage(options.max_pixels)) \
        .with_outputs(FAILED_TAG, main="images")
    written = (decoded.images
               | "Segment" >> RunInference(handler)
               | "Write" >> beam.ParDo(WriteImage(options)).with_outputs(FAILED_TAG, main="paths"))
    videos = planned[VIDEO_TAG] | "Video" >> beam.ParDo(SegmentVideo(options)).with_outputs(
        FAILED_TAG, main="paths")
    failed = [planned[FAILED_TAG], decoded[FAILED_TAG], written[FAILED_TAG], videos[FAILED_TAG]]
    (failed
     | "Failures" >> beam.Flatten()
     | "Rows" >> beam.Map(lambda row: json.dumps(row, sort_keys=True))
     | "DeadLetter" >> beam.io.WriteToText(options.dead_letter, shard_name_template="",
                                           num_shards=1))
    return (written.paths, videos.paths) | "Outputs" >> beam.Flatten()


def run(options, pipeline_args=()):
    """Run the batch job (blocking) and return the summary: processed, skipped and failed counts,
    video frames, seconds, the dead-letter path."""
    start = time.perf_counter()
    pipeline = beam.Pipeline(options=PipelineOptions(list(pipeline_args)))
    build(pipeline, options)
    result = pipeline.run()
    result.wait_until_finish()
    counts = {"processed": 0, "skipped": 0, "failed": 0, "video_frames": 0}
    for counter in result.metrics().query(MetricsFilter().with_namespace("bgseg"))["counters"]:
        name = counter.key.metric.name
        if name in counts:
            counts[name] += counter.committed or 0
    return {**counts, "seconds": time.perf_counter() - start, "dead_letter": options.dead_letter}
