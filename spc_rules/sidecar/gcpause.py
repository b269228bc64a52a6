"""Python's cyclic garbage collector held back while a cycle runs, and run once at its end.

A steady cycle at 10,000 series makes some hundred thousand small container objects (the
series of an answer, the held rows, the points), most of which live until the next cycle.
Left to its thresholds, the collector ran several full passes over everything the sidecar
holds during each cycle (each pass longer as the cycle's objects piled up): a tenth to a
fifth of a steady cycle (docs/benchmarks.md). Nearly all of that memory is freed by
reference counting anyway; what the collector is for (reference cycles) can wait until the
cycle ends, where one collection of the young generations finds it, paid inside the cycle.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
