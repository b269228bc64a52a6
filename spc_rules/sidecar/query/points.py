"""Rebuilding SPC points from a histogram's raw ``_sum`` and ``_count`` samples.

The contract is in docs/architecture.md.

Between two consecutive scrapes of one series, ``n = Δcount`` observations arrived with total
``Δsum``:

- ``n == 1``: ``Δsum`` is that observation (an individuals point);
- ``n > 1``: a subgroup of size n with mean ``Δsum / n`` (an X-bar point);
- ``n == 0``: no point;
- ``n < 0`` or ``Δsum < 0``: the counters were reset (the process restarted): no point, and
  the next scrape differences against the post-reset values, so counting starts again. A
  falling ``_sum`` reveals a restart that brought more observations than before it (the count
  grew): every histogram LLMscope judges observes values >= 0 (durations, token counts,
  rates), whose ``_sum`` never falls, even in float arithmetic. A histogram of negative
  values would lose its points with a negative Δsum.

A scrape missed in between (a gap) changes nothing: the next difference still holds exactly
the observations that arrived meanwhile. Samples that are not finite are skipped, and a sample
of ``_sum`` without its ``_count`` at the same timestamp (or the other way) is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spc_rules.sidecar.query.blocks import rows_at
from spc_rules.sidecar.query.decode import FloatArray, LabelKey, RawSeries, key_of
from spc_rules.sidecar.query.memo import Memo
from spc_rules.sidecar.query.pointblock import PointBlock, differenced

IntArray = NDArray[np.int64]
SeriesKey = tuple[str, ...]


@dataclass(frozen=True)
class Points:
    """The points of one chart series, in time order."""

    timestamps: FloatArray  # of the scrape that closed each point
    values: FloatArray  # Δsum / Δcount
    sizes: FloatArray  # Δcount: 1 for an individual, n for a subgroup
    # The newest raw sample, point or not: a series still scraped is alive without new points.
    last_sample: float = float("nan")
    # The block whose row ``row`` holds these points, shared with the series scraped
    # together (pointblock.py); None: on their own.
    block: PointBlock | None = field(default=None, compare=False)
    row: int = field(default=0, compare=False)


EMPTY = Points(np.empty(0), np.empty(0), np.empty(0))


def rebuild(
    sum_ts: FloatArray, sum_values: FloatArray, count_ts: FloatArray, count_values: FloatArray
) -> Points:
    """Points of one histogram series from its sorted, de-duplicated _sum and _count samples."""
    # The usual case: both come from the same scrapes (and share one array, see stitch).
    if sum_ts is count_ts or np.array_equal(sum_ts, count_ts):
        ts, total, count = sum_ts, sum_values, count_values
    else:
        ts, at_sum, at_count = np.intersect1d(
            sum_ts, count_ts, assume_unique=True, return_indices=True
        )
        total, count = sum_values[at_sum], count_values[at_count]
    # A sum of the samples is finite exactly when all are (up to an overflow, which then
    # takes the exact path): two reductions instead of two masks, per series per cycle.
    if not np.isfinite(total.sum() + count.sum()):
        finite = np.isfinite(total) & np.isfinite(count)
        ts, total, count = ts[finite], total[finite], count[finite]
    dn, dsum = count[1:] - count[:-1], total[1:] - total[:-1]
    last = float(ts[-1]) if ts.size else float("nan")
    keep = (dn > 0) & (dsum >= 0)  # a negative Δsum is a reset too (see the module docstring)
    if keep.all():  # every scrape brought observations: no copies
        return Points(ts[1:], dsum / dn, dn, last)
    n = dn[keep]
    return Points(ts[1:][keep], dsum[keep] / n, n, last)


def merge(parts: Sequence[Points]) -> Points:
    """Points of several stored series that share a chart series, in time order."""
    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([p.timestamps for p in parts])
    order = np.argsort(ts, kind="stable")
    return Points(
        ts[order],
        np.concatenate([p.values for p in parts])[order],
        np.concatenate([p.sizes for p in parts])[order],
        float(np.fmax.reduce([p.last_sample for p in parts])),
    )


def stitch(series: Iterable[RawSeries]) -> list[RawSeries]:
    """One series per label set from the pieces of a window, sorted, each timestamp once.

    Series whose pieces share their timestamp arrays (a histogram's _sum and _count, all
    series of one scrape: ``decode`` parses each list once) share the joined array too."""
    grouped: dict[tuple[tuple[str, str], ...], list[RawSeries]] = defaultdict(list)
    for s in series:
        grouped[key_of(s)].append(s)
    joins: dict[tuple[int, ...], tuple[FloatArray, IntArray | None]] = {}
    return [_joined(parts, joins) for parts in grouped.values()]


def _joined(
    parts: list[RawSeries], joins: dict[tuple[int, ...], tuple[FloatArray, IntArray | None]]
) -> RawSeries:
    """The pieces of one series in time order; ``joins`` maps the ids of the pieces'
    timestamp arrays to the joined timestamps and the samples kept (None: all)."""
    if len(parts) == 1:  # one answer: only the order to check, the series itself usually
        one = parts[0]
        ts, keep = _ordered_stamps([one.timestamps], joins)
        return one if keep is None else RawSeries(one.labels, ts, one.values[keep], one.key)
    parts = sorted(parts, key=lambda p: p.timestamps[0] if p.timestamps.size else 0.0)
    ts, keep = _ordered_stamps([p.timestamps for p in parts], joins)
    values = np.concatenate([p.values for p in parts])
    return RawSeries(parts[0].labels, ts, values if keep is None else values[keep], parts[0].key)


def _ordered_stamps(
    pieces: list[FloatArray], joins: dict[tuple[int, ...], tuple[FloatArray, IntArray | None]]
) -> tuple[FloatArray, IntArray | None]:
    """The pieces' timestamps end to end, each once, and which samples that keeps (None:
    all), worked out once per pieces."""
    key = tuple(id(ts) for ts in pieces)
    known = joins.get(key)
    if known is None:
        ts = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
        step = np.diff(ts)
        keep: IntArray | None = None
        if not np.all(step > 0):
            if np.all(step >= 0):  # adjacent pieces share their seam sample
                keep = np.flatnonzero(np.concatenate(([True], step > 0)))
            else:
                keep = np.unique(ts, return_index=True)[1]
            ts = ts[keep]
        if len(pieces) > 1 or keep is not None:
            ts.setflags(write=False)
        known = joins[key] = (ts, keep)
    return known


# A series' label pairs without ``__name__``, and its chart key per ``by``, by its label
# pairs: deriving both again cost a tenth of a steady cycle's decode at 10,000 series.
_IDENTITIES: Memo[LabelKey, LabelKey] = Memo()
_CHART_KEYS: Memo[tuple[LabelKey, tuple[str, ...]], SeriesKey] = Memo()


def _identity(key: LabelKey) -> LabelKey:
    got = _IDENTITIES.get(key)
    if got is None:
        got = _IDENTITIES.keep(key, tuple(kv for kv in key if kv[0] != "__name__"))  # sorted
    return got


def _chart_key(identity: LabelKey, by: tuple[str, ...]) -> SeriesKey:
    got = _CHART_KEYS.get((identity, by))
    if got is None:
        labels = dict(identity)
        got = _CHART_KEYS.keep((identity, by), tuple(labels.get(label, "") for label in by))
    return got


def chart_points(
    series: Iterable[RawSeries], metric: str, by: Sequence[str]
) -> dict[SeriesKey, Points]:
    """Points of every chart series (keyed by the values of the ``by`` labels, "" if absent).

    ``series`` are the stitched ``metric_sum`` and ``metric_count`` series of a window.
    """
    sums: dict[LabelKey, RawSeries] = {}
    counts: dict[LabelKey, RawSeries] = {}
    sum_name, count_name = f"{metric}_sum", f"{metric}_count"
    for s in series:
        name = s.labels.get("__name__")
        if name == sum_name:
            sums[_identity(key_of(s))] = s
        elif name == count_name:
            counts[_identity(key_of(s))] = s
    grouped: dict[SeriesKey, list[Points]] = defaultdict(list)
    together: dict[tuple[int, int], list[tuple[SeriesKey, RawSeries, RawSeries]]]
    together = defaultdict(list)
    by = tuple(by)
    for identity, total in sums.items():
        count = counts.get(identity)
        if count is None:
            continue
        key = _chart_key(identity, by)
        if (
            total.block is not None
            and count.block is not None
            and total.timestamps is count.timestamps
        ):
            together[(id(total.block), id(count.block))].append((key, total, count))
        else:
            grouped[key].append(
                rebuild(total.timestamps, total.values, count.timestamps, count.values)
            )
    for members in together.values():
        for key, p in _rebuilt_rows(members):
            grouped[key].append(p)
    return {key: merge(parts) for key, parts in sorted(grouped.items())}


def _rebuilt_rows(
    members: list[tuple[SeriesKey, RawSeries, RawSeries]],
) -> list[tuple[SeriesKey, Points]]:
    """``rebuild`` of histograms whose _sum and _count are rows of two blocks at the same
    timestamps, as matrices (pointblock.py)."""
    ts = members[0][1].timestamps
    sum_block, count_block = members[0][1].block, members[0][2].block
    assert sum_block is not None
    assert count_block is not None
    total = sum_block.values[rows_at(np.fromiter((m[1].row for m in members), np.intp))]
    count = count_block.values[rows_at(np.fromiter((m[2].row for m in members), np.intp))]
    if not np.isfinite(total.sum() + count.sum()):  # rare: every row on its own
        return [(k, rebuild(ts, t.values, ts, c.values)) for k, t, c in members]
    last = float(ts[-1]) if ts.size else float("nan")
    out = []
    for block, rows in differenced(ts, total, count):
        for i, r in enumerate(rows.tolist()):
            out.append((members[r][0], Points(*block.row(i), last, block, i)))
    return out
