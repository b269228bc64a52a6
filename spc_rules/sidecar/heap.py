"""How the running sidecar keeps its memory: large arrays from the heap, not from fresh
mappings (glibc only), and Python's cyclic collector held back while a cycle runs.

A cycle's engine works on (series x points) arrays: 80 MB each at 10,000 series of 1,000
points, above glibc's largest dynamic ``mmap`` threshold (32 MiB). Each such temporary is
then a fresh mapping that the kernel zero-fills page by page and unmaps when freed, cycle
after cycle: at 10,000 series that cost a sixth of the compute stage in page faults and
system time, and made the cost per series grow with the series (docs/benchmarks.md). Raising
the threshold (and the trim threshold, so freed memory is kept for the next cycle) lets the
heap reuse the same pages. The peak memory is the same; it is held between cycles.

Only for estates of ``LARGE_ESTATE`` series and more: below, a cycle's arrays stay under the
threshold anyway, and the heap would keep what glibc unmaps by default (the detector
designs' 1.3 MB matrices: 5 MiB more RSS for the first run's two targets).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
THRESHOLD = 1 << 30  # 1 GiB: every array of a cycle below it comes from the heap
LARGE_ESTATE = 2000  # chart series judged: (series x 2,000 points) passes 32 MiB


def keep_large_allocations() -> bool:
    """Set glibc's thresholds; False where the C library has no ``mallopt`` (musl, macOS)."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    # Two arenas: the event loop's and the worker threads' (one per thread by default, each
    # keeping its own freed memory).
    settings = ((M_MMAP_THRESHOLD, THRESHOLD), (M_TRIM_THRESHOLD, 2 * THRESHOLD), (M_ARENA_MAX, 2))
    return all(bool(mallopt(param, value)) for param, value in settings)


def fit_to(series: int) -> None:
    """After a cycle that judged ``series`` chart series: keep large allocations from
    ``LARGE_ESTATE`` on (once set, the thresholds stay)."""
    if series >= LARGE_ESTATE:
        keep_large_allocations()


@cache
def _mallopt() -> Callable[[int, int], int] | None:
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


# The cyclic collector. A steady cycle at 10,000 series makes some hundred thousand small
# container objects (the series of an answer, the held rows, the points), most of which live
# until the next cycle. Left to its thresholds, the collector ran several full passes over
# everything the sidecar holds during each cycle (each pass longer as the cycle's objects
# piled up): a tenth to a fifth of a steady cycle (docs/benchmarks.md). Nearly all of that
# memory is freed by reference counting anyway; what the collector is for (reference cycles)
# can wait until the cycle ends, where one collection of the young generations finds it, paid
# inside the cycle.


@contextmanager
def collected_at_end() -> Iterator[None]:
    """Run the body with the collector off, then collect the young generations once (the
    oldest is left to the collector's own schedule)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
            gc.collect(1)
