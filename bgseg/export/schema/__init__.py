"""Generated Python for the TFLite metadata schemas (flatc object API), vendored from MediaPipe."""
