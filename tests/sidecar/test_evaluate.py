"""Judging a chart: windows, pinned and fixed-range baselines, no limits, live series."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules import fit_limits_batch, judge
from spc_rules.sidecar.config.model import (
    ChartConfig,
    PinnedBaseline,
    RangeBaseline,
    RollingBaseline,
)
from spc_rules.sidecar.judge.evaluate import evaluate, live_series
from spc_rules.sidecar.query.points import Points, SeriesKey

NOW = 10_000.0


def _points(ts: np.ndarray, values: np.ndarray, sizes: np.ndarray | None = None) -> Points:
    return Points(ts, values, np.ones_like(ts) if sizes is None else sizes)


def _series(seed: int, count: int = 200, step: float = 15.0) -> Points:
    rng = np.random.default_rng(seed)
    ts = NOW - step * np.arange(count)[::-1]
    return _points(ts, rng.lognormal(0.0, 0.2, count))


def test_rolling_baseline_ends_where_the_evaluation_window_begins() -> None:
    chart = ChartConfig(
        "c", "m", by=("target",), baseline=RollingBaseline(1500.0), evaluation=600.0
    )
    p = _series(1)
    result = evaluate(chart, {("a",): p}, NOW)
    base = (p.timestamps > NOW - 2100.0) & (p.timestamps <= NOW - 600.0)
    current = p.timestamps > NOW - 600.0
    limits = fit_limits_batch(p.values[base][None, :], log=True)
    assert result.baseline_points.tolist() == [base.sum()]
    assert result.window_points.tolist() == [current.sum()]
    assert result.center[0] == pytest.approx(np.exp(limits.center[0]), rel=1e-12)
    assert result.last_value[0] == p.values[-1]
    flags = judge(p.values[current][None, :], limits)
    assert result.flagged["1"][0].tolist() == p.timestamps[current][flags[0, 0]].tolist()


def test_pinned_limits_are_used_as_given_on_the_original_scale() -> None:
    chart = ChartConfig("c", "m", baseline=PinnedBaseline(center=2.0, sigma=0.1))
    p = _points(np.array([NOW - 30, NOW - 15, NOW]), np.array([2.0, 2.0, 4.0]))
    result = evaluate(chart, {(): p}, NOW)
    assert result.center[0] == pytest.approx(2.0)
    assert result.ucl[0] == pytest.approx(2.0 * np.exp(0.3))
    assert result.lcl[0] == pytest.approx(2.0 * np.exp(-0.3))
    assert result.limits_ok.tolist() == [True]
    assert result.flagged["1"][0].tolist() == [NOW]  # ln 2 = 6.9 sigma above ln 2.0
    assert result.baseline_points.tolist() == [0]


def test_a_fixed_range_baseline_comes_from_its_own_points() -> None:
    chart = ChartConfig("c", "m", baseline=RangeBaseline(0.0, 3000.0), log=False)
    rng = np.random.default_rng(3)
    old = _points(np.arange(1.0, 3001.0, 15.0), rng.normal(10.0, 1.0, 200))
    new = _points(np.array([NOW - 10, NOW]), np.array([10.0, 11.0]))
    result = evaluate(chart, {(): new}, NOW, {(): old})
    limits = fit_limits_batch(old.values[None, :])
    assert result.center[0] == pytest.approx(limits.center[0], rel=1e-12)
    assert result.baseline_points.tolist() == [200]
    assert result.window_points.tolist() == [2]


def test_too_few_baseline_points_means_no_limits_and_no_flags() -> None:
    chart = ChartConfig("c", "m", baseline=RollingBaseline(3600.0), min_points=20)
    p = _points(np.array([NOW - 3700.0 + 60 * i for i in range(10)] + [NOW]), np.full(11, 5.0))
    result = evaluate(chart, {(): p}, NOW)
    assert result.limits_ok.tolist() == [False]
    assert np.isnan(result.center[0]) and np.isnan(result.ucl[0])
    assert all(len(result.flagged[s][0]) == 0 for s in chart.signals)
    assert result.last_value[0] == 5.0


def test_subgroup_lines_are_drawn_at_the_latest_points_size() -> None:
    chart = ChartConfig("c", "m", baseline=PinnedBaseline(1.0, 0.2), log=False)
    p = _points(np.array([NOW - 15, NOW]), np.array([1.0, 1.1]), np.array([1.0, 4.0]))
    result = evaluate(chart, {(): p}, NOW)
    assert result.last_size[0] == 4.0
    assert result.ucl[0] == pytest.approx(1.0 + 3 * 0.2 / 2)
    assert result.zones[-1][0] == pytest.approx(1.0 - 0.2 / 2)


def test_capability_needs_a_spec_limit() -> None:
    p = _series(5)
    with_spec = evaluate(ChartConfig("c", "m", usl=3.0, evaluation=3000.0), {(): p}, NOW)
    without = evaluate(ChartConfig("c", "m", evaluation=3000.0), {(): p}, NOW)
    assert np.isfinite(with_spec.capability["cpk"][0])
    assert np.isnan(with_spec.capability["cp"][0])  # one-sided: Cp undefined
    assert without.capability == {}


def test_a_run_that_began_before_the_window_is_seen_but_only_window_points_are_flagged() -> None:
    chart = ChartConfig(
        "c", "m", baseline=PinnedBaseline(1.0, 0.5), log=False, rules=(1, 2), evaluation=100.0
    )
    # Twenty points just above the center, 15s apart: the run of 9 (rule 2) completes before
    # the window begins, at NOW - 100.
    ts = NOW - 15.0 * np.arange(20)[::-1]
    p = _points(ts, np.full(20, 1.1))
    result = evaluate(chart, {(): p}, NOW)
    inside = ts[ts > NOW - 100.0]
    assert result.flagged["2"][0].tolist() == inside.tolist()
    assert result.window_points.tolist() == [len(inside)]


def test_live_series_have_a_point_in_the_window_or_a_recent_raw_sample() -> None:
    chart = ChartConfig("c", "m", evaluation=600.0)
    ts: np.ndarray = NOW - 15.0 * np.arange(200)[::-1]
    recent = _points(ts[-10:], np.ones(10))
    # Stopped inside the baseline: points long before the window, no sample since.
    stopped = Points(ts[:50], np.ones(50), np.ones(50), last_sample=float(ts[49]))
    # Still scraped (a sample 30 s ago) but no new observation for an hour.
    quiet = Points(ts[:50], np.ones(50), np.ones(50), last_sample=NOW - 30.0)
    # Its last sample is just outside the lookback.
    gone = Points(ts[:50], np.ones(50), np.ones(50), last_sample=NOW - 301.0)
    points: dict[SeriesKey, Points] = {
        ("recent",): recent,
        ("stopped",): stopped,
        ("quiet",): quiet,
        ("gone",): gone,
    }
    assert list(live_series(chart, points, NOW, lookback=300.0)) == [("recent",), ("quiet",)]
