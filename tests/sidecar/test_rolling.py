"""Rolling-baseline limits refitted on a schedule (judge/incremental/rolling.py,
docs/sidecar.md "Limits between refits"): kept between refits, refitted at least every
``refit_seconds``, at once after an episode changed what the baseline may include, and spread
over the series."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules.sidecar.config.model import ChartConfig, RollingBaseline
from spc_rules.sidecar.judge.alarms import History
from spc_rules.sidecar.judge.evaluate import evaluate
from spc_rules.sidecar.judge.incremental.rolling import (
    MAX_STALE_SHARE,
    refit_seconds,
    rolling_limits,
)
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.query.points import Points, SeriesKey

START = 100_000.0
STEP = 15.0
CYCLE = 30.0
# No rules: no rule-1 point leaves a baseline, so a refit equals a fit without history.
CHART = ChartConfig(
    "c", "m", by=("t",), baseline=RollingBaseline(7200.0), evaluation=3600.0, rules=()
)


def _series(rows: int, end: float, seed: int = 1) -> dict[SeriesKey, Points]:
    """Points every 15 s from START - 4 h up to ``end``, in control: each refit moves the
    limits a little, as the window rolls."""
    rng = np.random.default_rng(seed)
    ts = np.arange(START - 4 * 3600.0, end + 1e-9, STEP)
    out: dict[SeriesKey, Points] = {}
    for row in range(rows):
        values = rng.lognormal(0.0, 0.1, ts.size)
        out[(f"s{row}",)] = Points(ts, values, np.ones(ts.size))
    return out


def _upto(p: Points, now: float) -> Points:
    keep = p.timestamps <= now
    return Points(p.timestamps[keep], p.values[keep], p.sizes[keep])


def test_refits_are_at_most_a_tenth_of_the_window_apart() -> None:
    assert refit_seconds(CHART) == 300.0
    short = ChartConfig("c", "m", baseline=RollingBaseline(1200.0))
    assert refit_seconds(short) == pytest.approx(MAX_STALE_SHARE * 1200.0)


def test_limits_are_kept_between_refits_and_refitted_on_schedule() -> None:
    end = START + 20 * CYCLE
    points = _series(40, end)
    ledger = ViolationLedger(counted_after=0.0)
    centers, fresh_centers = [], []
    for i in range(21):
        now = START + i * CYCLE
        live = {k: _upto(p, now) for k, p in points.items()}
        result, _ = ledger.judge(CHART, live, now)
        centers.append(result.center)
        fresh_centers.append(evaluate(CHART, live, now).center)  # no history: fitted now
    centers_a, fresh = np.array(centers), np.array(fresh_centers)
    assert np.array_equal(centers_a[0], fresh[0])  # the first cycle fits every series
    refitted = centers_a[1:] == fresh[1:]
    kept = centers_a[1:] == centers_a[:-1]
    # Each cycle either refits a series (the limits of its current window) or keeps them.
    assert np.all(refitted | kept)
    # About a tenth of the series per 30 s cycle (spread phases), never all at once.
    per_cycle = refitted.sum(axis=1)
    assert per_cycle.max() < 40
    # Every series is refitted within refit_seconds + one cycle of its previous fit.
    gap = int((refit_seconds(CHART) + CYCLE) / CYCLE)
    for row in range(40):
        cycles = np.flatnonzero(refitted[:, row])
        marks = np.concatenate(([-1], cycles, [20]))
        assert np.diff(marks).max() <= gap, row
    assert not np.all(kept)


def test_an_episode_or_no_limits_refits_at_once() -> None:
    now = START
    points = list(_series(3, now).values())
    history = History.fresh(3)
    history = History(
        np.array([5.0, 5.0, np.nan]),
        np.array([0.1, 0.1, np.nan]),
        history.exclusions,
        history.alarms,
        np.array([now - 10.0, -np.inf, now - 10.0]),  # kept; an episode changed; no limits
        np.array([480, 480, 0]),
    )
    rolled = rolling_limits(CHART, points, now - CHART.evaluation, now, history)
    assert rolled.limits.center[0] == 5.0  # kept: fitted 10 s ago
    assert rolled.baseline_points[0] == 480
    assert rolled.fitted_at[0] == now - 10.0
    assert rolled.limits.center[1] != 5.0  # refitted
    assert np.isfinite(rolled.limits.center[2])
    # Dated within the last period: its next refit is on schedule.
    assert now - refit_seconds(CHART) <= rolled.fitted_at[1] <= now
    assert rolled.baseline_points[1] == rolled.baseline_points[2] > 0
