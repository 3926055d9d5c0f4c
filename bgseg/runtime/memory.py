"""Keep freed frame-sized buffers for reuse instead of handing them back to the kernel.

glibc's malloc serves large blocks (a 720p RGB frame is 2.7 MB) with fresh `mmap` pages and
unmaps them when freed, so every per-frame temporary of numpy and OpenCV pays the kernel's page
faults and zeroing again: about a fifth of the runtime's per-frame time at 720p. Raising the
thresholds makes malloc keep and reuse them. A no-op where the C library is not glibc.
"""

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20  # blocks up to this size come from (and go back to) the heap
TRIM_THRESHOLD = 512 << 20  # free heap memory kept before any is returned to the kernel
_done = None


def reuse_freed_memory():
    """Set glibc's malloc to reuse freed large blocks (once per process); True when it applies."""
    global _done
    if _done is None:
        _done = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            return False
        mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
        _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                     and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
