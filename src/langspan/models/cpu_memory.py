"""Keep freed activation buffers for reuse instead of returning them to the kernel after every operator (glibc).

A batch of 2 s windows through mms-lid-256 allocates activations of 2–52 MB per operator (the first convolution's
output is 8 × 512 × 3199 floats). glibc serves blocks above its mmap threshold (dynamic, at most 32 MB) with a
fresh ``mmap`` and unmaps them on free, and trims the top of the heap once 2 × that threshold is free, so every
forward pass faults in new zeroed pages: 293,000 page faults (≈ 1.1 GB) per batch of 8, a sixth of the forward
time. Serving those blocks from the heap and keeping up to ``TRIM_THRESHOLD`` of free memory there cuts that to
19,000 and makes a batch of 8 1.21x faster (median 2.00 s → 1.65 s, ``benchmarks/allocator.py``, results in
docs/benchmarks.md); the cost is up to that much free memory held between batches.

The setting is process-wide, so it is applied only on CPU inference, only with glibc, and never when the user has
set glibc's own ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` environment variables.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 << 20  # blocks up to 256 MB come from the heap (a batch's largest activation is ~52 MB)
TRIM_THRESHOLD = 512 << 20  # up to 512 MB of free heap is kept for the next batch
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_applied = False


def reuse_large_buffers() -> bool:
    """Apply the thresholds above once per process; True if they are in effect."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux") or any(name in os.environ for name in USER_SETTINGS):
        return False
    try:
        mallopt = libc().mallopt
    except AttributeError:  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    _applied = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _applied


def give_back_free_heap() -> None:
    """Return the free heap kept by ``reuse_large_buffers`` to the kernel (glibc; elsewhere nothing): after a burst
    of short-lived copies that no forward pass will reuse, such as writing a converted model to the cache."""
    try:
        trim = libc().malloc_trim
    except AttributeError:
        return
    trim.argtypes = (ctypes.c_size_t,)
    trim(0)


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library already loaded into this process (its ``mallopt``, ``madvise``), looked up once."""
    return ctypes.CDLL(None, use_errno=True)
