"""The web workers' memory allocator, tuned for the multi-MB bytes objects their requests make.

glibc's malloc serves every block of 128 KiB or more with its own mmap() and gives it back with munmap()
when freed (the threshold rises only as far as the largest block freed so far, and the heap is trimmed
whenever 128 KiB at its top are free). So each 4.6 MB bytes object a dashboard request makes (the 12,000
schools' overview document, the parts read from the cache, the response joined) is page-faulted in again:
a 4.6 MB copy costs ~2.7 ms instead of ~0.7 ms on this machine (docs/benchmarks.md). `keep_large_blocks`
raises both thresholds, so that such blocks are taken from and returned to the process's heap: a worker's
resident memory may then stay up to TRIM_THRESHOLD above what it holds.

Called by config.wsgi (each web worker, whatever the WSGI server); elsewhere (Celery workers, commands,
tests) nothing changes. A libc without mallopt (musl, macOS) is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 64 * 1024 * 1024  # blocks up to this come from the heap (its dynamic threshold stops at 32 MiB)
TRIM_THRESHOLD = 128 * 1024 * 1024  # free memory at the heap's top beyond this goes back to the system


def keep_large_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is no mallopt."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
