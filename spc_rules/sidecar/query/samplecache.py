"""The raw samples of each window selector, kept between cycles so a cycle asks only for news.

A chart's window fetch reaches back over its rolling baseline (hours), yet a 30 s cycle brings
about two new samples per series. The cache holds, per selector, every raw sample from the
earliest start any chart of that selector needs up to the time of the last query, and a
later cycle asks only for ``[previous end - overlap, now]``: one query when that is shorter
than ``max_range``. The ``overlap`` (a global setting) picks up samples stored after the previous
query with an older timestamp (a scrape committed late, VictoriaMetrics' search latency).

Joining follows ``points.stitch``: the newest answer is a piece that starts at its query's
start (the cut); the cache keeps what it held up to the cut, the sample at the cut once, and
takes everything after the cut from the new answer, so no difference between two scrapes is
lost or doubled at the seam. A series absent from the new answer keeps its samples up to the
cut, which age out with the window. Samples older than the needed start are dropped each
cycle, so memory is bounded by the needed range: per selector, one float64 per stored sample
plus the timestamps, which series scraped together share (a histogram's ``_sum`` and
``_count``, every series of one scrape).

Ranges are whole unix milliseconds, and a chart reads the samples of ``start < t <= end``, as
Prometheus 3 and VictoriaMetrics read a range selector. Prometheus 2 also returns a sample
lying exactly at the start; it is dropped, so that the cache (which may hold such a sample
from an earlier query) and every backend give the same points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from spc_rules.sidecar.query.blocks import Block, IntArray, rows_at, stacked
from spc_rules.sidecar.query.decode import FloatArray, LabelKey, RawSeries, key_of

# Timestamp arrays already built this call, keyed by the source arrays' ids and the bounds
# taken from them: series scraped together keep sharing one array.
_Memo = dict[tuple[int, ...], FloatArray]
_Bounds = tuple[tuple[int, int], tuple[int, int]]  # (lo, hi) in the old and the new series


@dataclass(frozen=True)
class Held:
    """Every sample of one selector with ``start_ms < t <= end_ms``, by label set."""

    start_ms: int
    end_ms: int
    series: Mapping[LabelKey, RawSeries]

    def nbytes(self) -> int:
        """Memory of the held arrays, each shared array (and a view's base) counted once."""
        arrays = {}
        for s in self.series.values():
            for a in (s.timestamps, s.values):
                base = a.base if isinstance(a.base, np.ndarray) else a
                arrays[id(base)] = base.nbytes
        return sum(arrays.values())


def query_range(held: Held | None, start_ms: int, end_ms: int, overlap_ms: int) -> int:
    """Where this cycle's query must start: only ``overlap`` before the end of a cache that
    still covers ``start_ms``, else (no cache, a longer window, a clock that went back, a
    cache older than the window) at ``start_ms``: everything again."""
    if held is None or held.start_ms > start_ms or held.end_ms > end_ms:
        return start_ms
    return max(held.end_ms - overlap_ms, start_ms)


def label_key(series: RawSeries) -> LabelKey:
    return key_of(series)


def update(
    held: Held | None, fetched: Iterable[RawSeries], cut_ms: int, start_ms: int, end_ms: int
) -> Held:
    """The cache after a query over ``[cut_ms, end_ms]`` answered ``fetched`` (stitched, one
    series per label set), trimmed to ``(start_ms, end_ms]``. With ``cut_ms <= start_ms``
    the answer replaces the cache.

    Series held in one block whose answers share one timestamp array (scraped together)
    are joined as one matrix, and held as its rows (blocks.py)."""
    old = held.series if held is not None and cut_ms > start_ms else {}
    new = {label_key(s): s for s in fetched}
    cut, start, end = cut_ms / 1000, start_ms / 1000, end_ms / 1000
    joined: dict[LabelKey, RawSeries] = {}
    together: dict[tuple[int, int], list[LabelKey]] = defaultdict(list)
    ordered = _ordered(old, new)
    for key in ordered:  # held series are rows of blocks: only ``update`` makes a Held
        was, got = old.get(key), new.get(key)
        together[(id(was.block) if was else 0, id(got.timestamps) if got else 0)].append(key)
    for keys in together.values():
        joined.update(_join_rows(keys, old, new, cut=cut, start=start, end=end))
    return Held(start_ms, end_ms, {k: joined[k] for k in ordered if k in joined})


def _join_rows(
    keys: list[LabelKey],
    old: Mapping[LabelKey, RawSeries],
    new: Mapping[LabelKey, RawSeries],
    *,
    cut: float,
    start: float,
    end: float,
) -> dict[LabelKey, RawSeries]:
    """Series that are rows of one held block (or new) and whose answers share one
    timestamp array: each one's held samples after ``start`` up to the cut, then its
    answer's after the cut (and at it, when the block has no sample there), up to ``end``;
    the same bounds for all, one block for the result."""
    was, got = old.get(keys[0]), new.get(keys[0])
    (alo, ahi), (blo, bhi) = _bounds(was, got, cut=cut, start=start, end=end)
    if (was is None or ahi <= alo) and (got is None or bhi <= blo):
        return {}
    if was is not None and ahi > alo:
        assert was.block is not None
        rows = rows_at(np.fromiter((old[k].row for k in keys), np.intp, len(keys)))
        base = was.block
    else:  # nothing held: a block of no columns, grown by the answer
        alo = ahi = 0
        rows = slice(0, len(keys))
        base = Block(np.empty(0), np.empty((len(keys), 0)))
    stamps, answered = np.empty(0), []
    if got is not None and bhi > blo:
        stamps = got.timestamps[blo:bhi]
        answered = [new[k].values[blo:bhi] for k in keys]
    # Usually the answer repeats the held samples after the cut exactly, and the block
    # grows by the rest (in place, blocks.py); otherwise its part up to the cut is copied.
    repeated = _repeated(base, rows, ahi, stamps, answered)
    if repeated is not None:
        block = base.grown(alo, stamps[repeated:], [a[repeated:] for a in answered])
    else:
        part = base.values[rows, alo:ahi]
        block = Block(base.timestamps[alo:ahi], part).grown(0, stamps, answered)
    out = {}
    for row, key in enumerate(keys):
        source = new.get(key) or old[key]
        out[key] = RawSeries(source.labels, block.timestamps, block.values[row], key, block, row)
    return out


def _repeated(
    block: Block,
    rows: slice | IntArray,
    cut: int,
    stamps: FloatArray,
    answered: list[FloatArray],
) -> int | None:
    """How many of the answer's columns repeat the block's columns from ``cut`` on, when the
    answer's rows are all of the block's rows in order and it repeats every one of them
    exactly; else None."""
    held = block.timestamps.size - cut
    every = isinstance(rows, slice) and rows == slice(0, block.values.shape[0])
    if not every or stamps.size < held:
        return None
    if held == 0:  # nothing after the cut: the answer only adds (or is absent)
        return 0
    if not np.array_equal(stamps[:held], block.timestamps[cut:]):
        return None
    again = stacked([a[:held] for a in answered], held)
    if not np.array_equal(again, block.values[:, cut:], equal_nan=True):
        return None
    return held


def _ordered(
    old: Mapping[LabelKey, RawSeries], new: Mapping[LabelKey, RawSeries]
) -> list[LabelKey]:
    """Every label set of both, sorted; ``old`` already is, and usually holds all of them
    (sorting 10,000 label sets again each cycle cost more than the rest of the update)."""
    if not old:
        return sorted(new)
    if all(k in old for k in new):
        return list(old)
    return sorted(old.keys() | new.keys())


def since(held: Held, start_ms: int) -> list[RawSeries]:
    """The held series after ``start_ms`` (for a chart that needs less than the selector's
    longest window), in label order, without series left empty."""
    if start_ms <= held.start_ms:
        return list(held.series.values())
    start = start_ms / 1000
    memo: _Memo = {}
    firsts: dict[int, int] = {}  # by timestamp array
    blocks: dict[int, Block] = {}  # the part of each block after the start
    out = []
    for s in held.series.values():
        lo = firsts.get(id(s.timestamps))
        if lo is None:
            lo = firsts[id(s.timestamps)] = int(np.searchsorted(s.timestamps, start, "right"))
        if lo >= s.timestamps.size:
            continue
        ts = _slice(s.timestamps, lo, s.timestamps.size, memo)
        block = None
        if s.block is not None:
            block = blocks.get(id(s.block))
            if block is None:
                block = blocks[id(s.block)] = Block(ts, s.block.values[:, lo:])
        out.append(RawSeries(s.labels, ts, s.values[lo:], s.key, block, s.row))
    return out


def _bounds(
    old: RawSeries | None, new: RawSeries | None, *, cut: float, start: float, end: float
) -> _Bounds:
    """(lo, hi) of the samples taken from ``old`` and from ``new``; (0, 0): none."""
    old_part, new_part, seam_held = (0, 0), (0, 0), False
    if old is not None:
        lo = int(np.searchsorted(old.timestamps, start, side="right"))
        hi = int(np.searchsorted(old.timestamps, cut, side="left"))
        seam_held = hi < old.timestamps.size and old.timestamps[hi] == cut
        old_part = (lo, hi + int(seam_held))
    if new is not None:
        after = seam_held or cut <= start
        lo = int(
            np.searchsorted(new.timestamps, max(cut, start), side="right" if after else "left")
        )
        new_part = (lo, int(np.searchsorted(new.timestamps, end, side="right")))
    return old_part, new_part


def _slice(ts: FloatArray, lo: int, hi: int, memo: _Memo) -> FloatArray:
    """``ts[lo:hi]``, one view per source array and bounds."""
    if lo == 0 and hi == ts.size:
        return ts
    key = (id(ts), lo, hi)
    got = memo.get(key)
    if got is None:
        got = memo[key] = ts[lo:hi]
    return got
