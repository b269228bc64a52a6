"""Series sampled at the same timestamps, held as the rows of one matrix.

The series one target exposes are scraped together, so they share their timestamps, and a
shard of 10,000 series holds a few such groups, not 10,000 unrelated arrays. Keeping each
group's values as one (series x samples) matrix lets a cycle join, difference and window
the whole group with one array operation where it would otherwise make one numpy call per
series (each a microsecond or more of overhead, several per series per stage: most of a
steady cycle at 10,000 series, docs/benchmarks.md). A series' own arrays are views of its
row, so code that reads one series at a time sees nothing different.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


# Room a block's storage keeps for columns to come, past its own: a quarter of its width, so
# that a steady cycle (a few new columns) copies the window once every many cycles.
ROOM_SHARE = 4
MIN_ROOM = 16


@dataclass(eq=False)
class Storage:
    """Where blocks keep their columns: ``end`` columns written so far, room after them."""

    stamps: FloatArray  # (capacity,)
    values: FloatArray  # (rows, capacity)
    end: int


@dataclass(frozen=True, eq=False)
class Block:
    """Rows of series that share ``timestamps``, their raw samples in ``values``: columns
    ``[start, start + width)`` of ``storage``."""

    timestamps: FloatArray
    values: FloatArray  # (rows, timestamps)
    storage: Storage | None = None
    start: int = 0

    def grown(self, drop: int, stamps: FloatArray, rows: Sequence[FloatArray]) -> Block:
        """This block without its first ``drop`` columns, then the columns ``stamps`` (one
        array of ``rows`` per row): written after its last column in place while its storage
        has room there and no other block was grown from it (the arrays handed out before
        are never written), else copied into new storage with room to grow."""
        width = self.timestamps.size
        st, end, more = self.storage, self.start + width, stamps.size
        if st is not None and st.end == end and end + more <= st.stamps.size:
            st.stamps[end : end + more] = stamps
            if more:
                np.stack(rows, out=st.values[:, end : end + more])
            st.end = end + more
            return _view(st, self.start + drop)
        kept = width - drop
        size = kept + more
        capacity = size + max(MIN_ROOM, size // ROOM_SHARE)
        fresh = Storage(np.empty(capacity), np.empty((self.values.shape[0], capacity)), size)
        fresh.stamps[:kept], fresh.stamps[kept:size] = self.timestamps[drop:], stamps
        fresh.values[:, :kept] = self.values[:, drop:]
        if more:  # straight from the answer's arrays: no matrix of them first
            np.stack(rows, out=fresh.values[:, kept:size])
        return _view(fresh, 0)


def _view(storage: Storage, start: int) -> Block:
    """The block of ``storage``'s columns from ``start`` to its end, read-only."""
    stamps = storage.stamps[start : storage.end]
    values = storage.values[:, start : storage.end]
    stamps.setflags(write=False)
    values.setflags(write=False)
    return Block(stamps, values, storage, start)


def stacked(rows: list[FloatArray], width: int) -> FloatArray:
    """The rows (each ``width`` long) as one matrix; an empty list gives no rows."""
    if not rows:
        return np.empty((0, width))
    return np.stack(rows)


def rows_at(rows: IntArray) -> slice | IntArray:
    """An index of ``rows``: a slice when they are consecutive (a view, not a copy: the
    series of one selector usually fill a block in order)."""
    if rows.size and rows[-1] - rows[0] == rows.size - 1 and (np.diff(rows) == 1).all():
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows
