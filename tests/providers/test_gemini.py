"""Gemini streamGenerateContent?alt=sse: transcript, a fake server, and every fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from exporter.accounting.pricing import cost_usd, price_for
from exporter.config.types import TargetConfig
from exporter.providers.gemini import GeminiOptions, GeminiProvider, GenerateContentDecoder
from testkit.fakeserver import Script, Step
from testkit.wire import GEMINI_HEADERS, Plan, always, gemini_error, gemini_script, json_error
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

PROVIDER = GeminiProvider()
MODEL = "gemini-2.5-flash"
TRANSCRIPTS = transcripts("gemini_", ".sse")


def make(url: str, **options: object) -> TargetConfig:
    return target("gemini", url, MODEL, GeminiOptions(**options))  # type: ignore[arg-type]


def check(path: Path, pieces: list[bytes]) -> None:
    check_transcript(GenerateContentDecoder(), path, pieces)


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
def test_gemini_transcript_decodes_whole_and_byte_by_byte(path: Path) -> None:
    body = path.read_bytes()
    check(path, [body])
    check(path, one_byte_pieces(body))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
@settings(max_examples=40, deadline=None)
@given(cuts=cut_points())
def test_gemini_transcript_decodes_at_any_split(path: Path, cuts: list[int]) -> None:
    check(path, splits(path.read_bytes(), cuts))


def test_thought_tokens_are_output_and_cached_content_is_cached_input() -> None:
    chunk = {
        "candidates": [
            {"content": {"parts": [{"text": "hm", "thought": True}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {
            "promptTokenCount": 10,
            "cachedContentTokenCount": 4,
            "candidatesTokenCount": 22,
            "thoughtsTokenCount": 540,
        },
    }
    out = decode(GenerateContentDecoder(), [f"data: {json.dumps(chunk)}\n\n".encode()])
    assert out.error is None
    assert (out.reasoning, out.usage.input_tokens, out.usage.output_tokens) == ("hm", 10, 562)
    assert (out.usage.cached_input_tokens, out.usage.reasoning_tokens) == (4, 540)


def test_request_uses_the_stream_url_key_header_and_max_output_tokens() -> None:
    result, requests = probe(
        PROVIDER, always(gemini_script(Plan())), lambda u: make(u, thinking_budget=0)
    )
    assert result.success, result.message
    (request,) = requests
    assert request.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert request.query == "alt=sse"
    assert request.headers["x-goog-api-key"] == "test-key-0123"
    body = json.loads(request.body)
    assert body["contents"][0]["parts"][0]["text"].startswith("Count from 1 to 20.")
    assert body["generationConfig"] == {
        "maxOutputTokens": 32,
        "thinkingConfig": {"thinkingBudget": 0},
    }


def test_timing_tokens_and_cost_come_out_right() -> None:
    plan = Plan(
        pieces=("The", " capital", " is", " Cheyenne."),
        ttft=0.12,
        gap=0.04,
        input_tokens=7,
        output_tokens=10,
    )
    result, _ = probe(PROVIDER, always(gemini_script(plan)), make)
    assert result.success, result.message
    assert_timing_follows(result, ttft=0.12, gap=0.04, chunks=4)
    assert (result.input_tokens, result.output_tokens) == (7, 10)
    assert result.rate_limits == {}
    t = make("http://127.0.0.1")
    price = price_for(t)
    assert price is not None
    assert recorded_cost(t, PROVIDER, result) == pytest.approx(cost_usd(price, 7, 10))


def test_429_gives_rate_limited_with_retry_after() -> None:
    script = json_error(
        429, gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded"), {"Retry-After": "30"}
    )
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "rate_limited" and result.retry_after == 30.0
    assert "RESOURCE_EXHAUSTED" in result.message


@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, "auth"), (403, "auth"), (500, "server_error"), (503, "server_error")],
)
def test_error_statuses_map_to_reasons(status: int, reason: str) -> None:
    body = gemini_error(status, "PERMISSION_DENIED" if status < 500 else "UNAVAILABLE", "no")
    result, _ = probe(PROVIDER, always(json_error(status, body)), make)
    assert result.reason == reason and result.status == status


def test_error_wrapped_in_an_array_is_still_summarised() -> None:
    body = json.dumps([gemini_error(400, "INVALID_ARGUMENT", "API key not valid.")]).encode()
    script = Script(status=400, headers={"Content-Type": "application/json"}, steps=[Step(body)])
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "client_error"
    assert "INVALID_ARGUMENT (400): API key not valid." in result.message


def test_bare_json_error_after_the_events_is_provider_error() -> None:
    result, _ = probe(PROVIDER, always(gemini_script(Plan(error_after=2))), make)
    assert result.reason == "provider_error"
    assert "CANCELLED (499)" in result.message


def test_error_in_a_data_event_is_provider_error() -> None:
    event = b"data: " + json.dumps(gemini_error(500, "INTERNAL", "boom")).encode() + b"\r\n\r\n"
    script = Script(
        headers=GEMINI_HEADERS, steps=[*gemini_script(Plan(cut_after=1)).steps, Step(event)]
    )
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "provider_error" and "INTERNAL (500): boom" in result.message


def test_blocked_prompt_is_provider_error() -> None:
    event = b'data: {"promptFeedback": {"blockReason": "SAFETY"}}\n\n'
    result, _ = probe(PROVIDER, always(Script(headers=GEMINI_HEADERS, steps=[Step(event)])), make)
    assert result.reason == "provider_error" and "SAFETY" in result.message


def test_stream_cut_before_a_finish_reason_is_truncated() -> None:
    cut = gemini_script(Plan(cut_after=2))
    assert truncation_reasons(PROVIDER, cut, make) == ("truncated", "truncated")


def test_garbage_after_the_events_is_protocol() -> None:
    steps = [*gemini_script(Plan()).steps, Step(b"<html>oops</html>\n")]
    result, _ = probe(PROVIDER, always(Script(headers=GEMINI_HEADERS, steps=steps)), make)
    assert result.reason == "protocol"


def test_invalid_key_answered_with_400_is_auth() -> None:
    body = gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    body["error"]["details"] = [  # type: ignore[index]
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        }
    ]
    result, _ = probe(PROVIDER, always(json_error(400, body)), make)
    assert result.reason == "auth" and result.status == 400


def test_other_400_stays_client_error() -> None:
    body = gemini_error(400, "INVALID_ARGUMENT", "Invalid value at 'contents'")
    result, _ = probe(PROVIDER, always(json_error(400, body)), make)
    assert result.reason == "client_error"


def test_retry_delay_in_the_body_is_honoured_without_a_header() -> None:
    body = gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded")
    body["error"]["details"] = [  # type: ignore[index]
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
    ]
    result, _ = probe(PROVIDER, always(json_error(429, body)), make)
    assert result.reason == "rate_limited" and result.retry_after == 37.0


def test_endpoint_defaults_to_the_public_api() -> None:
    assert PROVIDER.endpoint(make("")) == "https://generativelanguage.googleapis.com"


@pytest.mark.parametrize("where", ["event", "error body"])
def test_json_nested_past_the_recursion_limit_is_protocol_not_a_crash(where: str) -> None:
    # "[[[[..." 50,000 deep is 100 kB, under every size cap, and makes json.loads raise
    # RecursionError: one protocol (or summarised client) error, no traceback.
    deep = b"[" * 50_000 + b"]" * 50_000
    if where == "event":
        script = Script(headers=GEMINI_HEADERS, steps=[Step(b"data: " + deep + b"\r\n\r\n")])
        result, _ = probe(PROVIDER, always(script), make)
        assert result.reason == "protocol" and "nested too deeply" in result.message
    else:
        script = Script(400, {"Content-Type": "application/json"}, [Step(deep)])
        result, _ = probe(PROVIDER, always(script), make)
        assert result.reason == "client_error"


@pytest.mark.parametrize(
    ("bare", "problem"),
    [
        # Invalid from its first line: refused at the first line that may close an object,
        # not parsed again at each of the "}" lines after it.
        (b"x\n" + b"}\n" * 20_000, "text outside the SSE events is not JSON"),
        # Never closing: refused past 64 KiB rather than kept.
        (b'{"error": {"message": "' + b"y" * 70_000 + b"\n", "past 65536 bytes"),
    ],
)
def test_text_outside_the_events_is_refused_early(bare: bytes, problem: str) -> None:
    script = Script(
        headers=GEMINI_HEADERS, steps=[Step(bare[i : i + 1460]) for i in range(0, len(bare), 1460)]
    )
    result, _ = probe(PROVIDER, always(script), make)
    assert result.reason == "protocol" and problem in result.message
