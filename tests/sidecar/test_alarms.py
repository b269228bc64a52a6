"""Alarm episodes per chart series (issue 12) and the baselines around them (issue 18): the
sidecar's own compute stage, cycle after cycle, on simulated 15 s latency points."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from spc_rules.detectors.paging import Severity, design_for
from spc_rules.sidecar.config.model import ChartConfig, PagingConfig, RollingBaseline
from spc_rules.sidecar.judge.baseline import Exclusions
from spc_rules.sidecar.judge.evaluate import ChartResult
from spc_rules.sidecar.judge.ledger import ViolationLedger, Violations
from spc_rules.sidecar.judge.reference import reference
from spc_rules.sidecar.progress import ChartProgress
from spc_rules.sidecar.query.points import Points, SeriesKey

T0 = 1_000_000.0
STEP = 15.0
CHART = ChartConfig("latency", "m", by=("target",), rules=(1,))


def _points(values: np.ndarray, step: float = STEP) -> dict[SeriesKey, Points]:
    ts = T0 + step * np.arange(values.shape[1], dtype=np.float64)
    return {
        (f"t{i}",): Points(ts, row, np.ones(ts.size), float(ts[-1])) for i, row in enumerate(values)
    }


def _cycles(
    chart: ChartConfig,
    points: dict[SeriesKey, Points],
    times: np.ndarray,
    ledger: ViolationLedger | None = None,
) -> tuple[list[ChartResult], Violations, ViolationLedger]:
    ledger = ledger or ViolationLedger(counted_after=T0)
    results: list[ChartResult] = []
    violations = None
    for now in times.tolist():
        visible = {k: _until(p, now) for k, p in points.items()}
        result, violations = ledger.judge(chart, visible, now)
        results.append(result)
    assert violations is not None
    return results, violations, ledger


def _until(p: Points, now: float) -> Points:
    keep = p.timestamps <= now
    return Points(p.timestamps[keep], p.values[keep], p.sizes[keep], now)


def test_a_2x_step_pages_once_and_the_first_cycle_judges_the_whole_window() -> None:
    rng = np.random.default_rng(12)
    values = rng.lognormal(0.0, 0.3, (3, 8 * 240))
    step_at = values.shape[1] - 120  # 30 minutes before the end
    values[0, step_at:] *= 2.0
    values[2, step_at:] *= 0.5  # faster: the good side of a latency chart
    points = _points(values)
    end = T0 + STEP * (values.shape[1] - 1)
    # One cycle at the end: it judges the whole evaluation window (1 h) at once.
    results, v, _ = _cycles(CHART, points, np.array([end + 1.0]))
    page = results[-1].alarms["page"]
    step_time = T0 + STEP * step_at
    assert page.opened[0].size == 1
    assert step_time <= page.opened[0][0] <= step_time + 5 * 60  # paged within 5 minutes
    assert v.episodes["page"].tolist() == [1, 0, 0]
    assert v.started["page"][0] == page.opened[0][0]
    assert np.isnan(v.started["page"][1:]).all()
    assert page.carry.state.open.tolist() == [True, False, False]
    assert page.statistic[0] > page.threshold[0]
    # The faster series is never flagged: not by the detectors, not by rule 1.
    assert results[-1].alarms["ticket"].opened[2].size == 0
    assert results[-1].flagged["1"][2].size == 0


def test_the_good_side_alarms_only_when_the_chart_watches_both() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(0.0, 0.3, (1, 6 * 240))
    values[0, -120:] *= 0.4
    points = _points(values)
    end = T0 + STEP * (values.shape[1] - 1) + 1.0
    both = ChartConfig("latency", "m", by=("target",), rules=(1,), direction="both")
    up, _, _ = _cycles(CHART, points, np.array([end]))
    two, _, _ = _cycles(both, points, np.array([end]))
    assert up[-1].alarms["page"].opened[0].size == 0
    assert two[-1].alarms["page"].opened[0].size == 1
    assert two[-1].flagged["1"][0].size > 0 and up[-1].flagged["1"][0].size == 0


def test_lone_outliers_never_page() -> None:
    rng = np.random.default_rng(5)
    values = rng.lognormal(0.0, 0.3, (10, 4 * 240))
    # A lone 10x point every 40 points, in every series.
    values[:, 300::40] *= 10.0
    points = _points(values)
    end = T0 + STEP * (values.shape[1] - 1)
    results, v, _ = _cycles(CHART, points, np.arange(end - 3600.0, end + 1.0, 300.0))
    assert v.episodes["page"].sum() == 0
    assert sum(r.alarms["page"].opened[i].size for r in results for i in range(10)) == 0


def test_a_step_longer_than_the_baseline_stays_an_incident_until_accept_after() -> None:
    # 2x from hour 3 for 10 hours, with a 2 h baseline (the rolling baseline would hold only
    # shifted points after 3 hours) and accept_after 8 h.
    chart = ChartConfig(
        "latency",
        "m",
        by=("target",),
        rules=(1,),
        baseline=RollingBaseline(2 * 3600.0),
        paging=PagingConfig(accept_after=8 * 3600.0),
    )
    rng = np.random.default_rng(8)
    hours = 14
    values = rng.lognormal(0.0, 0.3, (1, hours * 240))
    values[0, 3 * 240 :] *= 2.0
    points = _points(values)
    times = T0 + np.arange(2 * 3600.0, hours * 3600.0, 120.0)
    results, v, _ = _cycles(chart, points, times)
    open_at = [bool(r.alarms["page"].carry.state.open[0]) for r in results]
    center = np.array([r.center[0] for r in results])
    step_time = T0 + 3 * 3600.0
    accepted = [r.evaluated_at for r in results if r.alarms["page"].accepted[0]]
    # One page episode, open from the step until it is accepted 8 hours later.
    assert v.episodes["page"][0] == 1
    assert len(accepted) == 1 and step_time + 8 * 3600.0 <= accepted[0] < step_time + 8.1 * 3600.0
    during = [
        o
        for r, o in zip(results, open_at, strict=True)
        if step_time + 600 < r.evaluated_at < accepted[0]
    ]
    assert all(during)
    # The limits stay at the old level all along (center near 1, not 2) ...
    before = np.array([r.evaluated_at < accepted[0] for r in results])
    assert np.all(center[before] < 1.3)
    # ... and fit the new level once it is accepted, without a new page.
    assert center[-1] > 1.6
    assert v.accepted["page"][0] == 1 and v.accepted_at["page"][0] == accepted[0]
    assert not results[-1].alarms["page"].carry.state.open[0]


def test_a_new_series_gets_provisional_limits_after_min_points() -> None:
    rng = np.random.default_rng(9)
    values = rng.lognormal(0.0, 0.3, (1, 30))
    points = _points(values)
    times = T0 + STEP * np.arange(5, 30) + 1.0
    results, _, _ = _cycles(CHART, points, times)
    needed = [int(r.points_needed[0]) for r in results]
    ok = [bool(r.limits_ok[0]) for r in results]
    # Point k (0-based) is visible from cycle k - 5: limits once 20 points exist.
    first = ok.index(True)
    assert needed[:first] == list(range(20 - 6, 20 - 6 - first, -1))
    assert first == 20 - 6 and needed[first] == 0
    assert all(ok[first:]) and all(bool(r.provisional[0]) for r in results[first:])


def test_rule_1_points_stay_out_of_the_baseline() -> None:
    rng = np.random.default_rng(10)
    values = rng.lognormal(0.0, 0.3, (1, 9 * 240))
    values[0, -300] *= 30.0  # inside the evaluation window at the first cycle below
    points = _points(values)
    end = T0 + STEP * (values.shape[1] - 1)
    chart = ChartConfig("latency", "m", by=("target",), rules=(1,), refits=0)
    results, v, ledger = _cycles(chart, points, np.array([end - 2400.0, end + 2 * 3600.0]))
    assert v.totals["1"][0] >= 1
    outlier = T0 + STEP * (values.shape[1] - 300)
    history = ledger.history(chart, (("t0",),))
    assert outlier in history.exclusions[0].flagged.tolist()
    # Two hours later the outlier is inside the rolling baseline, but not in the fit:
    # without refits, one 30x point would widen sigma by half.
    later = results[-1]
    assert later.sigma[0] < 0.35


def test_a_probe_interval_change_re_derives_the_design() -> None:
    rng = np.random.default_rng(11)
    slow = rng.lognormal(0.0, 0.3, (1, 4 * 240))
    fast_ts = T0 + STEP * slow.shape[1] + 5.0 * np.arange(1, 4 * 720)
    ts = np.concatenate([T0 + STEP * np.arange(slow.shape[1]), fast_ts])
    values = np.concatenate([slow[0], rng.lognormal(0.0, 0.3, fast_ts.size)])
    points: dict[SeriesKey, Points] = {("t0",): Points(ts, values, np.ones(ts.size), float(ts[-1]))}
    before = T0 + STEP * slow.shape[1]
    at_15, _, _ = _cycles(CHART, points, np.array([before]))
    at_5, _, _ = _cycles(CHART, points, np.array([float(ts[-1])]))
    # Three times the points for the same budget in time: a higher decision line.
    assert at_5[0].point_interval[0] == 5.0 and at_15[0].point_interval[0] == 15.0
    assert at_5[0].alarms["page"].threshold[0] > at_15[0].alarms["page"].threshold[0]


def test_the_page_design_pays_for_its_reference_the_ticket_does_not() -> None:
    rng = np.random.default_rng(5)
    points = _points(rng.lognormal(0.0, 0.4, (2, 6 * 240)))
    results, _, _ = _cycles(CHART, points, np.array([T0 + STEP * (6 * 240 - 1)]))
    paging = CHART.paging
    assert (paging.reference, paging.ticket_reference) == (3600.0, 5 * 3600.0)
    cases: tuple[tuple[Severity, float], ...] = (("page", 240.0), ("ticket", math.inf))
    for severity, points_in_reference in cases:
        found = results[-1].alarms[severity]
        for row in range(2):
            design = design_for(
                paging.policy,
                severity,
                log_scale=True,
                sigma_fit=float(found.carry.sigma[row]),
                point_interval_s=STEP,
                reference_points=points_in_reference,
            )
            assert found.threshold[row] == design.h
    page = results[-1].alarms["page"]
    exact = design_for(
        paging.policy,
        "page",
        log_scale=True,
        sigma_fit=float(page.carry.sigma[0]),
        point_interval_s=STEP,
    )
    assert page.threshold[0] > exact.h


def test_a_shift_under_way_does_not_enter_the_page_reference() -> None:
    # 1.5x at sigma_log 0.6 takes the page ~15-20 minutes: several 5-minute refits. A
    # reference ending at the newest point would take in 1/12 of the step per refit (about
    # +7% by the time it pages); one ending where S was last 0 stays at the old level.
    rng = np.random.default_rng(21)
    series, before = 16, 6 * 240
    values = rng.lognormal(0.0, 0.6, (series, before + 240))
    values[:, before:] *= 1.5
    points = _points(values)
    step_time = T0 + STEP * before
    times = step_time + 120.0 * np.arange(0, 30)
    results, _, _ = _cycles(CHART, points, times)
    old = np.exp(np.log(values[:, before - 240 : before]).mean(axis=1))
    ratios = []
    for row in range(series):
        # The page's reference at the last cycle before its episode opened.
        quiet = [r.alarms["page"] for r in results if not r.alarms["page"].carry.state.open[row]]
        ratios.append(quiet[-1].reference[row] / old[row])
    assert np.median(ratios) < 1.03


def test_the_page_reference_centers_on_1h_and_takes_its_sigma_from_2h() -> None:
    rng = np.random.default_rng(4)
    older = rng.normal(0.0, 0.6, 240)  # the hour before: noisier
    newer = rng.normal(0.1, 0.2, 240)  # the reference window itself: 1 h at 15 s
    values = np.exp(np.concatenate([older, newer]))[None, :]
    (points,) = _points(values).values()
    end = np.array([float(points.timestamps[-1])])
    center, sigma = reference(CHART, "page", [points], end, [Exclusions()], codes=(0.0,), upto=end)
    assert abs(center[0] - 0.1) < 0.04  # the 1 h mean, not the 2 h one (0.05)
    assert sigma[0] > 0.35  # the 2 h spread (about 0.45), not the 1 h one (0.2)


def test_progress_logs_once_when_limits_will_exist_and_once_when_they_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(13)
    points = _points(rng.lognormal(0.0, 0.3, (2, 40)))
    ledger, progress = ViolationLedger(counted_after=T0), ChartProgress()
    caplog.set_level(logging.INFO, logger="llmscope.spc")
    for now in (T0 + STEP * np.arange(5, 40) + 1.0).tolist():
        result, _ = ledger.judge(CHART, {k: _until(p, now) for k, p in points.items()}, now)
        progress.observe(result, now)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "chart latency: 2 series of 2 without control limits yet; the first needs 14 more "
        "points (about 4 minutes at one point per 15s)",
        "chart latency: control limits for all 2 series (2 provisional, fitted on their "
        "earliest points until the rolling baseline fills)",
    ]
