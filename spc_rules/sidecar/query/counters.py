"""p chart points from two counters' raw samples: the share of numerator increments among
denominator increments, pooled into subgroups of whole ``subgroup`` periods.

Per stored counter series, the increment between two consecutive scrapes is counted at the
later scrape's timestamp. A falling counter is a reset (the process restarted), handled as
for histograms (``points.rebuild``): that difference is no increment, and the next scrape
differences against the post-reset value. Samples that are not finite are skipped.

A chart series (its ``by`` values) sums the increments of all its stored series into
subgroups (end - subgroup, end] whose ends are multiples of ``subgroup`` since the epoch, so
a cycle that fetched everything and one that used the cache cut the same subgroups. One
point per subgroup, stamped with its end: the share events / n of its increments, size n.

- A subgroup is complete, and becomes a point, only when the chart series has a sample at
  or before its start and one at or after its end: a partial subgroup at either edge of what
  was read would be judged once with the wrong n (phase II judges a point once).
- n = 0 (no trials) is no point.
- events > n (a numerator that is not a subset of its denominator, or counters scraped from
  different places) is a malformed point: no point, and ``report`` hears of the series' newest
  one (and how many it has) each time the points are rebuilt.

Pooling is what makes a p chart work: at one probe a point, even a tenfold error rate takes
about 63,000 points to page (docs/spc.md, "Paging on p-charts"); a 5 minute subgroup of 15 s
probes holds 20 trials.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.query.decode import FloatArray, RawSeries
from spc_rules.sidecar.query.points import Points, SeriesKey, chart_points

# (chart series, malformed points, and the newest one's subgroup end, events and trials).
Report = Callable[[SeriesKey, int, float, float, float], None]


@dataclass
class _Increments:
    """One chart series' increments per role, and the span of its samples."""

    stamps: dict[str, list[FloatArray]] = field(default_factory=lambda: defaultdict(list))
    deltas: dict[str, list[FloatArray]] = field(default_factory=lambda: defaultdict(list))
    first: float = float("inf")
    last: float = float("-inf")


def points_of(
    chart: ChartConfig, parts: Sequence[list[RawSeries]], report: Report | None = None
) -> dict[SeriesKey, Points]:
    """The points of every chart series from the raw series of ``fetching.selectors_of``."""
    if chart.proportion is None:
        return chart_points(parts[0], chart.metric, chart.by)
    numerator, denominator = parts
    return counter_points(numerator, denominator, chart.by, chart.proportion.subgroup, report)


def increments(timestamps: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each scrape's increment over the one before (resets and non-finite samples skipped)."""
    finite = np.isfinite(values) & np.isfinite(timestamps)
    ts, v = timestamps[finite], values[finite]
    delta = np.diff(v)
    keep = delta >= 0
    return ts[1:][keep], delta[keep]


def counter_points(
    numerator: Iterable[RawSeries],
    denominator: Iterable[RawSeries],
    by: Sequence[str],
    subgroup: float,
    report: Report | None = None,
) -> dict[SeriesKey, Points]:
    """Points of every chart series: numerator share of the denominator per subgroup."""
    grouped: dict[SeriesKey, _Increments] = defaultdict(_Increments)
    for role, series in (("events", numerator), ("trials", denominator)):
        for s in series:
            key = tuple(s.labels.get(label, "") for label in by)
            got = grouped[key]
            if s.timestamps.size:
                got.first = min(got.first, float(s.timestamps[0]))
                got.last = max(got.last, float(s.timestamps[-1]))
            ts, delta = increments(s.timestamps, s.values)
            got.stamps[role].append(ts)
            got.deltas[role].append(delta)
    step_ms = round(subgroup * 1000)
    out: dict[SeriesKey, Points] = {}
    for key, inc in sorted(grouped.items()):
        out[key] = _pooled(key, inc, step_ms, report)
    return out


def _pooled(key: SeriesKey, inc: _Increments, step_ms: int, report: Report | None) -> Points:
    """One chart series' complete subgroups as points."""
    sums = {role: _per_subgroup(inc, role, step_ms) for role in ("events", "trials")}
    ends = np.union1d(list(sums["events"]), list(sums["trials"])).astype(np.int64)
    # Complete: a sample at or before the subgroup's start, and one at or after its end.
    first_ms, last_ms = inc.first * 1000, inc.last * 1000
    ends = ends[(ends - step_ms >= first_ms - 0.5) & (ends <= last_ms + 0.5)]
    events = np.array([sums["events"].get(int(e), 0.0) for e in ends], dtype=np.float64)
    trials = np.array([sums["trials"].get(int(e), 0.0) for e in ends], dtype=np.float64)
    stamps = ends / 1000.0
    bad = events > trials
    if report is not None and bad.any():
        i = int(np.flatnonzero(bad)[-1])
        count = int(np.count_nonzero(bad))
        report(key, count, float(stamps[i]), float(events[i]), float(trials[i]))
    keep = (trials > 0) & ~bad
    n = trials[keep]
    last = inc.last if np.isfinite(inc.last) else float("nan")
    return Points(stamps[keep], events[keep] / n, n, last)


def _per_subgroup(inc: _Increments, role: str, step_ms: int) -> dict[int, float]:
    """Sum of ``role``'s increments per subgroup, keyed by the subgroup's end (ms)."""
    if not inc.stamps[role]:
        return {}
    ts = np.concatenate(inc.stamps[role])
    delta = np.concatenate(inc.deltas[role])
    ms = np.round(ts * 1000).astype(np.int64)
    ends = -(-ms // step_ms) * step_ms  # the subgroup (end - step, end] holding the scrape
    unique, where = np.unique(ends, return_inverse=True)
    totals = np.zeros(unique.size)
    np.add.at(totals, where, delta)
    return dict(zip(unique.tolist(), totals.tolist(), strict=True))
