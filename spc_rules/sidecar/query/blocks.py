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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class Block:
    """Rows of series that share ``timestamps``: raw samples (``values``), or points with
    their subgroup sizes (``sizes``)."""

    timestamps: FloatArray
    values: FloatArray  # (rows, timestamps)
    sizes: FloatArray | None = None  # (rows, timestamps), for points


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
