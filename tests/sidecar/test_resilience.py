"""A Prometheus that fails: 5xx, 4xx, malformed JSON, silence, a dropped connection, nothing
listening. The sidecar keeps serving its last good results marked stale, counts the failure
by reason, logs each kind of failure once, and recovers on the next good cycle."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Callable

import pytest

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.config.windows import backoff
from spc_rules.sidecar.discovery import MAX_ANSWER_BYTES, DiscoveryError, stored_names
from spc_rules.sidecar.service import Sidecar
from testkit.fakeserver import FakeRequest, Script, Step, serving
from testkit.realservers import free_port
from tests.sidecar.data import LATENCY_CHART, generate, matrix_answer
from tests.sidecar.expected import labels, scrape

END = 1_700_000_000.0
CONFIG = f"""
global: {{query_timeout: 1s, max_range: 1d}}
charts:{LATENCY_CHART}"""
GOOD = Script(
    200,
    {"Content-Type": "application/json"},
    [Step(matrix_answer([s for s in generate(END, 400) if not s.labels["error_type"]]))],
)
ERROR_BODY = (
    b'{"status":"error","errorType":"execution",'
    b'"error":"query processing would load too many samples"}'
)


class Clock:
    def __init__(self) -> None:
        self.now = END

    def __call__(self) -> float:
        return self.now


EMPTY = Script(200, {}, [Step(b'{"status":"success","data":{"resultType":"matrix","result":[]}}')])


def _scripted(*answers: Script) -> Callable[[FakeRequest], Script]:
    """Answer the charts' requests with ``answers`` in turn, the last one forever; the
    incidents' context queries (target info, host CPU) find nothing."""
    queue = list(answers)

    def route(request: FakeRequest) -> Script:
        if "llmscope_target_info" in request.query or "llmscope_host_cpu" in request.query:
            return EMPTY
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return route


def _sidecar(url: str, clock: Clock) -> Sidecar:
    return Sidecar(lambda: load_text(CONFIG, "t.yml"), url, clock=clock)


def _value(sidecar: Sidecar, name: str, **items: str) -> float | None:
    return scrape(sidecar.collector).get((name, labels(**items)))


DEEP = b"[" * 50_000 + b"]" * 50_000
FAILURES = [
    ("server_error", Script(503, {"Content-Type": "application/json"}, [Step(ERROR_BODY)])),
    ("client_error", Script(422, {"Content-Type": "application/json"}, [Step(ERROR_BODY)])),
    ("bad_response", Script(200, {"Content-Type": "application/json"}, [Step(b'{"status":')])),
    (
        "bad_response",
        Script(200, {}, [Step(b'{"status":"success","data":{"resultType":"vector","result":[]}}')]),
    ),
    # Valid JSON nested past Python's recursion limit: the parser's RecursionError.
    (
        "bad_response",
        Script(
            200,
            {},
            [Step(b'{"status":"success","data":{"resultType":"matrix","result":' + DEEP + b"}}")],
        ),
    ),
    ("timeout", Script(200, {}, [], header_delay=3.0)),
    ("network", Script(200, {}, [Step(b'{"status":"success","data":{"resu')], ending="close")),
]


@pytest.mark.parametrize(
    ("reason", "failure"), FAILURES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(FAILURES)]
)
def test_a_failing_query_keeps_the_last_results_marked_stale_then_recovers(
    reason: str, failure: Script, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> None:
        clock = Clock()
        async with serving(_scripted(GOOD, failure, failure, GOOD)) as server:
            sidecar = _sidecar(server.url, clock)
            try:
                assert await sidecar.cycle()
                center = _value(sidecar, "llmscope_spc_center", chart="latency", target="steady")
                assert center is not None
                assert _value(sidecar, "llmscope_spc_up") == 1.0
                for step in (60.0, 30.0):
                    clock.now += step
                    assert not await sidecar.cycle()
                    assert _value(sidecar, "llmscope_spc_up") == 0.0
                    # The last good results are still served, and their age shows it.
                    assert (
                        _value(sidecar, "llmscope_spc_center", chart="latency", target="steady")
                        == center
                    )
                    assert (
                        _value(sidecar, "llmscope_spc_results_age_seconds", chart="latency")
                        == clock.now - END
                    )
                assert _value(sidecar, "llmscope_spc_query_errors_total", reason=reason) == 2.0
                clock.now += 30.0
                assert await sidecar.cycle()
                assert _value(sidecar, "llmscope_spc_up") == 1.0
                assert _value(sidecar, "llmscope_spc_results_age_seconds", chart="latency") == 0.0
                assert _value(sidecar, "llmscope_spc_cycles_total") == 4.0
            finally:
                await sidecar.aclose()

    with caplog.at_level(logging.INFO, logger="llmscope.spc"):
        asyncio.run(run())
    ours = [r for r in caplog.records if r.name == "llmscope.spc"]
    errors = [r for r in ours if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # once per kind of failure
    assert f"({reason})" in errors[0].getMessage()
    assert any("succeed again" in r.getMessage() for r in ours)


def test_the_server_error_text_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    failure = Script(503, {"Content-Type": "application/json"}, [Step(ERROR_BODY)])

    async def run() -> None:
        async with serving(_scripted(failure)) as server:
            sidecar = _sidecar(server.url, Clock())
            try:
                assert not await sidecar.cycle()
            finally:
                await sidecar.aclose()

    with caplog.at_level(logging.ERROR, logger="llmscope.spc"):
        asyncio.run(run())
    (record,) = [r for r in caplog.records if r.name == "llmscope.spc"]
    assert (
        "HTTP 503: execution: query processing would load too many samples" in record.getMessage()
    )


def test_nothing_listening_is_a_connect_failure_with_no_results_yet() -> None:
    async def run() -> None:
        sidecar = _sidecar(f"http://127.0.0.1:{free_port()}", Clock())
        try:
            assert not await sidecar.cycle()
            assert _value(sidecar, "llmscope_spc_query_errors_total", reason="connect") == 1.0
            assert _value(sidecar, "llmscope_spc_up") == 0.0
            assert _value(sidecar, "llmscope_spc_series", chart="latency") is None
        finally:
            await sidecar.aclose()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("failed", "interval", "delay"),
    [
        (1, 30.0, 1.0),
        (2, 30.0, 2.0),
        (3, 30.0, 4.0),
        (5, 30.0, 16.0),
        (6, 30.0, 30.0),
        (100, 30.0, 30.0),
        (1, 0.5, 0.5),
    ],
)
def test_failed_cycles_are_retried_sooner_with_backoff_up_to_the_interval(
    failed: int, interval: float, delay: float
) -> None:
    assert backoff(failed, interval) == delay


def test_run_keeps_cycling_through_failures_until_stopped() -> None:
    async def run() -> int:
        sidecar = _sidecar(f"http://127.0.0.1:{free_port()}", Clock())
        original = sidecar.cycle
        calls = 0

        async def counted() -> bool:
            nonlocal calls
            calls += 1
            if calls == 2:
                sidecar.stop()
            return await original()

        sidecar.cycle = counted  # type: ignore[method-assign]
        try:
            await asyncio.wait_for(sidecar.run(), 30)
        finally:
            await sidecar.aclose()
        return calls

    assert asyncio.run(run()) == 2


def _one_failed_cycle(
    answer: Script, config: str, caplog: pytest.LogCaptureFixture
) -> tuple[dict[str, int], str]:
    """One cycle against ``answer``, which must fail: the query errors and the one error line."""

    async def run() -> dict[str, int]:
        async with serving(_scripted(answer)) as server:
            sidecar = Sidecar(lambda: load_text(config, "t.yml"), server.url, clock=Clock())
            try:
                assert not await sidecar.cycle()
                return dict(sidecar.collector.health.query_errors)
            finally:
                await sidecar.aclose()

    with caplog.at_level(logging.ERROR, logger="llmscope.spc"):
        errors = asyncio.run(run())
    (record,) = [r for r in caplog.records if r.name == "llmscope.spc"]
    return errors, record.getMessage()


HUGE = b'{"status":"success","data":{"resultType":"matrix","result":[' + b" " * (1 << 18)
OVERSIZED = [
    # A body that does not end (here: 48 MiB before it would), read 256 KiB at a time.
    Script(200, {"Content-Type": "application/json"}, [Step(HUGE)] * 192, ending="hang"),
    # 64 MiB of spaces in 64 KiB of gzip, sent though identity was asked for.
    Script(
        200,
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        [Step(gzip.compress(HUGE + b" " * (64 << 20), 9))],
    ),
]


@pytest.mark.parametrize("answer", OVERSIZED, ids=["endless", "gzip-bomb"])
def test_an_answer_past_max_answer_bytes_fails_the_query_not_the_process(
    answer: Script, caplog: pytest.LogCaptureFixture
) -> None:
    config = CONFIG.replace("max_range: 1d", "max_range: 1d, max_answer_bytes: 1048576")
    errors, logged = _one_failed_cycle(answer, config, caplog)
    assert errors["bad_response"] == 1
    assert "answer larger than max_answer_bytes (1048576 bytes" in logged


def test_the_presets_discovery_stops_reading_an_answer_past_its_limit() -> None:
    # The names of a few engines are kilobytes: a body past 16 MiB is not an answer.
    endless = Script(200, {"Content-Type": "application/json"}, [Step(b" " * (1 << 20))] * 32)

    async def run() -> None:
        async with serving(lambda request: endless) as server:
            with pytest.raises(DiscoveryError, match=f"larger than {MAX_ANSWER_BYTES} bytes"):
                await asyncio.to_thread(stored_names, server.url, ["vllm:num_requests"], 5.0)

    asyncio.run(run())


def test_presets_discovery_names_an_answer_nested_too_deeply() -> None:
    deep = Script(200, {"Content-Type": "application/json"}, [Step(b'{"data":' + DEEP + b"}")])

    async def run() -> None:
        async with serving(lambda request: deep) as server:
            with pytest.raises(DiscoveryError, match="not a Prometheus label values answer"):
                await asyncio.to_thread(stored_names, server.url, ["vllm:num_requests"], 5.0)

    asyncio.run(run())


def test_an_answer_in_gzip_inside_gzip_is_refused_unread(caplog: pytest.LogCaptureFixture) -> None:
    # httpx would unpack every layer named, 600 bytes into 64 MiB in one step.
    layered = gzip.compress(gzip.compress(HUGE + b" " * (64 << 20), 9), 9)
    answer = Script(
        200, {"Content-Type": "application/json", "Content-Encoding": "gzip, gzip"}, [Step(layered)]
    )

    errors, logged = _one_failed_cycle(answer, CONFIG, caplog)
    assert errors["bad_response"] == 1
    assert "Content-Encoding 'gzip, gzip' is not identity or gzip" in logged


def test_the_presets_discovery_gives_up_on_an_answer_that_trickles() -> None:
    # Each byte comes well within the read timeout, the whole answer never within it.
    answer = b'{"status":"success","data":["vllm:num_requests"]}'
    trickle = Script(200, {}, [Step(answer[i : i + 1], delay=0.1) for i in range(len(answer))])

    async def run() -> None:
        async with serving(lambda request: trickle) as server:
            with pytest.raises(DiscoveryError, match="not whole within 1s"):
                await asyncio.to_thread(stored_names, server.url, ["vllm:num_requests"], 1.0)

    asyncio.run(run())


def test_the_presets_discovery_asks_for_what_it_reads() -> None:
    # httpx offers "gzip, deflate" by default; bodies.py reads identity or gzip only.
    asked: list[str] = []

    def route(request: FakeRequest) -> Script:
        asked.append(request.headers.get("accept-encoding", ""))
        return Script(200, {}, [Step(b'{"status":"success","data":["vllm:num_requests"]}')])

    async def run() -> frozenset[str]:
        async with serving(route) as server:
            return await asyncio.to_thread(stored_names, server.url, ["vllm:num_requests"], 5.0)

    assert asyncio.run(run()) == {"vllm:num_requests"}
    assert asked == ["gzip"]
