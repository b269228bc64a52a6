"""The raw-sample cache: what a cycle asks for, and how an answer joins what is held."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.points import chart_points, stitch
from spc_rules.sidecar.query.samplecache import Held, query_range, since, update

# One histogram scraped every 15 s: (timestamp, count, sum), with a restart at 90 s and a
# scrape with three observations at 120 s.
SCRAPES = [
    (0, 10, 5.0), (15, 11, 6.0), (30, 12, 7.5), (45, 13, 8.0), (60, 14, 9.25), (75, 15, 10.0),
    (90, 1, 0.5), (105, 2, 1.5), (120, 5, 4.5), (135, 6, 5.0), (150, 7, 6.5),
]  # fmt: skip
LABELS = {"target": "a"}


def _histogram(
    first: float, last: float, labels: dict[str, str] = LABELS, skip: tuple[float, ...] = ()
) -> list[RawSeries]:
    """The _sum and _count samples with ``first <= t <= last``, sharing one timestamp array
    as decoded answers do."""
    rows = [s for s in SCRAPES if first <= s[0] <= last and s[0] not in skip]
    ts = np.array([r[0] for r in rows], dtype=np.float64)
    return [
        RawSeries({"__name__": "m_count", **labels}, ts, np.array([r[1] for r in rows], float)),
        RawSeries({"__name__": "m_sum", **labels}, ts, np.array([r[2] for r in rows], float)),
    ]


def _points(series: list[RawSeries]) -> list[tuple[float, float, float]]:
    p = chart_points(series, "m", ["target"])[("a",)]
    return list(zip(p.timestamps.tolist(), p.values.tolist(), p.sizes.tolist(), strict=True))


def _whole(first_ms: int, end_ms: int, start_ms: int | None = None) -> Held:
    """The cache after a whole fetch of [first, end]."""
    answer = stitch(_histogram(first_ms / 1000, end_ms / 1000))
    return update(None, answer, first_ms, first_ms if start_ms is None else start_ms, end_ms)


@pytest.mark.parametrize(
    ("held", "start_ms", "end_ms", "first_ms"),
    [
        (None, 0, 150_000, 0),  # nothing held: everything
        (Held(0, 120_000, {}), 15_000, 150_000, 90_000),  # the news since the end - overlap
        (Held(0, 120_000, {}), 15_000, 120_000, 90_000),  # the clock stood still
        (Held(30_000, 120_000, {}), 15_000, 150_000, 15_000),  # a longer window: everything
        (Held(0, 120_000, {}), 15_000, 100_000, 15_000),  # the clock went back: everything
        (Held(0, 40_000, {}), 15_000, 150_000, 15_000),  # held too old to help: everything
    ],
)
def test_a_cycle_asks_only_for_what_the_cache_does_not_hold(
    held: Held | None, start_ms: int, end_ms: int, first_ms: int
) -> None:
    assert query_range(held, start_ms, end_ms, overlap_ms=30_000) == first_ms


@pytest.mark.parametrize("left_open", [False, True], ids=["seam-in-both", "seam-in-cache-only"])
def test_joining_at_the_cut_loses_no_difference_and_holds_the_seam_once(left_open: bool) -> None:
    held = _whole(0, 90_000)
    news = _histogram(60.0 + left_open, 150.0)  # a query over [60, 150], cut at 60
    joined = update(held, stitch(news), 60_000, 0, 150_000)
    assert [s.timestamps.tolist() for s in joined.series.values()] == [
        [15.0, 30.0, 45.0, 60.0, 75.0, 90.0, 105.0, 120.0, 135.0, 150.0]
    ] * 2  # the sample at the window's start (0) is not the window's
    assert _points(list(joined.series.values())) == _points(_histogram(15.0, 150.0))


def test_a_sample_stored_late_inside_the_overlap_is_taken() -> None:
    held = update(None, stitch(_histogram(0.0, 90.0, skip=(75.0,))), 0, 0, 90_000)
    joined = update(held, stitch(_histogram(60.0, 150.0)), 60_000, 0, 150_000)
    count = joined.series[(("__name__", "m_count"), ("target", "a"))]
    assert 75.0 in count.timestamps.tolist()
    assert _points(list(joined.series.values())) == _points(_histogram(15.0, 150.0))


def test_series_that_appear_and_series_that_stop_within_the_overlap() -> None:
    held = _whole(0, 90_000)
    new_series = _histogram(60.0, 150.0, labels={"target": "b"})  # its first sample at the cut
    joined = update(held, stitch(new_series), 60_000, 0, 150_000)
    by_target = {dict(k)["target"]: s.timestamps.tolist() for k, s in joined.series.items()}
    # "a" is not in the answer: it keeps what it held up to the cut, and ages out later.
    assert by_target == {
        "a": [15.0, 30.0, 45.0, 60.0],
        "b": [60.0, 75.0, 90.0, 105.0, 120.0, 135.0, 150.0],
    }
    aged = update(
        joined, stitch(_histogram(120.0, 150.0, labels={"target": "b"})), 120_000, 60_000, 150_000
    )
    assert {dict(k)["target"] for k in aged.series} == {"b"}


def test_samples_older_than_the_needed_start_are_dropped_so_memory_stays_bounded() -> None:
    held = _whole(0, 30_000)
    for end in range(45, 151, 15):  # a 45 s window sliding by one scrape per cycle
        news = stitch(_histogram(end - 30.0, float(end)))
        held = update(held, news, (end - 30) * 1000, (end - 45) * 1000, end * 1000)
        assert held.start_ms == (end - 45) * 1000
        for s in held.series.values():
            assert s.timestamps.tolist() == [end - 30.0, end - 15.0, float(end)]


def test_a_whole_answer_replaces_the_cache() -> None:
    held = _whole(0, 90_000)
    replaced = update(
        held, stitch(_histogram(60.0, 150.0, labels={"target": "b"})), 60_000, 60_000, 150_000
    )
    assert {dict(k)["target"] for k in replaced.series} == {"b"}
    # Not even the sample at the start: a chart reads (start, end].
    assert all(s.timestamps[0] == 75.0 for s in replaced.series.values())


def test_a_sample_after_the_cycles_time_is_not_held() -> None:
    held = update(None, stitch(_histogram(0.0, 150.0)), 0, 0, 135_000)
    assert all(s.timestamps[-1] == 135.0 for s in held.series.values())


def test_a_histograms_sum_and_count_keep_sharing_one_timestamp_array() -> None:
    pieces = [*_histogram(75.0, 150.0), *_histogram(0.0, 75.0)]  # two pieces, seam at 75
    held = update(None, stitch(pieces), 0, 0, 150_000)
    count, total = held.series.values()
    assert count.timestamps is total.timestamps
    held = update(held, stitch(_histogram(120.0, 150.0)), 120_000, 30_000, 150_000)
    count, total = held.series.values()
    assert count.timestamps is total.timestamps
    assert not count.timestamps.flags.writeable
    # The shared arrays are counted once, with the room their storage keeps to grow.
    assert count.block is not None
    storage = count.block.storage
    assert storage is not None
    assert total.block is count.block
    assert held.nbytes() == storage.stamps.nbytes + storage.values.nbytes


def test_a_chart_with_a_shorter_window_reads_its_own_part() -> None:
    held = update(
        None,
        stitch([*_histogram(0.0, 150.0), *_histogram(0.0, 30.0, labels={"target": "old"})]),
        0,
        0,
        150_000,
    )
    assert len(since(held, 0)) == 4
    part = since(held, 120_000)  # "old" has nothing after 120 s
    assert [(s.labels["target"], s.timestamps.tolist()) for s in part] == [
        ("a", [135.0, 150.0])
    ] * 2
