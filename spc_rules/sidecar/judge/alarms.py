"""Alarm episodes per chart series: the calibrated paging detector of docs/paging.md, run by
the sidecar at two severities.

- ``page``: tuned for ``paging.page_shift`` (1.7x; 2 sigmas untransformed) with at most
  ``false_pages_per_week`` false episodes per ``fleet_series`` in-control series;
- ``ticket``: tuned for ``ticket_shift`` (1.2x; 1 sigma) with ``false_tickets_per_day``.

Each new point is standardized against a **reference** (a pinned baseline's center and sigma
where the chart pins one; else) fitted on the series' usable points (``baseline.select``) of
the ``paging.reference`` window just before it (tickets: ``ticket_reference``, ending
``ticket_gap`` earlier). The center is the mean of that window (phase I with refits drops
outliers); the sigma is the long-run sigma of ``paging_scale``. The detector is designed per
series from that sigma, the series' measured point interval and (page) the reference's
points, whose error the design pays for (memoized), and runs only on its bad side. While an
episode is open its reference is frozen, so a lasting shift stays one episode; after
``accept_after`` the episode is accepted as the new normal: it closes, its points become
usable again and the reference refits onto them. References refit every ``REFIT_S``, each
series at its own phase, so every cycle refits a similar share of the series.
p charts page on mid-p scores against a reference share (``attributes``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from spc_rules import BatchLimits
from spc_rules.detectors.paging import Severity
from spc_rules.detectors.paging_run import PagingState, run_paging
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge import attributes
from spc_rules.sidecar.judge.baseline import Exclusions
from spc_rules.sidecar.judge.floor import floored
from spc_rules.sidecar.judge.incremental.designs import designs
from spc_rules.sidecar.judge.judging import BoolArray, newest, per_row
from spc_rules.sidecar.judge.reference import point_intervals, reference
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray, Points
from spc_rules.sidecar.query.windows import Window

SEVERITIES: tuple[Severity, ...] = ("page", "ticket")
CODE = {"page": 0.0, "ticket": 1.0}  # the severity of an episode interval (Exclusions)
# A reference is refitted at most this often: it moves little in a few minutes, and a fit
# (robust sigma, autocorrelation) per series per cycle would dominate a cycle's cost.
REFIT_S = 300.0
CALM_S = 900.0
_GOLDEN = 0.6180339887498949  # (sqrt(5) - 1) / 2: row * this, mod 1, spreads phases evenly


@dataclass(frozen=True)
class AlarmCarry:
    """One severity's state per series, kept between cycles."""

    state: PagingState
    center: FloatArray  # reference on the fitting scale; NaN: none yet
    sigma: FloatArray  # long-run sigma of one observation, fitting scale
    open_since: FloatArray  # timestamp of the point that opened the open episode, or NaN
    fitted_at: FloatArray  # evaluation time of the reference's fit, NaN: never
    calm_at: FloatArray  # newest judged point at which S was 0 (no shift under way), or NaN

    @classmethod
    def fresh(cls, rows: int) -> AlarmCarry:
        nan = np.full(rows, np.nan)
        return cls(PagingState.zeros(rows), nan, nan.copy(), nan.copy(), nan.copy(), nan.copy())


@dataclass(frozen=True)
class Episodes:
    """What one severity's detector found in a cycle's new points, per series."""

    opened: tuple[FloatArray, ...]  # timestamps of the points that opened an episode
    closed: tuple[FloatArray, ...]  # timestamps of the points that closed one
    accepted: BoolArray  # the open episode passed accept_after and was accepted
    statistic: FloatArray  # the detector's S at the newest point (sigma units), NaN: none
    threshold: FloatArray  # its decision line h
    reference: FloatArray  # the reference center on the original scale
    carry: AlarmCarry


def judge_alarms(
    chart: ChartConfig,
    severity: Severity,
    series: Sequence[Points],
    *,
    fresh: Window,
    since: FloatArray,
    upto: FloatArray,
    ready: BoolArray,
    exclusions: Sequence[Exclusions],
    carry: AlarmCarry,
    now: float,
    intervals: FloatArray | None = None,
) -> Episodes:
    """Run one severity over the new points of ``fresh`` (its ``inside`` part), on the rows
    ``ready`` to be judged; a provisional reference reads points up to ``upto``."""
    paging = chart.paging
    gap = paging.ticket_gap if severity == "ticket" else 0.0
    due = ready & ~carry.state.open & ~(now - carry.fitted_at < REFIT_S)  # NaN: never fitted
    center, sigma = carry.center.copy(), carry.sigma.copy()
    fitted_at = carry.fitted_at.copy()
    pinned = chart.baseline.pinned(chart.log)
    if pinned is not None:  # the configured normal is the reference too
        center[:], sigma[:] = pinned
        fitted_at[:], due[:] = now, False
    if due.any():
        idx = np.flatnonzero(due)
        # The reference ends where S was last 0, the CUSUM's estimate of when a shift began
        # (points of a shift under way do not pull it towards the shift), at most CALM_S
        # earlier (a slow rhythm that lifts S would otherwise push it ever further back).
        back = CALM_S * chart.cadence_scale
        end = np.fmax(np.fmin(since[idx], carry.calm_at[idx]), since[idx] - back)
        c, s = reference(
            chart,
            severity,
            [series[i] for i in idx.tolist()],
            end - gap,
            [exclusions[i] for i in idx.tolist()],
            codes=tuple(CODE[s] for s in SEVERITIES[: SEVERITIES.index(severity) + 1]),
            upto=upto[idx],
        )
        got = np.isfinite(c) & np.isfinite(s)
        # Without a fit (too few usable points) a row keeps the reference it had.
        center[idx[got]], sigma[idx[got]], fitted_at[idx[got]] = c[got], s[got], now
        # A first fit is dated back by a share of REFIT_S that differs per row, so the
        # refits that follow are spread over the cycles of REFIT_S, not all due in one
        # cycle as costly as a cold one (with 30 s cycles, a tenth of the series each).
        first = idx[got & np.isnan(carry.fitted_at[idx])]
        fitted_at[first] -= REFIT_S * np.modf(first * _GOLDEN)[0]
    ok = ready & np.isfinite(center) & np.isfinite(sigma) & (sigma > 0)
    if intervals is None:
        intervals = point_intervals(series)
    k, h, clip = designs(chart, severity, intervals, sigma, ok)
    limits = BatchLimits.pinned(
        np.where(ok, center, np.nan), np.where(ok, sigma, 1.0), log=chart.log
    )
    z = attributes.paging_points(chart, limits, fresh)
    if severity == "page":
        z = floored(chart, z, k, sigma, fresh.sizes)
    run = run_paging(z, k, h, clip, bad_side=chart.direction, state=carry.state)
    state, open_since = run.state, carry.open_since.copy()
    opened = per_row(run.opened, fresh.timestamps)
    closed = _closings(run.alarm, ~np.isnan(z), carry.state.open, fresh.timestamps)
    calm = (np.maximum(run.upper, run.lower) == 0.0) & ~np.isnan(z)
    latest_open, latest_calm = newest(run.opened, fresh.timestamps), newest(calm, fresh.timestamps)
    open_since = np.where(np.isnan(latest_open), open_since, latest_open)
    calm_at = np.where(np.isnan(latest_calm), carry.calm_at, latest_calm)
    open_since = np.where(state.open, open_since, np.nan)
    accepted = state.open & (open_since <= now - paging.accept_after)
    if accepted.any():
        state = _reset(state, accepted)
        open_since = np.where(accepted, np.nan, open_since)
        center = np.where(accepted, np.nan, center)  # refit from the new normal next cycle
        fitted_at = np.where(accepted, np.nan, fitted_at)
        calm_at = np.where(accepted, np.nan, calm_at)
    return Episodes(
        opened=opened,
        closed=closed,
        accepted=accepted,
        statistic=np.where(ok, np.maximum(state.upper, state.lower), np.nan),
        threshold=np.where(ok, h, np.nan),
        reference=limits.line(0.0),
        carry=AlarmCarry(state, center, sigma, open_since, fitted_at, calm_at),
    )


def _closings(
    alarm: BoolArray, seen: BoolArray, was_open: BoolArray, stamps: FloatArray
) -> tuple[FloatArray, ...]:
    """Per row, timestamps of the points at which an open episode closed."""
    before = was_open.copy()
    closes = np.zeros_like(alarm)
    for col in range(alarm.shape[1]):
        s = seen[:, col]
        closes[:, col] = s & before & ~alarm[:, col]
        before = np.where(s, alarm[:, col], before)
    return per_row(closes, stamps)


def accept_together(found: Mapping[str, Episodes]) -> dict[str, Episodes]:
    """A level accepted as normal by one severity is normal for all: the others' open
    episodes of those series are accepted with it (else their exclusions would keep the
    new level out of every baseline)."""
    rows = np.logical_or.reduce([e.accepted for e in found.values()])
    out = {}
    for severity, e in found.items():
        more = rows & e.carry.state.open & ~e.accepted
        if not more.any():
            out[severity] = e
            continue
        c = e.carry
        carry = AlarmCarry(
            _reset(c.state, more),
            np.where(more, np.nan, c.center),
            c.sigma,
            np.where(more, np.nan, c.open_since),
            np.where(more, np.nan, c.fitted_at),
            np.where(more, np.nan, c.calm_at),
        )
        out[severity] = dataclasses.replace(e, accepted=e.accepted | more, carry=carry)
    return out


def _reset(state: PagingState, rows: BoolArray) -> PagingState:
    return PagingState(
        np.where(rows, 0.0, state.upper),
        np.where(rows, 0.0, state.lower),
        state.open_upper & ~rows,
        state.open_lower & ~rows,
    )


@dataclass(frozen=True)
class History:
    """Per series, what the baselines and detectors keep from earlier cycles."""

    center: FloatArray  # the last Nelson limits (fitting scale), kept while no fit is possible
    sigma: FloatArray
    exclusions: tuple[Exclusions, ...]
    alarms: Mapping[str, AlarmCarry]
    # A rolling baseline's: when the limits were fitted (NaN: refit next cycle, rolling.py)
    # and on how many points.
    limits_at: FloatArray
    baseline_points: IntArray

    @classmethod
    def fresh(cls, rows: int) -> History:
        nan = np.full(rows, np.nan)
        none = Exclusions()
        return cls(
            nan,
            nan.copy(),
            (none,) * rows,
            {s: AlarmCarry.fresh(rows) for s in SEVERITIES},
            nan.copy(),
            np.zeros(rows, np.int64),
        )
