"""Counting each flagged point once, however many cycles see it.

The evaluation window slides by one interval per cycle, so a flagged point is judged again in
every cycle until it leaves the window. The ledger remembers, per series and signal, the
timestamps it has counted that can still be seen (those inside the current window), and the
newest flagged timestamp ever, which drives ``violation_active`` and the last-timestamp gauge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spc_rules.sidecar.decode import FloatArray
from spc_rules.sidecar.evaluate import ChartResult
from spc_rules.sidecar.points import IntArray, SeriesKey


@dataclass
class _Tally:
    total: int = 0
    last: float = float("nan")
    seen: set[float] = field(default_factory=set)


@dataclass(frozen=True)
class Violations:
    """Per signal, one entry per series of a ChartResult."""

    totals: dict[str, IntArray]
    last: dict[str, FloatArray]  # NaN: never flagged
    active: dict[str, FloatArray]  # 1.0 while the newest flagged point is within `hold`


class ViolationLedger:
    def __init__(self) -> None:
        self._tallies: dict[str, dict[tuple[SeriesKey, str], _Tally]] = {}

    def record(self, result: ChartResult) -> Violations:
        """Count the new flagged points of one evaluation; series absent from it are forgotten."""
        chart = result.chart
        old = self._tallies.get(chart.name, {})
        tallies: dict[tuple[SeriesKey, str], _Tally] = {}
        rows = len(result.keys)
        totals = {s: np.zeros(rows, np.int64) for s in chart.signals}
        last = {s: np.full(rows, np.nan) for s in chart.signals}
        for signal in chart.signals:
            stamps = result.flagged.get(signal, ())
            for row, key in enumerate(result.keys):
                tally = old.get((key, signal)) or _Tally()
                hits = stamps[row] if row < len(stamps) else np.empty(0)
                if hits.size:
                    fresh = set(hits.tolist()) - tally.seen
                    tally.total += len(fresh)
                    tally.seen |= fresh
                    newest = float(hits.max())
                    tally.last = newest if np.isnan(tally.last) else max(tally.last, newest)
                # Points at or before the window start can never be judged again.
                tally.seen = {t for t in tally.seen if t > result.window_start}
                tallies[(key, signal)] = tally
                totals[signal][row] = tally.total
                last[signal][row] = tally.last
        self._tallies[chart.name] = tallies
        since = result.evaluated_at - chart.hold
        active = {s: np.where(last[s] >= since, 1.0, 0.0) for s in chart.signals}
        return Violations(totals, last, active)

    def retain(self, charts: set[str]) -> None:
        """Forget charts that a reload removed."""
        for name in set(self._tallies) - charts:
            del self._tallies[name]
