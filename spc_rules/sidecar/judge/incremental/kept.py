"""The columns the flag ledger keeps per chart (``ledger.py``), and reading them for a
cycle's series: one row per series, so a cycle reads and writes them with a few array
operations, not a Python loop per series (at 10,000 series the loops cost a second per
cycle, docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spc_rules.detectors.paging_run import PagingState
from spc_rules.sidecar.judge.alarms import SEVERITIES, AlarmCarry
from spc_rules.sidecar.judge.baseline import Exclusions
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray, SeriesKey

Array = NDArray[Any]


@dataclass(frozen=True)
class Kept:
    """What one chart's series keep, one row per series (``keys``)."""

    keys: tuple[SeriesKey, ...]
    judged_until: FloatArray
    states: dict[str, FloatArray]  # per detector: (series, state_size)
    totals: dict[str, IntArray]  # per signal: counted flagged points
    last: dict[str, FloatArray]  # per signal: the newest flagged timestamp, NaN: never
    center: FloatArray  # kept Nelson limits (fitting scale)
    sigma: FloatArray
    limits_at: FloatArray  # their fit's time (rolling.py)
    baseline_points: IntArray
    exclusions: tuple[Exclusions, ...]
    alarm: dict[str, AlarmCarry]  # per severity
    episodes: dict[str, IntArray]  # per severity, counted like ``totals``
    started: dict[str, FloatArray]  # newest episode's first point
    accepted: dict[str, IntArray]
    accepted_at: dict[str, FloatArray]  # evaluation time

    def rows(self, keys: Sequence[SeriesKey]) -> IntArray | None:
        """Where each of ``keys`` is kept (-1: not kept); None when ``keys`` are the kept
        ones in the same order (the usual cycle)."""
        if tuple(keys) == self.keys:
            return None
        index = {k: i for i, k in enumerate(self.keys)}
        return np.array([index.get(k, -1) for k in keys], np.int64)


def take(column: Array, rows: IntArray | None, fill: object) -> Array:
    """``column`` reindexed to ``rows`` (None: unchanged), ``fill`` where a row is -1."""
    if rows is None:
        return column
    if not column.shape[0]:
        return np.full((rows.size, *column.shape[1:]), fill, column.dtype)
    got = column[np.maximum(rows, 0)]
    got[rows < 0] = fill
    return got


def take_alarm(carry: AlarmCarry, rows: IntArray | None) -> AlarmCarry:
    if rows is None:
        return carry
    st = carry.state
    nan = np.nan
    return AlarmCarry(
        PagingState(
            take(st.upper, rows, 0.0),
            take(st.lower, rows, 0.0),
            take(st.open_upper, rows, False),
            take(st.open_lower, rows, False),
        ),
        take(carry.center, rows, nan),
        take(carry.sigma, rows, nan),
        take(carry.open_since, rows, nan),
        take(carry.fitted_at, rows, nan),
        take(carry.calm_at, rows, nan),
    )


def count_after(hits: Sequence[FloatArray], rows: int, after: float) -> tuple[IntArray, FloatArray]:
    """Per row: how many of its ``hits`` are after ``after``, and the newest (NaN: none).
    Rows past ``len(hits)`` have none."""
    count, newest = np.zeros(rows, np.int64), np.full(rows, np.nan)
    sizes = np.fromiter((a.size for a in hits), np.int64, len(hits))
    for row in np.flatnonzero(sizes).tolist():
        a = hits[row]
        count[row] = np.count_nonzero(a > after)
        newest[row] = a.max()
    return count, newest


class AlarmCounts:
    """Per severity, the alarm counts of one result's series (zero where a result has no
    such severity: what is published; the kept counts go on)."""

    def __init__(self, rows: int) -> None:
        self.episodes: dict[str, IntArray] = {s: np.zeros(rows, np.int64) for s in SEVERITIES}
        self.started: dict[str, FloatArray] = {s: np.full(rows, np.nan) for s in SEVERITIES}
        self.accepted: dict[str, IntArray] = {s: np.zeros(rows, np.int64) for s in SEVERITIES}
        self.accepted_at: dict[str, FloatArray] = {s: np.full(rows, np.nan) for s in SEVERITIES}

    def set(
        self,
        severity: str,
        episodes: IntArray,
        started: FloatArray,
        accepted: IntArray,
        accepted_at: FloatArray,
    ) -> None:
        self.episodes[severity], self.started[severity] = episodes, started
        self.accepted[severity], self.accepted_at[severity] = accepted, accepted_at
