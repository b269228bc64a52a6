"""Each chart stands alone, and stale results do not keep alerts firing: a flag clears after
its hold while cycles fail, a chart whose query fails or whose evaluation raises reports its
own health, and the event loop stays free for reloads and stops while a cycle works."""

from __future__ import annotations

import asyncio
import logging
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.judge import ledger
from spc_rules.sidecar.judge.evaluate import ChartResult
from spc_rules.sidecar.judge.evaluate import evaluate as real_evaluate
from spc_rules.sidecar.service import Sidecar
from testkit.fakeserver import FakeRequest, Script, Step, serving
from tests.sidecar.data import LATENCY_CHART, METRIC, generate, matrix_answer
from tests.sidecar.expected import labels, scrape

END = 1_700_000_000.0
FLEET = [s for s in generate(END, 400) if not s.labels["error_type"]]
GOOD = Script(200, {"Content-Type": "application/json"}, [Step(matrix_answer(FLEET))])
FAILING = Script(503, {"Content-Type": "application/json"}, [Step(b'{"status":"error"}')])
OTHER_CHART = LATENCY_CHART.replace("name: latency", "name: other").replace(METRIC, "other")
TWO_CHARTS = f"""
global: {{query_timeout: 5s, max_range: 1d}}
charts:{LATENCY_CHART}{OTHER_CHART}
"""


class Clock:
    def __init__(self) -> None:
        self.now = END

    def __call__(self) -> float:
        return self.now


def _value(sidecar: Sidecar, name: str, **items: str) -> float | None:
    return scrape(sidecar.collector).get((name, labels(**items)))


def _by_metric(other: Script) -> Callable[[FakeRequest], Script]:
    """The fleet for the latency chart's histogram; ``other`` for the other chart's."""

    def route(request: FakeRequest) -> Script:
        query = dict(urllib.parse.parse_qsl(request.query))["query"]
        return GOOD if METRIC in query else other

    return route


def test_a_flag_clears_after_its_hold_even_while_cycles_fail() -> None:
    answers = [GOOD]

    async def run() -> None:
        clock = Clock()
        async with serving(lambda r: answers[0]) as server:
            sidecar = Sidecar(lambda: load_text(TWO_CHARTS, "t.yml"), server.url, clock=clock)
            steady = {"chart": "latency", "target": "steady", "rule": "2"}
            try:
                await sidecar.cycle()
                newest = _value(sidecar, "llmscope_spc_violation_last_timestamp_seconds", **steady)
                assert newest == END  # the shifted series breaks rule 2 up to its last point
                assert _value(sidecar, "llmscope_spc_violation_active", **steady) == 1.0
                answers[0] = FAILING
                clock.now = END + 60.0
                assert not await sidecar.cycle()
                assert _value(sidecar, "llmscope_spc_violation_active", **steady) == 1.0
                clock.now = END + 301.0  # past the 5-minute hold, with no good cycle since
                # Cleared: the flag and its time are published only while active.
                assert _value(sidecar, "llmscope_spc_violation_active", **steady) is None
                last = _value(sidecar, "llmscope_spc_violation_last_timestamp_seconds", **steady)
                assert last is None
            finally:
                await sidecar.aclose()

    asyncio.run(run())


def test_each_chart_reports_its_own_health() -> None:
    async def run() -> None:
        async with serving(_by_metric(FAILING)) as server:
            sidecar = Sidecar(lambda: load_text(TWO_CHARTS, "t.yml"), server.url, clock=Clock())
            try:
                for chart in ("latency", "other"):  # nothing evaluated yet
                    assert _value(sidecar, "llmscope_spc_chart_up", chart=chart) == 0.0
                assert not await sidecar.cycle()
                assert _value(sidecar, "llmscope_spc_chart_up", chart="latency") == 1.0
                assert _value(sidecar, "llmscope_spc_chart_up", chart="other") == 0.0
                assert _value(sidecar, "llmscope_spc_up") == 0.0
                assert _value(sidecar, "llmscope_spc_series", chart="latency") == len(FLEET)
            finally:
                await sidecar.aclose()

    asyncio.run(run())


def test_a_chart_that_raises_leaves_the_others_evaluated_and_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = real_evaluate
    broken = [True]

    def evaluate(chart: Any, *args: Any, **kwargs: Any) -> ChartResult:
        if chart.name == "other" and broken[0]:
            raise ZeroDivisionError("a bug in one chart")
        return real(chart, *args, **kwargs)

    monkeypatch.setattr(ledger, "evaluate", evaluate)

    async def run() -> None:
        async with serving(lambda r: GOOD) as server:
            sidecar = Sidecar(lambda: load_text(TWO_CHARTS, "t.yml"), server.url, clock=Clock())
            try:
                for _ in range(2):
                    assert not await sidecar.cycle()
                    assert _value(sidecar, "llmscope_spc_chart_up", chart="latency") == 1.0
                    assert _value(sidecar, "llmscope_spc_chart_up", chart="other") == 0.0
                    assert _value(sidecar, "llmscope_spc_series", chart="latency") == len(FLEET)
                    assert _value(sidecar, "llmscope_spc_series", chart="other") is None
                broken[0] = False
                assert await sidecar.cycle()
                assert _value(sidecar, "llmscope_spc_chart_up", chart="other") == 1.0
                assert _value(sidecar, "llmscope_spc_up") == 1.0
            finally:
                await sidecar.aclose()

    with caplog.at_level(logging.INFO, logger="llmscope.spc"):
        asyncio.run(run())
    ours = [r for r in caplog.records if r.name == "llmscope.spc"]
    errors = [r for r in ours if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "chart other" in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is ZeroDivisionError
    assert any(r.getMessage() == "chart other: evaluated again" for r in ours)


def test_a_reload_is_served_while_a_cycle_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    real = real_evaluate
    entered, release = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> ChartResult:
        entered.set()
        release.wait(10)  # only a safety net: the test releases it
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "evaluate", slow)

    async def run() -> None:
        async with serving(lambda r: GOOD) as server:
            sidecar = Sidecar(lambda: load_text(TWO_CHARTS, "t.yml"), server.url, clock=Clock())
            try:
                cycle = asyncio.create_task(sidecar.cycle())
                assert await asyncio.to_thread(entered.wait, 10)
                # The loop is free: the reload runs while the evaluation still waits.
                assert sidecar.reload() is None
                assert not cycle.done() and not release.is_set()
                release.set()
                assert await cycle
            finally:
                release.set()
                await sidecar.aclose()

    asyncio.run(run())


def test_stop_ends_run_without_waiting_for_a_query_in_flight() -> None:
    hang = Script(200, {"Content-Type": "application/json"}, [], header_delay=60.0)

    async def run() -> None:
        async with serving(lambda r: hang) as server:
            config = TWO_CHARTS.replace("query_timeout: 5s", "query_timeout: 60s")
            sidecar = Sidecar(lambda: load_text(config, "t.yml"), server.url, clock=Clock())
            try:
                running = asyncio.create_task(sidecar.run())
                while not server.requests:
                    await asyncio.sleep(0.01)
                sidecar.stop()
                await asyncio.wait_for(running, 10)  # the query alone would take 60 s
                assert _value(sidecar, "llmscope_spc_cycles_total") == 0.0
            finally:
                await sidecar.aclose()

    asyncio.run(run())


def test_a_reload_changes_the_incident_settings_and_keeps_the_incidents_under_way() -> None:
    texts = [TWO_CHARTS, TWO_CHARTS + "incidents: {settle_points: 4, min_failures: 3}\n"]

    async def run() -> None:
        async with serving(lambda r: GOOD) as server:
            sidecar = Sidecar(lambda: load_text(texts[0], "t.yml"), server.url, clock=Clock())
            try:
                await sidecar.cycle()
                board = sidecar.incidents.boards["page"]
                under_way = object()
                board.incidents.append(under_way)  # type: ignore[arg-type]
                board.opened["target"] += 1
                texts[0] = texts[1]
                assert sidecar.reload() is None
                settings = sidecar.incidents.settings
                assert (settings.settle_points, settings.min_failures) == (4.0, 3)
                kept = sidecar.incidents.boards["page"]
                assert kept.settle_points == 4.0
                assert under_way in kept.incidents and kept.opened["target"] == 1
            finally:
                await sidecar.aclose()

    asyncio.run(run())
