"""Rebuilding points from raw _sum/_count samples: the table of docs/architecture.md's cases."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.points import Points, chart_points, merge, rebuild, stitch
from spc_rules.sidecar.query.windows import window

# (case, scrapes as (timestamp, count, sum), expected points as (timestamp, value, n))
CASES = [
    (
        "one observation per scrape gives individuals",
        [(0, 0, 0.0), (15, 1, 1.5), (30, 2, 3.75), (45, 3, 4.0)],
        [(15, 1.5, 1), (30, 2.25, 1), (45, 0.25, 1)],
    ),
    (
        "no new observation gives no point",
        [(0, 4, 8.0), (15, 4, 8.0), (30, 5, 9.0), (45, 5, 9.0)],
        [(30, 1.0, 1)],
    ),
    (
        "several observations give a subgroup mean with its size",
        [(0, 10, 10.0), (15, 13, 16.0), (30, 14, 16.5), (45, 18, 26.5)],
        [(15, 2.0, 3), (30, 0.5, 1), (45, 2.5, 4)],
    ),
    (
        "a counter reset gives no point and counting starts again",
        [(0, 7, 14.0), (15, 8, 16.0), (30, 1, 3.0), (45, 2, 4.5), (60, 4, 8.5)],
        [(15, 2.0, 1), (45, 1.5, 1), (60, 2.0, 2)],
    ),
    (
        "a restart that brought more observations than before shows as a falling sum",
        [(0, 5, 10.0), (15, 6, 12.0), (30, 8, 3.0), (45, 9, 4.5)],
        [(15, 2.0, 1), (45, 1.5, 1)],
    ),
    (
        "observations of zero are points, not resets",
        [(0, 2, 3.0), (15, 3, 3.0), (30, 5, 3.0)],
        [(15, 0.0, 1), (30, 0.0, 2)],
    ),
    (
        "a reset to zero then growth",
        [(0, 3, 3.0), (15, 0, 0.0), (30, 1, 0.5)],
        [(30, 0.5, 1)],
    ),
    (
        "a gap of missed scrapes keeps the observations that arrived meanwhile",
        [(0, 1, 1.0), (15, 2, 2.0), (120, 4, 7.0), (135, 5, 7.5)],
        [(15, 1.0, 1), (120, 2.5, 2), (135, 0.5, 1)],
    ),
    (
        "the first sample of a window only opens it",
        [(0, 100, 50.0)],
        [],
    ),
    ("no samples, no points", [], []),
]


@pytest.mark.parametrize(("case", "scrapes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rebuild_follows_the_design_table(
    case: str, scrapes: list[tuple[float, float, float]], expected: list[tuple[float, float, int]]
) -> None:
    ts = np.array([s[0] for s in scrapes], dtype=np.float64)
    count = np.array([s[1] for s in scrapes], dtype=np.float64)
    total = np.array([s[2] for s in scrapes], dtype=np.float64)
    points = rebuild(ts, total, ts, count)
    assert points.timestamps.tolist() == [e[0] for e in expected]
    assert points.values.tolist() == pytest.approx([e[1] for e in expected])
    assert points.sizes.tolist() == [e[2] for e in expected]


def test_points_remember_the_newest_raw_sample_even_without_a_point() -> None:
    ts = np.array([0.0, 15.0, 30.0, 45.0])
    points = rebuild(ts, np.array([0.0, 1.0, 1.0, 1.0]), ts, np.array([0.0, 1.0, 1.0, 1.0]))
    assert points.timestamps.tolist() == [15.0]
    assert points.last_sample == 45.0
    other = rebuild(ts[:2] + 50.0, np.array([0.0, 1.0]), ts[:2] + 50.0, np.array([0.0, 1.0]))
    assert merge([points, other]).last_sample == 65.0
    assert np.isnan(rebuild(ts[:0], ts[:0], ts[:0], ts[:0]).last_sample)


def test_rebuild_pairs_sum_and_count_by_timestamp() -> None:
    # _sum has a sample that _count lacks (and the other way): both are ignored.
    sum_ts = np.array([0.0, 15.0, 20.0, 30.0])
    sums = np.array([0.0, 1.0, 99.0, 3.0])
    count_ts = np.array([0.0, 15.0, 25.0, 30.0])
    counts = np.array([0.0, 1.0, 50.0, 2.0])
    points = rebuild(sum_ts, sums, count_ts, counts)
    assert points.timestamps.tolist() == [15.0, 30.0]
    assert points.values.tolist() == [1.0, 2.0]


def test_rebuild_skips_samples_that_are_not_finite() -> None:
    ts = np.array([0.0, 15.0, 30.0, 45.0])
    counts = np.array([0.0, 1.0, np.nan, 3.0])
    sums = np.array([0.0, 2.0, 5.0, 8.0])
    points = rebuild(ts, sums, ts, counts)
    assert points.timestamps.tolist() == [15.0, 45.0]
    assert points.values.tolist() == [2.0, 3.0]
    assert points.sizes.tolist() == [1.0, 2.0]


def _raw(name: str, labels: dict[str, str], ts: list[float], values: list[float]) -> RawSeries:
    return RawSeries({"__name__": name, **labels}, np.array(ts), np.array(values))


def test_stitch_joins_window_pieces_and_keeps_the_seam_sample_once() -> None:
    labels = {"target": "a"}
    newer = _raw("m_count", labels, [30.0, 45.0, 60.0], [3.0, 4.0, 5.0])
    older = _raw("m_count", labels, [0.0, 15.0, 30.0], [1.0, 2.0, 3.0])
    (joined,) = stitch([newer, older])
    assert joined.timestamps.tolist() == [0.0, 15.0, 30.0, 45.0, 60.0]
    assert joined.values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_stitched_pieces_lose_no_difference_at_the_seam() -> None:
    labels = {"target": "a"}
    pieces = [
        _raw("m_count", labels, [30.0, 45.0], [3.0, 4.0]),
        _raw("m_sum", labels, [30.0, 45.0], [6.0, 10.0]),
        _raw("m_count", labels, [0.0, 15.0], [1.0, 2.0]),
        _raw("m_sum", labels, [0.0, 15.0], [1.0, 3.0]),
    ]
    points = chart_points(stitch(pieces), "m", ["target"])[("a",)]
    # 15 -> 30 straddles the seam between the two pieces.
    assert points.timestamps.tolist() == [15.0, 30.0, 45.0]
    assert points.values.tolist() == [2.0, 3.0, 4.0]


def test_chart_points_groups_by_the_by_labels_and_merges_in_time_order() -> None:
    series = [
        _raw("m_count", {"target": "a", "instance": "1"}, [0.0, 10.0, 20.0], [0.0, 1.0, 2.0]),
        _raw("m_sum", {"target": "a", "instance": "1"}, [0.0, 10.0, 20.0], [0.0, 1.0, 3.0]),
        _raw("m_count", {"target": "a", "instance": "2"}, [5.0, 15.0], [0.0, 2.0]),
        _raw("m_sum", {"target": "a", "instance": "2"}, [5.0, 15.0], [0.0, 10.0]),
        _raw("m_count", {"instance": "3"}, [0.0, 10.0], [0.0, 1.0]),
        _raw("m_sum", {"instance": "3"}, [0.0, 10.0], [0.0, 7.0]),
        _raw("other_count", {"target": "a"}, [0.0, 10.0], [0.0, 1.0]),
    ]
    points = chart_points(series, "m", ["target"])
    assert list(points) == [("",), ("a",)]  # a missing label reads as ""
    a = points[("a",)]
    assert a.timestamps.tolist() == [10.0, 15.0, 20.0]
    assert a.values.tolist() == [1.0, 5.0, 2.0]
    assert a.sizes.tolist() == [1.0, 2.0, 1.0]
    assert points[("",)].values.tolist() == [7.0]


def test_chart_points_ignores_a_sum_without_its_count() -> None:
    series = [_raw("m_sum", {"target": "a"}, [0.0, 10.0], [0.0, 1.0])]
    assert chart_points(series, "m", ["target"]) == {}


def test_window_pads_rows_with_nan_and_keeps_points_in_start_end() -> None:
    a = Points(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 20.0, 30.0, 40.0]), np.ones(4))
    b = Points(np.array([4.0]), np.array([7.0]), np.array([3.0]))
    w = window([a, b, merge([b])], 1.0, 4.0)
    assert w.counts.tolist() == [3, 1, 1]
    assert w.values[0].tolist() == [20.0, 30.0, 40.0]
    assert w.values[1, 0] == 7.0
    assert np.isnan(w.values[1, 1:]).all()
    assert w.sizes[1, 0] == 3.0
    assert w.timestamps[0].tolist() == [2.0, 3.0, 4.0]
