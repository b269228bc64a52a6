"""Phase II across cycles: each point is judged once, by the first cycle that sees it, and
EWMA and CUSUM carry their state from cycle to cycle instead of restarting."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules import BatchLimits, cusum, ewma, fit_limits_batch, judge
from spc_rules.sidecar.config.model import (
    ChartConfig,
    PinnedBaseline,
    RollingBaseline,
)
from spc_rules.sidecar.judge.evaluate import ChartResult, evaluate
from spc_rules.sidecar.judge.judging import Carry
from spc_rules.sidecar.judge.ledger import ViolationLedger, Violations
from spc_rules.sidecar.query.points import Points, SeriesKey
from spc_rules.sidecar.signals.cusum import Cusum
from spc_rules.sidecar.signals.ewma import Ewma

T0 = 1_000_000.0


def _chart(*args: object, **settings: object) -> ChartConfig:
    """A chart bad on both sides: these tests compare with the engine's two-sided flags
    (a chart's direction: tests/sidecar/test_alarms.py)."""
    return ChartConfig(*args, **{"direction": "both", **settings})  # type: ignore[arg-type]


STEP = 15.0


def _run(
    chart: ChartConfig,
    points: dict[SeriesKey, Points],
    cycles: np.ndarray,
    ledger: ViolationLedger | None = None,
) -> tuple[list[ChartResult], Violations]:
    """The sidecar's compute stage, cycle after cycle: carry, evaluate, record. Returns the
    results and the last cycle's counts."""
    ledger = ledger or ViolationLedger(counted_after=-np.inf)
    results = []
    for now in cycles.tolist():
        result = evaluate(chart, points, now, carry=ledger.carry(chart, tuple(points)))
        violations = ledger.record(result)
        results.append(result)
    return results, violations


def _flags(results: list[ChartResult], signal: str) -> list[tuple[int, float]]:
    """(row, timestamp) of every flag of every cycle, repeats included."""
    return [
        (row, t)
        for r in results
        for row, stamps in enumerate(r.flagged[signal])
        for t in stamps.tolist()
    ]


def test_many_cycles_flag_each_point_once_at_the_single_judgement_rate() -> None:
    # 20 in-control series, a point every 15 s for 4h10m; limits refitted on the hour before
    # the 10-minute window at every cycle, one cycle per point for the last three hours, so
    # each point lies in 40 consecutive windows.
    chart = _chart(
        "c", "m", by=("t",), baseline=RollingBaseline(3600.0), evaluation=600.0, rules=(1,)
    )
    rng = np.random.default_rng(2024)
    ts: np.ndarray = T0 + STEP * np.arange(1000)
    values = rng.lognormal(0.0, 0.3, (20, ts.size))
    points: dict[SeriesKey, Points] = {
        (f"s{i:02d}",): Points(ts, values[i], np.ones(ts.size)) for i in range(20)
    }
    cycles = ts[-720:] + 2.0
    results, violations = _run(chart, points, cycles)

    # The reference: each point judged once, by rule 1, against the limits of the first
    # cycle whose window holds it.
    single: set[tuple[int, float]] = set()
    every_window: set[tuple[int, float]] = set()  # what "flagged by any judgement" counts
    judged_until = -np.inf
    for now in cycles.tolist():
        start = now - 600.0
        base = (ts > start - 3600.0) & (ts <= start)
        limits = fit_limits_batch(values[:, base], log=True)
        for since, out in ((max(judged_until, start), single), (start, every_window)):
            cols = np.flatnonzero((ts > since) & (ts <= now))
            rows, hits = np.nonzero(judge(values[:, cols], limits)[0])
            out.update(zip(rows.tolist(), ts[cols[hits]].tolist(), strict=True))
        judged_until = now

    flags = _flags(results, "1")
    assert len(flags) == len(set(flags))  # no point flagged twice
    assert set(flags) == single
    assert int(violations.totals["1"].sum()) == len(single)
    # The data are such that judging every window would have flagged more points.
    assert len(every_window) > len(single)


def test_ewma_and_cusum_carried_across_cycles_equal_one_pass_over_the_points() -> None:
    chart = _chart(
        "c",
        "m",
        baseline=PinnedBaseline(center=1.0, sigma=0.2),
        evaluation=600.0,
        rules=(),
        detectors=(Ewma(), Cusum()),
    )
    rng = np.random.default_rng(5)
    ts: np.ndarray = T0 + STEP * np.arange(400)
    shift = np.where(np.arange(400) >= 250, 0.15, 0.0)  # a small sustained shift
    sizes = rng.integers(1, 4, 400).astype(np.float64)
    values = np.exp(rng.normal(shift, 0.2 / np.sqrt(sizes)))
    points: dict[SeriesKey, Points] = {(): Points(ts, values, sizes)}
    cycles = T0 + 700.0 + 50.0 * np.arange(100)  # three or four new points per cycle
    results, _ = _run(chart, points, cycles)

    judged = (ts > cycles[0] - 600.0) & (ts <= cycles[-1])
    # One pass over the same points, standardized by the pinned limits' own model
    # (median 1.0, log-sigma 0.2 per observation; subgroups as log-normal means).
    pinned = BatchLimits.pinned(np.array([0.0]), np.array([0.2]), log=True)
    z = pinned.zscores(values[judged][None, :], sizes[judged][None, :])[0]
    one_e = ewma(z, 0.0, 1.0)
    one_c = cusum(z, 0.0, 1.0)
    for signal, mask in (("ewma", one_e.signal), ("cusum", one_c.signal)):
        want = ts[judged][mask].tolist()
        assert want, signal  # the shift is caught
        assert [t for _, t in _flags(results, signal)] == want, signal
    assert results[-1].carry.state(Ewma())[0, 0] == pytest.approx(float(one_e.last), rel=1e-12)
    assert results[-1].carry.state(Cusum())[0, 0] == pytest.approx(
        float(one_c.last_upper), rel=1e-12
    )


def test_a_run_that_began_in_an_earlier_cycle_flags_each_new_point_once() -> None:
    chart = _chart(
        "c", "m", baseline=PinnedBaseline(1.0, 0.5), log=False, rules=(2,), evaluation=600.0
    )
    ts: np.ndarray = T0 + STEP * np.arange(30)
    points: dict[SeriesKey, Points] = {
        (): Points(ts, np.full(30, 1.1), np.ones(30))
    }  # all just above the center
    results, _ = _run(chart, points, ts[3:])  # one new point per cycle after the first
    assert [t for _, t in _flags(results, "2")] == ts[8:].tolist()


def test_a_point_is_not_judged_again_when_the_window_grows() -> None:
    chart = _chart(
        "c", "m", baseline=PinnedBaseline(1.0, 0.1), log=False, rules=(1,), evaluation=60.0
    )
    ts: np.ndarray = T0 + STEP * np.arange(20)
    points: dict[SeriesKey, Points] = {
        (): Points(ts, np.where(np.arange(20) % 5 == 0, 2.0, 1.0), np.ones(20))
    }
    ledger = ViolationLedger(counted_after=-np.inf)
    # Windows (ts[0], ts[4]], (ts[4], ts[8]] ... (ts[12], ts[16]]: outliers 5, 10 and 15.
    _, violations = _run(chart, points, ts[4:17:4], ledger)
    assert violations.totals["1"].tolist() == [3]
    # A reload makes the window ten times longer: it now holds ts[0], ts[5] and ts[10] too.
    longer = _chart(
        "c", "m", baseline=PinnedBaseline(1.0, 0.1), log=False, rules=(1,), evaluation=600.0
    )
    results, violations = _run(longer, points, ts[16:17], ledger)
    assert results[0].flagged["1"][0].tolist() == []
    assert violations.totals["1"].tolist() == [3]
    assert violations.last["1"].tolist() == [ts[15]]


def test_ewma_and_cusum_restart_from_zero_while_a_series_has_no_limits() -> None:
    chart = _chart("c", "m", baseline=RollingBaseline(600.0), detectors=(Ewma(), Cusum()))
    ts: np.ndarray = T0 + STEP * np.arange(5)  # far too few points for limits
    points: dict[SeriesKey, Points] = {(): Points(ts, np.ones(5), np.ones(5))}
    states = {"ewma": np.array([[0.4]]), "cusum": np.array([[3.0, 1.0]])}
    carry = Carry(np.array([T0 - 100.0]), states)
    result = evaluate(chart, points, float(ts[-1]), carry=carry)
    assert result.limits_ok.tolist() == [False]
    assert result.carry.state(Ewma()).tolist() == [[0.0]]
    assert result.carry.state(Cusum()).tolist() == [[0.0, 0.0]]
    assert result.carry.judged_until.tolist() == [ts[-1]]  # seen, never to be judged again
