"""The video driver's stages: where the effect runs, live sources read without a queue."""

import threading

import numpy as np

from bgseg.runtime import stream


class Recorder:
    """A stand-in segmenter, effect and writer that note the thread each call ran on."""

    mask_dtype = np.uint8

    def __init__(self):
        self.threads = {"segment": set(), "effect": set(), "write": set()}
        self.written, self.dtypes = [], []

    def _note(self, name):
        self.threads[name].add(threading.current_thread().name)

    def segment(self, frame, dtype=np.float32):
        self._note("segment")
        self.dtypes.append(dtype)
        return np.full(frame.shape[:2], 255, dtype)

    def __call__(self, frame, mask):
        self._note("effect")
        return frame + 1

    def write(self, frame, seconds=None):
        self._note("write")
        self.written.append(int(frame[0, 0, 0]))


def _frames(count):
    return [np.full((4, 6, 3), i, np.uint8) for i in range(count)]


def test_effect_runs_beside_the_model_unless_frames_are_shown():
    record = Recorder()
    assert stream.process_stream(_frames(5), record, record, record) == 5
    assert record.written == [1, 2, 3, 4, 5] and record.dtypes == [np.uint8] * 5
    assert record.threads["effect"] == {"bgseg-encode"} == record.threads["write"]
    main = threading.current_thread().name
    shown = []
    record = Recorder()
    stream.process_stream(_frames(3), record, record, record,
                          show=lambda out: shown.append(out) or True)
    assert record.threads["effect"] == {main} and record.written == [1, 2, 3]


def test_live_sources_are_read_on_the_callers_thread():
    readers = set()

    def camera():
        for frame in _frames(4):
            readers.add(threading.current_thread().name)
            yield frame

    record = Recorder()
    shown = []
    count = stream.process_stream(camera(), None, record, record, max_frames=3,
                                  show=lambda out: shown.append(out) or True, live=True)
    assert count == 3 and len(shown) == 3
    assert readers == {threading.current_thread().name}
