"""Anthropic Messages streaming: transcripts, a fake server, and every fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from exporter.accounting.pricing import cost_usd, price_for
from exporter.config.types import TargetConfig
from exporter.providers.anthropic import AnthropicOptions, AnthropicProvider, MessagesDecoder
from testkit.fakeserver import Script, Step
from testkit.wire import (
    ANTHROPIC_HEADERS,
    Plan,
    always,
    anthropic_error,
    anthropic_script,
    json_error,
)
from tests.providers.support import (
    assert_timing_follows,
    check_transcript,
    cut_points,
    decode,
    one_byte_pieces,
    probe,
    recorded_cost,
    splits,
    target,
    transcripts,
    truncation_reasons,
)

PROVIDER = AnthropicProvider()
MODEL = "claude-haiku-4-5"
TRANSCRIPTS = transcripts("anthropic_", ".sse")


def make(url: str) -> TargetConfig:
    return target("anthropic", url, MODEL, AnthropicOptions())


def check(path: Path, pieces: list[bytes]) -> None:
    check_transcript(MessagesDecoder(), path, pieces)


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
def test_anthropic_transcript_decodes_whole_and_byte_by_byte(path: Path) -> None:
    body = path.read_bytes()
    check(path, [body])
    check(path, one_byte_pieces(body))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
@settings(max_examples=40, deadline=None)
@given(cuts=cut_points())
def test_anthropic_transcript_decodes_at_any_split(path: Path, cuts: list[int]) -> None:
    check(path, splits(path.read_bytes(), cuts))


def test_cache_reads_count_as_input_and_as_cached_input() -> None:
    start = {
        "type": "message_start",
        "message": {
            "usage": {
                "input_tokens": 5,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 20,
                "output_tokens": 1,
            }
        },
    }
    body = f"event: message_start\ndata: {json.dumps(start)}\n\n".encode()
    out = decode(MessagesDecoder(), [body])
    assert out.usage.input_tokens == 125
    assert out.usage.cached_input_tokens == 100


def test_request_carries_key_version_model_and_max_tokens() -> None:
    result, requests = probe(PROVIDER, always(anthropic_script(Plan())), make)
    assert result.success, result.message
    (request,) = requests
    assert request.method == "POST" and request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "test-key-0123"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = json.loads(request.body)
    assert body["model"] == MODEL and body["stream"] is True and body["max_tokens"] == 32
    assert body["messages"][0]["content"].startswith("Count from 1 to 20.")


def test_timing_tokens_cost_and_rate_limits_come_out_right() -> None:
    plan = Plan(pieces=("1", " 2", " 3"), ttft=0.15, gap=0.05, input_tokens=14, output_tokens=3)
    result, _ = probe(PROVIDER, always(anthropic_script(plan)), make)
    assert result.success, result.message
    assert_timing_follows(result, ttft=0.15, gap=0.05, chunks=3)
    assert (result.input_tokens, result.output_tokens) == (14, 3)
    assert not result.input_estimated and not result.output_estimated
    assert result.rate_limits == {
        "requests": 999.0,
        "tokens": 96000.0,
        "input_tokens": 80000.0,
        "output_tokens": 16000.0,
    }
    t = make("http://127.0.0.1")
    price = price_for(t)
    assert price is not None
    assert recorded_cost(t, PROVIDER, result) == pytest.approx(cost_usd(price, 14, 3))


def test_429_gives_rate_limited_and_the_servers_retry_after() -> None:
    script = json_error(
        429,
        anthropic_error("rate_limit_error", "Number of requests has exceeded your rate limit"),
        {"retry-after": "17", "anthropic-ratelimit-requests-remaining": "0"},
    )
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "rate_limited" and result.status == 429
    assert result.retry_after == 17.0
    assert result.rate_limits["requests"] == 0.0
    assert "rate_limit_error" in result.message


def test_401_is_auth_and_the_key_is_not_in_the_message() -> None:
    script = json_error(
        401, anthropic_error("authentication_error", "invalid x-api-key test-key-0123")
    )
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "auth" and result.status == 401
    assert "authentication_error" in result.message
    assert "test-key-0123" not in result.message


@pytest.mark.parametrize("status", [500, 503, 529])
def test_server_errors_and_overloaded_are_server_error(status: int) -> None:
    result, _ = probe(
        PROVIDER,
        always(json_error(status, anthropic_error("overloaded_error", "Overloaded"))),
        make,
    )
    assert result.reason == "server_error" and result.status == status
    assert "overloaded_error: Overloaded" in result.message


def test_error_event_mid_stream_is_provider_error() -> None:
    result, _ = probe(PROVIDER, always(anthropic_script(Plan(error_after=2))), make)
    assert result.reason == "provider_error"
    assert "overloaded_error" in result.message


def test_stream_cut_before_message_stop_is_truncated() -> None:
    cut = anthropic_script(Plan(cut_after=2))
    assert truncation_reasons(PROVIDER, cut, make) == ("truncated", "truncated")


def test_json_body_instead_of_a_stream_is_protocol() -> None:
    script = Script(headers={"Content-Type": "application/json"}, steps=[Step(b"{}")])
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "protocol"


def test_malformed_event_data_is_protocol() -> None:
    script = Script(
        headers=ANTHROPIC_HEADERS, steps=[Step(b"event: message_start\ndata: {not json\n\n")]
    )
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "protocol"
