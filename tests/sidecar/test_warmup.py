"""A warm-up that an incident cannot poison (issue 22, point 6): a new series' provisional
limits and alarm references come from the level it spends most time at, and its first points
wait, unjudged, until limits exist, so an incident among them is judged and pages."""

from __future__ import annotations

import numpy as np

from spc_rules import fit_limits_batch
from spc_rules.sidecar.judge import warmup
from spc_rules.sidecar.judge.evaluate import ChartResult
from tests.sidecar.test_alarms import CHART, STEP, T0, _cycles, _points


def _first_with_limits(values: np.ndarray) -> tuple[ChartResult, list[ChartResult]]:
    points = _points(values)
    times = T0 + 60.0 * np.arange(1, values.shape[1] * STEP / 60.0)
    results, _, _ = _cycles(CHART, points, times)
    first = next(r for r in results if r.limits_ok.all())
    return first, results


def _incident_is_paged_against_the_normal_level(values: np.ndarray, bad: slice) -> None:
    first, results = _first_with_limits(values)
    rows = values.shape[0]
    # Limits and the page's reference at the normal level (1), not the incident's (3).
    assert np.all(np.abs(np.log(first.center)) < np.log(1.3))
    page = first.alarms["page"]
    assert np.all(np.abs(np.log(page.reference)) < np.log(1.3))
    # The first cycle with limits judged the incident's points: one page per series,
    # opened inside the incident, and rule 1 flagged its points.
    stamps = T0 + STEP * np.arange(values.shape[1])
    opened = [np.concatenate([r.alarms["page"].opened[i] for r in results]) for i in range(rows)]
    for row in range(rows):
        assert opened[row].size == 1
        assert stamps[bad.start] <= opened[row][0] <= stamps[bad.stop - 1]
        assert np.isin(first.flagged["1"][row], stamps[bad]).sum() >= 3


def test_an_incident_in_points_5_to_20_is_paged_and_stays_out_of_the_limits() -> None:
    rng = np.random.default_rng(61)
    values = rng.lognormal(0.0, 0.25, (4, 80))
    values[:, 5:21] *= 3.0
    _incident_is_paged_against_the_normal_level(values, slice(5, 21))


def test_an_incident_in_the_first_10_points_is_paged_and_stays_out_of_the_limits() -> None:
    rng = np.random.default_rng(62)
    values = rng.lognormal(0.0, 0.25, (4, 80))
    values[:, :10] *= 3.0
    _incident_is_paged_against_the_normal_level(values, slice(0, 10))


def test_an_in_control_warm_up_is_unchanged() -> None:
    # Limits after min_points, fitted on the earliest half of the points seen (as before
    # the level check), and no page.
    rng = np.random.default_rng(63)
    values = rng.lognormal(0.0, 0.3, (8, 60))
    first, results = _first_with_limits(values)
    assert first.evaluated_at == T0 + 300.0  # the first cycle with 20 points (21 seen)
    seen = int((first.evaluated_at - T0) // STEP) + 1
    earliest = values[:, : max(20, seen // 2)]
    fit = fit_limits_batch(earliest, np.ones_like(earliest), method="mr", log=True)
    np.testing.assert_allclose(first.center, np.exp(fit.center))
    assert all(r.alarms["page"].opened[i].size == 0 for r in results for i in range(8))


def test_the_level_check_cuts_at_changes_and_keeps_lone_outliers() -> None:
    rng = np.random.default_rng(64)
    check = warmup.level_check(True, 1.3, "up")
    x = rng.lognormal(0.0, 0.3, 60)
    assert warmup.regimes(np.log(x)) == [(0, 60)]
    x[30] *= 10.0  # a lone outlier is no regime of its own
    assert warmup.regimes(np.log(x), np.log(1.3)) == [(0, 60)]
    x[10:25] *= 3.0
    assert warmup.regimes(np.log(x), np.log(1.3)) == [(0, 10), (10, 25), (25, 60)]
    # The longest level is read; while no level holds min_points, the series waits.
    pick = warmup.provisional(x, 20, check)
    assert pick is not None and pick[0] == 25 and pick.size == 20
    assert warmup.provisional(x[:40], 20, check) is None
    # A steady series 1.2x apart, within min_effect: no change that counts.
    y = rng.lognormal(0.0, 0.05, 60)
    y[30:] *= 1.2
    assert warmup.regimes(np.log(y), np.log(1.3)) == [(0, 60)]
