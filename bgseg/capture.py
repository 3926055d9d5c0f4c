"""Live capture on its own thread that always hands out the newest frame.

A camera delivers frames at its own pace; reading them in the processing loop makes every frame
wait for the previous one's segmentation, so latency grows and the driver's buffer fills with
stale frames. `LatestFrames` reads on a daemon thread and keeps only the newest frame: the loop
gets the freshest picture (at most one frame old) and frames it was too slow for are dropped.
Use it for live sources only; a file must be processed frame by frame.
"""

import threading


class LatestFrames:
    """Iterate the newest frames of `reader` (any iterable of frames); `dropped` counts frames
    that were replaced before the consumer took them. `close()` stops the thread (the reader
    itself is closed by its owner)."""

    def __init__(self, reader):
        self.dropped = 0
        self._frames = iter(reader)
        self._frame, self._ended, self._stop = None, False, False
        self._error = None
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bgseg-capture")
        self._thread.start()

    def _run(self):
        try:
            for frame in self._frames:
                with self._ready:
                    if self._stop:
                        return
                    if self._frame is not None:
                        self.dropped += 1
                    self._frame = frame
                    self._ready.notify()
        except Exception as exc:  # handed to the consumer, raised there
            self._error = exc
        with self._ready:
            self._ended = True
            self._ready.notify()

    def __iter__(self):
        return self

    def __next__(self):
        with self._ready:
            self._ready.wait_for(lambda: self._frame is not None or self._ended)
            frame, self._frame = self._frame, None
        if frame is None:
            if self._error is not None:
                raise self._error
            raise StopIteration
        return frame

    def close(self):
        with self._ready:
            self._stop = True
        self._thread.join(timeout=2.0)
