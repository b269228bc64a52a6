"""The alarm references' batch arithmetic equals the per-series functions it replaced, and
their refits are spread over the cycles instead of all falling due in one.

At 10,000 series one ``paging_scale`` and one ``np.median`` per series made the cold cycle
and every fifth minute's cycle as costly as a whole-window cycle (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

from spc_rules.detectors.paging_scale import paging_scale, paging_sigma_rows
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.alarms import REFIT_S
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.judge.reference import point_interval, point_intervals
from spc_rules.sidecar.query.points import Points, SeriesKey


def _rows(rng: np.random.Generator, rows: int, width: int) -> np.ndarray:
    """Rows of AR(1)-ish values of any length, with ties, gaps and a drift among them."""
    x = np.full((rows, width), np.nan)
    for i in range(rows):
        n = int(rng.integers(0, width + 1))
        v = 0.05 * rng.standard_normal(n).cumsum() + rng.standard_normal(n)
        if i % 7 == 0:
            v = np.round(v)  # ties: the MAD may be 0, then the standard deviation
        if i % 5 == 0 and n:
            v[rng.integers(0, n, 5)] = np.nan  # missing points inside the row
        if i % 9 == 0:
            v = v + 0.01 * np.arange(n)  # a drift the detrending removes
        x[i, :n] = v
    return x


def test_paging_sigma_of_many_rows_is_paging_scale_of_each() -> None:
    x = _rows(np.random.default_rng(5), 600, 300)
    want = []
    for row in x:
        try:
            want.append(paging_scale(row).sigma_paging)
        except ValueError:
            want.append(np.nan)
    got = paging_sigma_rows(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(want).sum() > 10 and np.isfinite(want).sum() > 400  # both kinds of rows
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_constant_row_has_no_paging_sigma() -> None:
    # paging_scale finds a sigma of rounding noise (1e-16) here; the batch, no spread.
    x = np.vstack([np.full(100, 2.5), np.full(100, -1.0), np.r_[np.full(60, 3.0), [np.nan] * 40]])
    assert np.isnan(paging_sigma_rows(x)).all()


def test_point_intervals_are_the_median_spacing_of_each_series() -> None:
    rng = np.random.default_rng(8)
    series = []
    for n in (0, 1, 2, 3, 40, 41, 42, 500):
        stamps = np.cumsum(rng.choice([15.0, 15.0, 30.0, 14.999, 45.0], n)).astype(np.float64)
        series.append(Points(stamps, np.ones(n), np.ones(n)))
    got = point_intervals(series)
    want = [point_interval(p) for p in series]
    np.testing.assert_array_equal(got, want)  # the same floats, NaN where no spacing


def test_references_refit_a_share_of_the_series_each_cycle_not_all_at_once() -> None:
    rng = np.random.default_rng(2)
    series, width, step = 200, 900, 15.0
    stamps = 1_000_000.0 + step * np.arange(width, dtype=np.float64)
    # One history for every series: one detector design, which dominates a cold cycle here.
    values = np.tile(rng.lognormal(0.0, 0.3, width), (series, 1))
    chart = ChartConfig("latency", "m", by=("target",), rules=(1,))
    ledger = ViolationLedger(counted_after=float(stamps[0]))

    def judge(now: float) -> np.ndarray:
        keep = stamps <= now
        points: dict[SeriesKey, Points] = {
            (f"t{i:03d}",): Points(stamps[keep], row[keep], np.ones(int(keep.sum())), now)
            for i, row in enumerate(values)
        }
        result, _ = ledger.judge(chart, points, now)
        return np.asarray(result.alarms["page"].carry.fitted_at)

    first = stamps[-40] + 1.0
    fitted = judge(first)
    assert np.isfinite(fitted).all()
    # Dated back over the whole refit period, evenly: each 30 s cycle refits about a tenth.
    age = first - fitted
    assert age.min() >= 0.0 and age.max() < REFIT_S
    counts = np.histogram(age, bins=10, range=(0.0, REFIT_S))[0]
    assert counts.min() >= series // 10 - 3 and counts.max() <= series // 10 + 3
    later = judge(first + 30.0)
    refit = later == first + 30.0
    assert series // 10 - 3 <= refit.sum() <= series // 10 + 3
    # Each refit is REFIT_S after the one before: the spread stays.
    np.testing.assert_array_equal(later[~refit], fitted[~refit])
    assert (first + 30.0 - fitted[refit] >= REFIT_S).all()
