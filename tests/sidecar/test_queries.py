"""What the sidecar asks the API: one query per histogram and window piece, never one per
series; one fetch per selector shared between charts; a fixed-range baseline fetched once
and refreshed only after ``baseline_refresh``. Steady-state cycles: test_incremental.py."""

from __future__ import annotations

import asyncio
import urllib.parse

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.service import Sidecar
from testkit.fakeserver import FakeRequest, Script, Step, serving
from tests.sidecar.data import METRIC, generate, matrix_answer
from tests.sidecar.expected import labels, scrape
from tests.sidecar.fakeprom import FakePrometheus

END = 1_700_000_000.0
ANSWER = matrix_answer(generate(END, 400))


def _route(request: FakeRequest) -> Script:
    return Script(200, {"Content-Type": "application/json"}, [Step(ANSWER)])


def _queries(requests: list[FakeRequest]) -> list[tuple[str, str]]:
    out = []
    for r in requests:
        params = dict(urllib.parse.parse_qsl(r.query))
        assert r.path == "/prefix/api/v1/query"
        out.append((params["query"], params["time"]))
    return out


def test_one_query_per_window_piece_for_all_series_of_a_histogram() -> None:
    config = f"""
    global: {{max_range: 40m, lookback: 1m}}
    charts:
      - {{name: a, metric: {METRIC}, selector: '{{error_type=""}}', by: [target],
          evaluation: 30m, baseline: 1h}}
      - {{name: b, metric: {METRIC}, selector: '{{error_type=""}}', by: [],
          evaluation: 30m, baseline: 1h}}
    """

    async def run() -> list[tuple[str, str]]:
        async with serving(_route) as server:
            sidecar = Sidecar(
                lambda: load_text(config, "t.yml"), server.url + "/prefix/", clock=lambda: END
            )
            try:
                assert await sidecar.cycle()
                got = scrape(sidecar.collector)
                assert got[("llmscope_spc_series", labels(chart="a"))] == 5.0
                assert got[("llmscope_spc_series", labels(chart="b"))] == 1.0
            finally:
                await sidecar.aclose()
            return _queries(server.requests)

    selector = f'{{__name__=~"{METRIC}_sum|{METRIC}_count",error_type=""}}'
    # 91 minutes (window, baseline, lookback) in pieces of at most 40 minutes, newest first;
    # both charts read the same fetch.
    assert sorted(asyncio.run(run()), key=lambda q: -float(q[1])) == [
        (f"{selector}[2400000ms]", "1700000000.000"),
        (f"{selector}[2400000ms]", "1699997600.000"),
        (f"{selector}[660000ms]", "1699995200.000"),
    ]


def test_a_fixed_range_baseline_is_fetched_once_until_its_refresh() -> None:
    start, end = END - 7200.0, END - 3600.0
    config = f"""
    global: {{max_range: 1d, lookback: 1m, baseline_refresh: 10m}}
    charts:
      - name: a
        metric: {METRIC}
        by: [target]
        evaluation: 30m
        baseline: {{start: {start}, end: {end}}}
    """
    clock = [END]

    async def run() -> list[int]:
        counts = []
        async with serving(_route) as server:
            sidecar = Sidecar(
                lambda: load_text(config, "t.yml"), server.url + "/prefix", clock=lambda: clock[0]
            )
            try:
                for step in (0.0, 30.0, 30.0, 600.0):
                    clock[0] += step
                    before = len(server.requests)
                    assert await sidecar.cycle()
                    counts.append(len(server.requests) - before)
                baseline_times = [t for _, t in _queries(server.requests) if t == f"{end:.3f}"]
                assert len(baseline_times) == 2
            finally:
                await sidecar.aclose()
        return counts

    # window + baseline, window, window, then window + baseline again after 10 minutes
    assert asyncio.run(run()) == [2, 1, 1, 2]


def test_a_series_that_stops_leaves_the_output_once_its_window_has_passed() -> None:
    later = END + 40 * 60.0
    fleet = generate(later, 560)
    for s in fleet:
        if s.labels["target"] == "steady":  # stops at END (with its failed probes)
            s.scrapes = [sc for sc in s.scrapes if sc.ts <= END]
    clock = [END]
    fake = FakePrometheus(fleet, lambda: clock[0])
    config = f"""
    charts:
      - {{name: a, metric: {METRIC}, by: [target], evaluation: 30m, baseline: 1h}}
    """

    def targets(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
        return {dict(lab)["target"] for _, lab in metrics if "target" in dict(lab)}

    async def run() -> tuple[set[str], set[str], int]:
        async with serving(fake.route) as server:
            sidecar = Sidecar(
                lambda: load_text(config, "t.yml"), server.url + "/prefix", clock=lambda: clock[0]
            )
            try:
                assert await sidecar.cycle()
                before = targets(scrape(sidecar.collector))
                sent = len(server.requests)
                clock[0] = later
                assert await sidecar.cycle()
                after = targets(scrape(sidecar.collector))
            finally:
                await sidecar.aclose()
        return before, after, len(server.requests) - sent

    before, after, queries = asyncio.run(run())
    assert "steady" in before
    # Its cached samples stay until they leave the range, but without a point in the
    # evaluation window or a recent sample it is no longer a chart series.
    assert after == before - {"steady"}
    assert queries == 1  # the 45 minutes since the last cycle, with the cache
