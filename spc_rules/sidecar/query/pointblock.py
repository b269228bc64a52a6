"""The points of histograms scraped together, as flat arrays shared by their rows.

Histograms whose raw samples are rows of one block (blocks.py) are differenced as two
matrices at once. A row whose every scrape brought observations has a point at every
timestamp, and a block of such rows keeps its points as one (rows x timestamps) matrix.
Rows that skip timestamps (a scrape without observations: a probe slower than the scrape
interval, an idle engine; a restart) keep their points packed one row after another, with
each row's count of points before every timestamp (``ranks``), so a window over many rows
is still found and copied with a handful of array operations (windows.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spc_rules.sidecar.query.blocks import FloatArray, IntArray

RankArray = NDArray[np.int32]


@dataclass(frozen=True, eq=False)
class PointBlock:
    """Row r's points are ``[offsets[r], offsets[r + 1])`` of ``values`` and ``sizes``."""

    columns: FloatArray  # the timestamps that can close a point (all but the first sample's)
    values: FloatArray  # flat, row after row
    sizes: FloatArray  # flat
    offsets: IntArray  # rows + 1
    # Rows that skip columns: each point's timestamp (flat), and per row the count of its
    # points before each column, (rows, columns + 1). None: every row has every column.
    stamps: FloatArray | None = None
    ranks: RankArray | None = None

    def row(self, r: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Row r's timestamps, values and sizes (views)."""
        a, b = int(self.offsets[r]), int(self.offsets[r + 1])
        stamps = self.columns if self.stamps is None else self.stamps[a:b]
        return stamps, self.values[a:b], self.sizes[a:b]

    def positions(self, rows: IntArray, at: FloatArray) -> IntArray:
        """Per row, how many of its points have ``timestamp <= at`` (one per row)."""
        columns = self.columns.searchsorted(at, side="right")
        if self.ranks is None:
            return columns
        return self.ranks[rows, columns].astype(np.intp)


def differenced(
    ts: FloatArray, total: FloatArray, count: FloatArray
) -> list[tuple[PointBlock, IntArray]]:
    """The points of the histograms whose _sum and _count samples at ``ts`` are the rows of
    ``total`` and ``count`` (all finite), as points.rebuild makes them one at a time: one
    block for the rows with a point at every timestamp, one for the others, each with the
    rows (of ``total``) it holds, in order."""
    dn, dsum = count[:, 1:] - count[:, :-1], total[:, 1:] - total[:, :-1]
    columns = ts[1:]
    # A point where Δcount > 0 and Δsum >= 0 (a negative Δsum is a reset, points.py). Whether
    # a row has one everywhere takes two reductions, not (rows x timestamps) masks.
    whole = np.ones(dn.shape[0], bool)
    if columns.size:
        whole = (dn.min(axis=1) > 0) & (dsum.min(axis=1) >= 0)
    out = []
    for rows, dense in ((np.flatnonzero(whole), True), (np.flatnonzero(~whole), False)):
        if rows.size == 0:
            continue
        part: slice | IntArray = slice(None) if rows.size == whole.size else rows
        n, delta = dn[part], dsum[part]
        if dense:
            offsets = np.arange(rows.size + 1) * columns.size
            out.append((PointBlock(columns, (delta / n).ravel(), n.ravel(), offsets), rows))
            continue
        kept = (n > 0) & (delta >= 0)
        offsets = np.concatenate(([0], np.cumsum(kept.sum(axis=1))))
        ranks = np.zeros((rows.size, columns.size + 1), np.int32)
        np.cumsum(kept, axis=1, out=ranks[:, 1:])
        stamps = np.broadcast_to(columns, kept.shape)[kept]
        n = n[kept]
        block = PointBlock(columns, delta[kept] / n, n, offsets, stamps, ranks)
        out.append((block, rows))
    return out
