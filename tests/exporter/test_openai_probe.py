"""OpenAI-compatible probes against a fake server speaking the real SSE format."""

from __future__ import annotations

import asyncio
import json

import pytest

from exporter.config.types import TargetConfig
from exporter.probing.harness import ProbeResult, run_probe
from exporter.providers.openai import OpenAIOptions, OpenAIProvider
from exporter.providers.protocol import ProbeContext
from exporter.transport.client import ProbeClient
from testkit.fakeserver import FakeRequest, Route, Script, Step, serving
from testkit.openai_fake import (
    DONE,
    SSE_HEADERS,
    always,
    chunk,
    error_script,
    stream_script,
)

PROVIDER = OpenAIProvider()


def target(base_url: str, **overrides: object) -> TargetConfig:
    fields: dict[str, object] = {
        "name": "oa",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "base_url": base_url,
        "timeout": 5.0,
        "stall_timeout": 0.5,
        "options": OpenAIOptions(),
    }
    fields.update(overrides)
    return TargetConfig(**fields)  # type: ignore[arg-type]


async def probe_once(
    route: Route, max_body: int = 1 << 20, **overrides: object
) -> tuple[ProbeResult, list[FakeRequest]]:
    async with serving(route) as server:
        client = ProbeClient(environ={})
        ctx = ProbeContext(
            client=client,
            target=target(server.url + "/v1", **overrides),
            prompt="Count from 1 to 20.",
            api_key="sk-test",
            max_body_bytes=max_body,
        )
        result = await run_probe(PROVIDER, ctx)
        client.close()
        return result, server.requests


def run(
    route: Route, max_body: int = 1 << 20, **overrides: object
) -> tuple[ProbeResult, list[FakeRequest]]:
    return asyncio.run(probe_once(route, max_body=max_body, **overrides))


def test_request_is_a_streaming_chat_completion_with_usage_and_max_tokens() -> None:
    result, requests = run(always(stream_script(["1", " 2"])))
    assert result.success, result.message
    (request,) = requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = json.loads(request.body)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 32
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"][0]["content"].startswith("Count from 1 to 20.")


def test_include_usage_can_be_turned_off_and_tokens_are_then_estimates() -> None:
    script = stream_script(["a", "b", "c"], usage=None)
    result, requests = run(always(script), options=OpenAIOptions(include_usage=False))
    assert "stream_options" not in json.loads(requests[0].body)
    assert result.success
    assert result.output_tokens == 3 and result.output_estimated
    assert result.input_estimated


def test_reported_usage_is_used_and_not_marked_estimated() -> None:
    result, _ = run(always(stream_script(["a", "b"], usage=(26, 10))))
    assert (result.input_tokens, result.output_tokens) == (26, 10)
    assert not result.input_estimated and not result.output_estimated


def test_measured_ttft_and_gaps_follow_the_scripted_delays() -> None:
    result, _ = run(always(stream_script(["1", " 2", " 3", " 4"], ttft=0.2, gap=0.05)))
    assert result.success
    assert result.time_to_first_chunk is not None
    assert 0.2 <= result.time_to_first_chunk < 0.2 + 0.15
    assert len(result.gaps) == 3
    assert all(0.05 <= g < 0.05 + 0.1 for g in result.gaps)
    assert result.duration >= result.time_to_first_chunk + sum(result.gaps)


def test_role_only_and_empty_chunks_do_not_count_as_first_content() -> None:
    steps = [
        Step(chunk(role=True).encode()),
        Step(chunk("").encode(), 0.1),
        Step(chunk("x").encode(), 0.15),
        Step(DONE.encode()),
    ]
    result, _ = run(always(Script(headers=SSE_HEADERS, steps=steps)))
    assert result.time_to_first_chunk is not None and result.time_to_first_chunk >= 0.25
    assert result.chunks == 1


def test_fresh_connection_mode_asks_the_server_to_close() -> None:
    _, requests = run(always(stream_script(["a"])), connection="fresh")
    assert requests[0].headers["connection"] == "close"


def test_connect_phase_is_measured() -> None:
    result, _ = run(always(stream_script(["a"])))
    assert set(result.phases) >= {"connect", "first_byte"}


FAULTS = [
    pytest.param(error_script(401, "Incorrect API key provided: sk-test"), "auth", 401, id="401"),
    pytest.param(
        error_script(429, "Rate limit reached", headers={"Retry-After": "7"}),
        "rate_limited",
        429,
        id="429",
    ),
    pytest.param(error_script(500, "The server had an error"), "server_error", 500, id="500"),
    pytest.param(error_script(503, "Overloaded"), "server_error", 503, id="503"),
    pytest.param(error_script(400, "Invalid model"), "client_error", 400, id="400"),
    pytest.param(
        Script(headers={"Content-Type": "text/html"}, steps=[Step(b"<html>maintenance</html>")]),
        "protocol",
        200,
        id="not-sse",
    ),
    pytest.param(
        Script(headers=SSE_HEADERS, steps=[Step(b"data: {not json\n\n")]),
        "protocol",
        200,
        id="malformed-json",
    ),
    pytest.param(
        Script(
            headers=SSE_HEADERS,
            steps=[
                Step(chunk("a").encode()),
                Step(
                    b'data: {"error": {"message": "model overloaded", "type": "server_error"}}\n\n'
                ),
            ],
        ),
        "provider_error",
        200,
        id="error-object-in-stream",
    ),
    pytest.param(
        Script(headers=SSE_HEADERS, steps=[Step(chunk("a").encode())], ending="close"),
        "truncated",
        200,
        id="closes-mid-stream",
    ),
    pytest.param(
        Script(headers=SSE_HEADERS, steps=[Step(chunk("a").encode())]),
        "truncated",
        200,
        id="ends-without-done",
    ),
    pytest.param(
        Script(headers=SSE_HEADERS, steps=[Step(chunk("a").encode())], ending="hang"),
        "stall",
        200,
        id="stalls-mid-stream",
    ),
    pytest.param(
        Script(headers=SSE_HEADERS, steps=[Step(DONE.encode())]), "empty", 200, id="no-content"
    ),
    pytest.param(
        Script(headers=SSE_HEADERS, steps=[Step(b"data: \xff\xfe\n\n")]),
        "protocol",
        200,
        id="invalid-utf8",
    ),
]


@pytest.mark.parametrize(("script", "reason", "status"), FAULTS)
def test_faults_map_to_their_reason(script: Script, reason: str, status: int) -> None:
    result, _ = run(always(script))
    assert not result.success
    assert result.reason == reason, result.message
    assert result.status == status
    assert "sk-test" not in result.message


def test_retry_after_is_carried_to_the_result() -> None:
    result, _ = run(always(error_script(429, "slow down", headers={"Retry-After": "7"})))
    assert result.retry_after == 7.0


def test_oversized_body_is_cut_off() -> None:
    script = stream_script(["x" * 4000] * 10)
    result, _ = run(always(script), max_body=8192)
    assert result.reason == "oversized"


def test_timeout_before_any_response() -> None:
    script = Script(headers=SSE_HEADERS, header_delay=1.0, steps=[Step(DONE.encode())])
    result, _ = run(always(script))
    assert result.reason == "timeout"


def test_overall_deadline_cuts_a_slow_but_steady_stream() -> None:
    script = stream_script(["a"] * 50, gap=0.05)
    result, _ = run(always(script), timeout=0.6, stall_timeout=1.0)
    assert result.reason == "timeout"


def test_connection_refused() -> None:
    async def go() -> ProbeResult:
        from testkit.realservers import free_port

        ctx = ProbeContext(
            client=ProbeClient(environ={}),
            target=target(f"http://127.0.0.1:{free_port()}/v1"),
            prompt="p",
            api_key="sk-test",
        )
        return await run_probe(PROVIDER, ctx)

    result = asyncio.run(go())
    assert result.reason == "connect"
    assert result.status is None


@pytest.mark.parametrize(("mode", "connects"), [("fresh", 2), ("keepalive", 1)])
def test_fresh_mode_pays_a_new_connection_on_every_probe(mode: str, connects: int) -> None:
    async def go() -> list[ProbeResult]:
        client = ProbeClient(environ={})
        async with serving(always(stream_script(["a"]))) as server:
            results = []
            for _ in range(2):
                ctx = ProbeContext(
                    client=client,
                    target=target(server.url + "/v1", connection=mode),
                    prompt="p",
                    api_key="sk-test",
                )
                results.append(await run_probe(PROVIDER, ctx))
            return results

    results = asyncio.run(go())
    assert all(r.success for r in results)
    assert sum("connect" in r.phases for r in results) == connects


def test_infinite_retry_after_is_ignored() -> None:
    result, _ = run(always(error_script(429, "x", headers={"Retry-After": "inf"})))
    assert result.reason == "rate_limited"
    assert result.retry_after is None


def test_a_redirect_says_so_with_its_status_and_location() -> None:
    """Issue 25: a 3xx read as "truncated"; its query (a signature, say) stays out."""
    moved = Script(
        status=301, headers={"Location": "https://api.example.com/v2/chat?sig=sk-test-signed"}
    )
    result, _ = run(always(moved))
    assert (result.reason, result.status) == ("protocol", 301)
    assert result.message == (
        "HTTP 301: a redirect to https://api.example.com/v2/chat; probes follow no redirect, "
        "so point base_url at where it leads"
    )


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("", None),  # an empty list names no coding (RFC 9110 section 5.6.1.2)
        ("identity", None),
        (
            "gzip",
            "the body is gzip-encoded (Content-Encoding: gzip) although the probe asked for "
            "identity",
        ),
    ],
)
def test_content_encoding_is_named_or_accepted_when_it_names_no_coding(
    encoding: str, message: str | None
) -> None:
    script = stream_script(["a", "b"])
    script.headers = {**script.headers, "Content-Encoding": encoding}
    result, _ = run(always(script))
    assert result.success is (message is None), result.message
    if message is not None:
        assert (result.reason, result.message) == ("protocol", message)


def test_a_repeated_identical_content_type_is_no_protocol_error() -> None:
    script = stream_script(["a", "b"])
    body = b"".join(b"%x\r\n%s\r\n" % (len(s.data), s.data) for s in script.steps)
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body
        + b"0\r\n\r\n"
    )
    result, _ = run(always(Script(raw=raw, raw_piece=7)))
    assert result.success, result.message
