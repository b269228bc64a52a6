"""The stored samples a replay reads, and what a cycle's query would have returned of them.

A live cycle asks Prometheus for each selector's samples with ``start < t <= end`` (whole
milliseconds; ``samplecache`` gives every backend that reading); ``window`` cuts the same
out of the whole history, so a replayed cycle sees exactly what the live one would have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.config.selector import Matcher
from spc_rules.sidecar.query.decode import RawSeries


def matches(labels: Mapping[str, str], names: Sequence[str], matchers: Sequence[Matcher]) -> bool:
    """PromQL's reading of ``{__name__=~"a|b", matchers...}``: an absent label is ""."""
    if labels.get("__name__") not in names:
        return False
    for m in matchers:
        value = labels.get(m.name, "")
        if m.op == "=":
            ok = value == m.value
        elif m.op == "!=":
            ok = value != m.value
        else:
            ok = re.fullmatch(m.value, value) is not None
            ok = ok if m.op == "=~" else not ok
        if not ok:
            return False
    return True


def selected(chart: ChartConfig, stored: Sequence[RawSeries]) -> tuple[list[RawSeries], ...]:
    """A chart's stored series per selector (``fetching.selectors_of``'s order)."""
    p = chart.proportion
    if p is None:
        names = (f"{chart.metric}_sum", f"{chart.metric}_count")
        return ([s for s in stored if matches(s.labels, names, chart.matchers)],)
    return tuple(
        [s for s in stored if matches(s.labels, (c.metric,), c.matchers)]
        for c in (p.numerator, p.denominator)
    )


def window(series: Sequence[RawSeries], start_ms: int, end_ms: int) -> list[RawSeries]:
    """Each series' samples with ``start < t <= end``, without series left empty; series
    that share a timestamp array share its cut (``points.rebuild``'s fast path)."""
    start, end = start_ms / 1000, end_ms / 1000
    cuts: dict[int, tuple[int, int, np.ndarray]] = {}
    out = []
    for s in series:
        got = cuts.get(id(s.timestamps))
        if got is None:
            lo, hi = np.searchsorted(s.timestamps, (start, end), side="right").tolist()
            got = cuts[id(s.timestamps)] = (lo, hi, s.timestamps[lo:hi])
        lo, hi, ts = got
        if hi > lo:
            out.append(RawSeries(s.labels, ts, s.values[lo:hi]))
    return out


@dataclass(frozen=True)
class Span:
    """The first and last sample of a history, Unix seconds."""

    first: float
    last: float

    @classmethod
    def of(cls, series: Sequence[RawSeries]) -> Span:
        filled = [s.timestamps for s in series if s.timestamps.size]
        if not filled:
            return cls(float("nan"), float("nan"))
        return cls(min(float(t[0]) for t in filled), max(float(t[-1]) for t in filled))
