"""Azure OpenAI: the deployment URL and api-key header around the OpenAI decoder."""

from __future__ import annotations

import json

import pytest

from exporter.accounting.pricing import cost_usd, price_for
from exporter.config.types import TargetConfig
from exporter.providers.azure import API_VERSION, AzureOpenAIProvider, AzureOptions
from exporter.providers.openai import ChatCompletionsDecoder
from testkit.fakeserver import Script, Step
from testkit.wire import always, json_error
from tests.providers.support import (
    TRANSCRIPTS,
    assert_timing_follows,
    decode,
    probe,
    recorded_cost,
    sidecar,
    target,
)

PROVIDER = AzureOpenAIProvider()
RECORDED = TRANSCRIPTS / "openai_chat_completions_include_usage.sse"
HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "x-ratelimit-remaining-requests": "249",
    "x-ratelimit-remaining-tokens": "249920",
}


def make(url: str, **options: object) -> TargetConfig:
    return target("azure_openai", url, "gpt-4o", AzureOptions(**options))  # type: ignore[arg-type]


def recorded_script(ttft: float = 0.0, gap: float = 0.0) -> Script:
    """The recorded OpenAI stream, one SSE event per step, with scripted delays."""
    events = [e + b"\n\n" for e in RECORDED.read_bytes().split(b"\n\n") if e.strip()]
    delays = [0.0] + [ttft] + [gap] * (len(events) - 2)
    return Script(headers=HEADERS, steps=[Step(e, d) for e, d in zip(events, delays, strict=True)])


def test_request_goes_to_the_deployment_with_api_version_and_api_key() -> None:
    result, requests = probe(PROVIDER, always(recorded_script()), make)
    assert result.success, result.message
    (request,) = requests
    assert request.path == "/openai/deployments/gpt-4o/chat/completions"
    assert request.query == f"api-version={API_VERSION}"
    assert request.headers["api-key"] == "test-key-0123"
    assert "authorization" not in request.headers
    body = json.loads(request.body)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_deployment_and_api_version_can_be_set() -> None:
    url = PROVIDER.build_call(
        make(
            "https://r.openai.azure.com", deployment="prod mini", api_version="2025-04-01-preview"
        ),
        "hi",
        "k",
    ).url
    assert url == (
        "https://r.openai.azure.com/openai/deployments/prod%20mini/chat/completions"
        "?api-version=2025-04-01-preview"
    )


def test_recorded_stream_gives_text_tokens_timing_rate_limits_and_cost() -> None:
    expected = sidecar(RECORDED)["expected"]
    result, _ = probe(PROVIDER, always(recorded_script(ttft=0.1, gap=0.02)), make)
    assert result.success, result.message
    assert (result.input_tokens, result.output_tokens) == (
        expected["input_tokens"],
        expected["output_tokens"],
    )
    text_chunks = decode(ChatCompletionsDecoder(), [RECORDED.read_bytes()]).chunks
    assert_timing_follows(result, ttft=0.1, gap=0.02, chunks=text_chunks)
    assert result.rate_limits == {"requests": 249.0, "tokens": 249920.0}
    t = make("http://127.0.0.1")
    price = price_for(t)
    assert price is not None
    assert recorded_cost(t, PROVIDER, result) == pytest.approx(
        cost_usd(price, expected["input_tokens"], expected["output_tokens"])
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "rate_limited"), (401, "auth"), (500, "server_error"), (503, "server_error")],
)
def test_error_statuses_map_to_reasons(status: int, reason: str) -> None:
    body = {"error": {"code": str(status), "message": "Requests have exceeded the limit."}}
    result, _ = probe(PROVIDER, always(json_error(status, body, {"retry-after": "5"})), make)
    assert result.reason == reason and "exceeded the limit" in result.message
    if status == 429:
        assert result.retry_after == 5.0


def test_error_mid_stream_is_provider_error_and_missing_done_is_truncated() -> None:
    steps = recorded_script().steps[:3]
    error = Step(b'data: {"error": {"message": "content filter", "type": "server_error"}}\n\n')
    result, _ = probe(PROVIDER, always(Script(headers=HEADERS, steps=[*steps, error])), make)
    assert result.reason == "provider_error" and "content filter" in result.message
    result, _ = probe(PROVIDER, always(Script(headers=HEADERS, steps=steps)), make)
    assert result.reason == "truncated"
