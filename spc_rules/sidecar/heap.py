"""Large arrays from the heap, not from fresh mappings, in the running sidecar (glibc only).

A cycle's engine works on (series x points) arrays: 80 MB each at 10,000 series of 1,000
points, above glibc's largest dynamic ``mmap`` threshold (32 MiB). Each such temporary is
then a fresh mapping that the kernel zero-fills page by page and unmaps when freed, cycle
after cycle: at 10,000 series that cost a sixth of the compute stage in page faults and
system time, and made the cost per series grow with the series (docs/benchmarks.md). Raising
the threshold (and the trim threshold, so freed memory is kept for the next cycle) lets the
heap reuse the same pages. The peak memory is the same; it is held between cycles.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30  # 1 GiB: every array of a cycle below it comes from the heap


def keep_large_allocations() -> bool:
    """Set glibc's thresholds; False where the C library has no ``mallopt`` (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, 2 * THRESHOLD)
    )
