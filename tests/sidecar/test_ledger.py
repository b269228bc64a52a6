"""What the ledger keeps between cycles: counts of flagged points (each once, and only those
after the sidecar's start), the newest flagged time, the marks and the EWMA/CUSUM states."""

from __future__ import annotations

import dataclasses

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.evaluate import ChartResult, evaluate
from spc_rules.sidecar.judge.judging import Carry
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.query.points import Points, SeriesKey
from spc_rules.sidecar.signals.cusum import Cusum
from spc_rules.sidecar.signals.ewma import Ewma

NOW = 10_000.0
CHART = ChartConfig("c", "m", rules=(1, 2), evaluation=100.0, hold=30.0)


def _result(
    chart: ChartConfig, keys: list[str], flagged: dict[str, list[list[float]]], carry: Carry
) -> ChartResult:
    """A result of ``chart`` for series ``keys`` that flagged these timestamps."""
    points: dict[SeriesKey, Points] = {
        (k,): Points(np.array([NOW]), np.ones(1), np.ones(1)) for k in keys
    }
    base = evaluate(chart, points, NOW)
    return dataclasses.replace(
        base,
        flagged={
            s: tuple(np.array(f) for f in flagged.get(s, [[] for _ in keys])) for s in chart.signals
        },
        carry=carry,
    )


def _carry(mark: float, ewma: float = 0.0, rows: int = 1) -> Carry:
    def full(value: float) -> np.ndarray:
        return np.full(rows, value, dtype=np.float64)

    states = {
        "ewma": full(ewma).reshape(-1, 1),
        "cusum": np.stack([full(ewma), full(ewma)], axis=1),
    }
    return Carry(full(mark), states)


def test_each_flagged_point_is_counted_as_it_comes() -> None:
    ledger = ViolationLedger(counted_after=0.0)
    first = ledger.record(
        _result(CHART, ["a"], {"1": [[950.0, 990.0]], "2": [[990.0]]}, _carry(990))
    )
    assert first.totals["1"].tolist() == [2] and first.totals["2"].tolist() == [1]
    assert first.last["1"].tolist() == [990.0]
    again = ledger.record(_result(CHART, ["a"], {"1": [[1010.0]]}, _carry(1010)))
    assert again.totals["1"].tolist() == [3] and again.totals["2"].tolist() == [1]
    assert again.last["1"].tolist() == [1010.0] and again.last["2"].tolist() == [990.0]


def test_points_flagged_before_the_start_set_the_last_time_but_are_not_counted() -> None:
    # After a restart at 1000 the first cycle judges the window again: 950 and 990 were
    # counted by the previous process.
    ledger = ViolationLedger(counted_after=1000.0)
    got = ledger.record(_result(CHART, ["a"], {"1": [[950.0, 990.0, 1005.0]]}, _carry(1005)))
    assert got.totals["1"].tolist() == [1]
    assert got.last["1"].tolist() == [1005.0]
    before = ledger.record(_result(CHART, ["a"], {"2": [[995.0]]}, _carry(1010)))
    assert before.totals["2"].tolist() == [0]
    assert before.last["2"].tolist() == [995.0]


def test_a_violation_is_active_while_its_newest_point_is_within_hold_of_now() -> None:
    ledger = ViolationLedger(counted_after=0.0)
    got = ledger.record(_result(CHART, ["a", "b"], {"1": [[990.0], []]}, _carry(990, rows=2)))
    assert got.active("1", 1020.0, CHART.hold).tolist() == [1.0, 0.0]
    assert got.active("1", 1020.5, CHART.hold).tolist() == [0.0, 0.0]


def test_a_series_that_leaves_the_input_is_forgotten() -> None:
    ledger = ViolationLedger(counted_after=0.0)
    ledger.record(_result(CHART, ["a"], {"1": [[990.0]]}, _carry(990, 0.5)))
    ledger.record(_result(CHART, ["b"], {}, _carry(1000)))
    back = ledger.carry(CHART, [("a",)])
    assert np.isnan(back.judged_until[0]) and back.state(Ewma()).tolist() == [[0.0]]
    got = ledger.record(_result(CHART, ["a"], {}, back))
    assert got.totals["1"].tolist() == [0]
    assert np.isnan(got.last["1"][0])


def test_a_reload_keeps_marks_and_resets_charts_only_if_their_settings_changed() -> None:
    chart = dataclasses.replace(CHART, detectors=(Cusum(), Ewma()))
    ledger = ViolationLedger(counted_after=0.0)
    ledger.record(_result(chart, ["a"], {}, _carry(990, 0.5)))
    longer = dataclasses.replace(chart, evaluation=3600.0, hold=600.0)
    kept = ledger.carry(longer, [("a",)])
    assert kept.judged_until.tolist() == [990.0] and kept.state(Ewma()).tolist() == [[0.5]]
    other = dataclasses.replace(chart, detectors=(Cusum(), Ewma(lam=0.2)))
    reset = ledger.carry(other, [("a",)])
    assert reset.judged_until.tolist() == [990.0]
    assert reset.state(Ewma()).tolist() == [[0.0]]
    assert reset.state(Cusum()).tolist() == [[0.0, 0.0]]
