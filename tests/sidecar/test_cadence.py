"""Sparse cadences (issue 22, point 7): a chart whose points come every 5 minutes or every
hour gets limits and pages a 3x step within a few points with the default settings, as the
live cycle runs it (windows and fetch span from the previous cycle's cadence)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.config.model import PagingConfig
from spc_rules.sidecar.config.windows import fetch_span
from spc_rules.sidecar.judge.cadence import effective_chart, scale_for
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.progress import ChartProgress
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.points import Points
from spc_rules.sidecar.shard import Shard
from spc_rules.sidecar.stages import Stages
from tests.sidecar.test_alarms import CHART, T0, _points


def _live(
    values: np.ndarray, step: float, every: int
) -> tuple[list[np.ndarray], list[bool], ViolationLedger]:
    """A cycle 1 s after every ``every``-th point, judging what its chart's fetch returns."""
    points = _points(values, step)
    ledger = ViolationLedger(counted_after=T0)
    rows = values.shape[0]
    opened: list[list[float]] = [[] for _ in range(rows)]
    limits = []
    for now in (T0 + step * np.arange(0, values.shape[1], every) + 1.0).tolist():
        chart = ledger.effective(CHART)
        first = now - fetch_span(chart)
        visible = {k: _since(p, first, now) for k, p in points.items()}
        result, _ = ledger.judge(chart, visible, now)
        limits.append(bool(result.limits_ok.all()))
        for row in range(rows):
            opened[row] += result.alarms["page"].opened[row].tolist()
    return [np.array(o) for o in opened], limits, ledger


def _since(p: Points, first: float, now: float) -> Points:
    keep = (p.timestamps > first) & (p.timestamps <= now)
    return Points(p.timestamps[keep], p.values[keep], p.sizes[keep], now)


def _a_3x_step_pages_within(
    step: float, count: int, at: int, within: int, scale: int, every: int = 1
) -> None:
    rng = np.random.default_rng(int(step))
    values = rng.lognormal(0.0, 0.25, (4, count))
    values[:, at:] *= 3.0
    opened, limits, ledger = _live(values, step, every)
    assert limits.index(True) * every <= 25  # limits after min_points (a steady stretch)
    assert ledger.effective(CHART).cadence_scale == scale
    step_time = T0 + step * at
    for row in range(4):
        assert opened[row].size == 1  # nothing before the step
        assert step_time <= opened[row][0] <= step_time + step * (within - 1)


def test_hourly_points_over_3_days_page_a_3x_step_within_3_points() -> None:
    _a_3x_step_pages_within(3600.0, 72, 60, 3, 64)


@pytest.mark.slow
def test_5_minute_points_page_a_3x_step_within_4_points() -> None:
    _a_3x_step_pages_within(300.0, 3 * 288, 800, 4, 4, every=6)


def test_the_scale_is_a_power_of_two_that_a_wobbling_cadence_does_not_move() -> None:
    assert [scale_for(CHART, c) for c in (15.0, 60.0, 120.0, 300.0, 3600.0)] == [1, 1, 2, 4, 64]
    # Up as soon as the reference would hold fewer than 40 points; down only at a quarter.
    assert scale_for(CHART, 91.0, 1) == 2 and scale_for(CHART, 89.0, 2) == 2
    assert scale_for(CHART, 50.0, 2) == 2 and scale_for(CHART, 40.0, 2) == 1
    # 15 s points: the chart as configured, the very same object.
    assert effective_chart(CHART, 15.0) is CHART
    hourly = effective_chart(CHART, 3600.0)
    paging = hourly.paging
    assert (hourly.evaluation, hourly.baseline.rolling_window) == (64 * 3600.0, 64 * 6 * 3600.0)
    assert (paging.reference, paging.ticket_reference, paging.ticket_gap) == (
        64 * 3600.0,
        64 * 5 * 3600.0,
        64 * 3600.0,
    )
    assert hourly.hold == 64 * 300.0 and paging.accept_after == 64 * 7 * 3600.0
    assert math.isclose(fetch_span(effective_chart(CHART, 300.0)), 4 * 7 * 3600.0)
    assert PagingConfig().accept_after == 86_400.0  # at least the whole fetch span (28 h)
    assert effective_chart(CHART, 300.0).paging.accept_after == 28 * 3600.0


def test_the_fetch_plan_and_the_compute_stage_use_the_cadence_of_the_previous_cycle() -> None:
    config = load_text("charts: [{name: latency, metric: m, by: [target]}]", "c.yml")
    (chart,) = config.charts
    ledger = ViolationLedger(counted_after=T0)
    now = T0 + 3600.0 * 10
    before = fetching.plan(config, now, {}, {}, ledger.effective)
    assert before.charts["latency"][1] == round((now - 7 * 3600.0 - config.lookback) * 1000)
    # A cycle over hourly points: the next plan reaches back 64 times as far.
    values = np.random.default_rng(5).lognormal(0.0, 0.3, (2, 10))
    ledger.judge(ledger.effective(chart), _points(values, 3600.0), now)
    after = fetching.plan(config, now, {}, {}, ledger.effective)
    span = 64 * 7 * 3600.0 + config.lookback
    assert after.charts["latency"][1] == round((now - span) * 1000)
    use = Stages(Shard(), ChartProgress(), ledger, lambda name: None)
    window = _points(values, 3600.0)
    done = use.compute(config, now + 3600.0, {("latency", "window"): window}, {})
    assert done.views["latency"].result.chart.cadence_scale == 64
