"""Series held as rows of one matrix (query/blocks.py) give exactly the points and windows
that the same series give one at a time: resets, gaps, series that come and go included."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge import reference as references
from spc_rules.sidecar.judge import warmup
from spc_rules.sidecar.judge.baseline import Exclusions, select
from spc_rules.sidecar.judge.reference import point_interval, point_intervals
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.points import EMPTY, Points, chart_points, stitch
from spc_rules.sidecar.query.samplecache import Held, since, update
from spc_rules.sidecar.query.windows import Window, window

STEP = 15.0
END = 3600.0


class Estate:
    """Three targets, each scraped at its own offset, with eight histograms each: target 0
    observed at every scrape, the others with scrapes that bring nothing. Target 1's
    h3 restarts at 1200 s, target 2's h5 misses the scrapes of 900-990 s (its own
    timestamps from then on), target 0's h7 appears at 1800 s and target 1's h6 stops at
    2400 s."""

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self.rows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for target in range(3):
            ts = np.arange(target * 4.0, END + 1, STEP)
            for h in range(8):
                count = np.cumsum(rng.integers(target == 0, 4, ts.size)).astype(float)
                total = np.cumsum(rng.lognormal(0.0, 0.5, ts.size) * np.diff(count, prepend=0))
                keep = np.ones(ts.size, bool)
                if (target, h) == (1, 3):
                    reset = ts >= 1200
                    count[reset] -= count[reset][0] - 1
                    total[reset] -= total[reset][0] - 0.5
                if (target, h) == (2, 5):
                    keep &= (ts < 900) | (ts > 990)
                if (target, h) == (0, 7):
                    keep &= ts >= 1800
                if (target, h) == (1, 6):
                    keep &= ts <= 2400
                self.rows[(target, h)] = (ts[keep], count[keep], np.round(total[keep], 6))

    def answer(self, first: float, last: float, *, closed: bool) -> list[RawSeries]:
        """The _count and _sum samples of ``first <= t <= last`` (``first < t`` unless
        ``closed``), sharing timestamp arrays where the series do, as decoded answers do."""
        shared: dict[bytes, np.ndarray] = {}
        out = []
        for (target, h), (ts, count, total) in self.rows.items():
            inside = (ts >= first if closed else ts > first) & (ts <= last)
            if not inside.any():
                continue
            stamps = ts[inside]
            stamps = shared.setdefault(stamps.tobytes(), stamps)
            labels = {"target": f"t{target}", "h": f"h{h}"}
            out.append(RawSeries({"__name__": "m_count", **labels}, stamps, count[inside]))
            out.append(RawSeries({"__name__": "m_sum", **labels}, stamps, total[inside]))
        return out


def _alone(points: dict[tuple[str, ...], Points]) -> dict[tuple[str, ...], Points]:
    """The same points, each series on its own arrays."""
    return {
        k: Points(p.timestamps.copy(), p.values.copy(), p.sizes.copy(), p.last_sample)
        for k, p in points.items()
    }


def _assert_same_points(
    got: dict[tuple[str, ...], Points], want: dict[tuple[str, ...], Points]
) -> None:
    assert list(got) == list(want)
    for key, p in got.items():
        q = want[key]
        np.testing.assert_array_equal(p.timestamps, q.timestamps, err_msg=str(key))
        np.testing.assert_array_equal(p.values, q.values, err_msg=str(key))
        np.testing.assert_array_equal(p.sizes, q.sizes, err_msg=str(key))
        assert p.last_sample == q.last_sample


def _assert_same_window(got: Window, want: Window) -> None:
    for name in ("values", "sizes", "timestamps", "counts", "context"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def _cached_cycles(estate: Estate, span: float, lookback: float) -> list[tuple[float, Held]]:
    """The cache after each 30 s cycle from 2400 s on, a whole fetch first."""
    out = []
    held = None
    for now in np.arange(2400.0, END + 1, 30.0):
        start_ms, end_ms = round((now - span) * 1000), round(now * 1000)
        if held is None:
            answer = stitch(estate.answer(now - span, now, closed=True))
            held = update(None, answer, start_ms, start_ms, end_ms)
        else:
            cut_ms = held.end_ms - round(lookback * 1000)
            answer = stitch(estate.answer(cut_ms / 1000, now, closed=True))
            held = update(held, answer, cut_ms, start_ms, end_ms)
        out.append((float(now), held))
    return out


@pytest.mark.parametrize("lookback", [15.0, 60.0, 300.0])
def test_held_rows_give_the_points_of_a_whole_fetch(lookback: float) -> None:
    estate = Estate()
    span = 1800.0
    for now, held in _cached_cycles(estate, span, lookback):
        got = chart_points(list(held.series.values()), "m", ["target", "h"])
        want = chart_points(estate.answer(now - span, now, closed=False), "m", ["target", "h"])
        _assert_same_points(got, want)
        part = chart_points(since(held, round((now - 600) * 1000)), "m", ["target", "h"])
        recent = chart_points(estate.answer(now - 600, now, closed=False), "m", ["target", "h"])
        _assert_same_points(part, recent)
    # The blocks did the work: every series is a row of one, and so are their points,
    # rows with a point at every scrape (target 0) and rows without.
    assert all(s.block is not None for s in held.series.values())
    blocks = [p.block for p in got.values()]
    dense = [b for b in blocks if b is not None and b.stamps is None]
    packed = [b for b in blocks if b is not None and b.stamps is not None]
    assert len(dense) == 8
    assert len(packed) >= len(got) - 8 - 3


def test_windows_of_block_rows_equal_windows_of_series_on_their_own() -> None:
    estate = Estate()
    now, held = _cached_cycles(estate, 1800.0, 60.0)[-1]
    points = chart_points(list(held.series.values()), "m", ["target", "h"])
    rows = list(points.values())
    loose = list(_alone(points).values())
    rng = np.random.default_rng(3)
    starts: list[float | np.ndarray] = [
        now - 600,  # one start for every row: a slice of each block
        np.full(len(rows), now - 90),
        now - rng.integers(0, 40, len(rows)) * 15.0 - rng.random(len(rows)),  # one each
    ]
    for start in starts:
        for context in (0, 14):
            _assert_same_window(
                window(rows, start, now, context), window(loose, start, now, context)
            )
    # Rows in another order, and block rows mixed with rows on their own.
    mixed = [r if i % 3 else loose[i] for i, r in enumerate(rows)][::-1]
    _assert_same_window(
        window(mixed, now - 600, now - 30, 14), window(loose[::-1], now - 600, now - 30, 14)
    )


def test_point_intervals_of_block_rows_are_each_series_median_spacing() -> None:
    _, held = _cached_cycles(Estate(), 1800.0, 60.0)[-1]
    rows = list(chart_points(list(held.series.values()), "m", ["target", "h"]).values())
    rows += [Points(np.array([5.0]), np.array([1.0]), np.array([1.0])), EMPTY]
    want = [point_interval(p) for p in rows]
    np.testing.assert_array_equal(point_intervals(rows), want)
    assert np.isfinite(want[:-2]).all()
    np.testing.assert_array_equal(point_intervals(rows[-2:]), [np.nan, np.nan])


@pytest.mark.parametrize("check", [None, warmup.level_check(True, None, "up")])
def test_baseline_selection_of_rows_with_nothing_excluded_matches_the_row_by_row_one(
    check: warmup.LevelCheck | None,
) -> None:
    now, held = _cached_cycles(Estate(), 1800.0, 60.0)[-1]
    rows = list(chart_points(list(held.series.values()), "m", ["target", "h"]).values())
    rows += [Points(p.timestamps.copy(), p.values.copy(), p.sizes.copy()) for p in rows]
    rng = np.random.default_rng(5)
    start = now - 1800 + rng.integers(0, 100, len(rows)).astype(np.float64) * 15.0  # few points
    end = start + 900.0
    upto = end + rng.choice([-600.0, 300.0], len(rows))  # before the end too
    codes = (0.0, 1.0)
    # An episode long before every window: nothing is left out, but each row takes the
    # row-by-row path.
    nothing = Exclusions(np.array([[0.0, 1.0, 0.0]]))
    fast, slow = (
        select(rows, start, end, [ex] * len(rows), min_points=20, upto=upto,
               codes=codes, flagged=True, check=check)
        for ex in (Exclusions(), nothing)
    )  # fmt: skip
    _assert_same_window(fast.window, slow.window)
    np.testing.assert_array_equal(fast.provisional, slow.provisional)
    np.testing.assert_array_equal(fast.usable, slow.usable)
    assert fast.provisional.any()
    assert not fast.provisional.all()


def test_references_fitted_a_block_of_rows_at_a_time_equal_one_fit_of_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now, held = _cached_cycles(Estate(), 1800.0, 60.0)[-1]
    rows = list(chart_points(list(held.series.values()), "m", ["target", "h"]).values())
    rows += [Points(p.timestamps.copy(), p.values.copy(), p.sizes.copy()) for p in rows]
    rng = np.random.default_rng(11)
    end = now - rng.integers(0, 40, len(rows)).astype(np.float64) * 15.0  # rows of all widths
    chart = ChartConfig("latency", "m", by=("target", "h"))
    exclusions = [Exclusions()] * len(rows)

    def fit() -> tuple[np.ndarray, np.ndarray]:
        return references.reference(chart, "page", rows, end, exclusions, codes=(0.0,), upto=end)

    whole = fit()
    monkeypatch.setattr(references, "REFERENCE_ROWS", 7)  # 96 rows: 14 blocks, the last short
    blocked = fit()
    assert np.isfinite(whole[0]).sum() > len(rows) // 2
    for got, want in zip(blocked, whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_a_block_grows_in_place_and_never_writes_what_it_handed_out() -> None:
    cycles = _cached_cycles(Estate(), 1800.0, 60.0)
    handed = [
        [(s, s.timestamps.copy(), s.values.copy()) for s in held.series.values()]
        for _, held in cycles
    ]
    for series in handed:  # every cycle's arrays are still what that cycle was given
        for s, stamps, values in series:
            np.testing.assert_array_equal(s.timestamps, stamps)
            np.testing.assert_array_equal(s.values, values)
            assert not s.values.flags.writeable
    # Steady cycles wrote their new columns into the storage they found, most cycles.
    storages = [
        {id(s.block.storage) for s in held.series.values() if s.block is not None}
        for _, held in cycles
    ]
    kept = sum(a == b for a, b in itertools.pairwise(storages))
    assert kept >= len(cycles) // 2
