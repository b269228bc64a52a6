"""Reasoning streams of every provider that has them, through run_probe and a fake server:
time to first reasoning and time to first answer come out apart, reasoning tokens where the
provider counts them, answer throughput, the answer text, and what served the probe."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from exporter.config.types import TargetConfig
from exporter.probing.harness import ANSWER_LIMIT, ProbeResult
from exporter.providers.anthropic import AnthropicOptions, AnthropicProvider
from exporter.providers.bedrock import BedrockOptions, BedrockProvider
from exporter.providers.gemini import GeminiOptions, GeminiProvider
from exporter.providers.ollama import OllamaOptions, OllamaProvider
from exporter.providers.openai import OpenAIProvider
from exporter.providers.protocol import Provider, ServedBy
from testkit.fakeserver import FakeRequest, Route, Script
from testkit.openai_fake import stream_script
from testkit.thinking import (
    Thinking,
    anthropic_thinking_script,
    bedrock_reasoning_script,
    gemini_thinking_script,
    ollama_thinking_script,
    openai_reasoning_script,
    openai_silent_reasoning_script,
)
from testkit.wire import always, ollama_tags
from tests.providers.support import probe, target

PLAN = Thinking(first_thought=0.05, first_answer=0.1)
SLACK = 0.005  # timer wake-up granularity, as in assert_timing_follows
DIGEST = "a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a"


def check_phases(result: ProbeResult, plan: Thinking) -> None:
    """Reasoning first, the answer after the scripted pause; only lower bounds hold."""
    assert result.success, result.message
    first_reasoning, first_answer = result.time_to_first_reasoning, result.time_to_first_answer
    assert first_reasoning is not None and first_answer is not None
    assert result.time_to_first_chunk == first_reasoning
    assert first_reasoning >= plan.first_thought - SLACK
    assert first_answer - first_reasoning >= plan.first_answer - SLACK
    assert result.answer_text == "".join(plan.answer)


def bedrock() -> BedrockProvider:
    return BedrockProvider(environ={"AWS_REGION": "us-east-1"})


def ollama_route(request: FakeRequest) -> Script:
    if request.path == "/api/tags":
        return ollama_tags("qwen3:latest", digest=DIGEST)
    return ollama_thinking_script(PLAN)


CASES: list[tuple[str, Provider, Route, Callable[[str], TargetConfig], int | None, ServedBy]] = [
    (
        "deepseek reasoning_content",
        OpenAIProvider(),
        always(openai_reasoning_script(PLAN)),
        lambda url: target("openai", url, "deepseek-reasoner"),
        30,
        ServedBy(model="deepseek-reasoner", fingerprint="fp_think"),
    ),
    (
        "vllm reasoning",
        OpenAIProvider(),
        always(openai_reasoning_script(PLAN, field="reasoning")),
        lambda url: target("openai", url, "Qwen/Qwen3-8B"),
        30,
        ServedBy(model="deepseek-reasoner", fingerprint="fp_think"),
    ),
    (
        "anthropic thinking",
        AnthropicProvider(),
        always(anthropic_thinking_script(PLAN)),
        lambda url: target(
            "anthropic", url, "claude-sonnet-4-5", AnthropicOptions(thinking_budget=1024)
        ),
        None,  # Anthropic counts thinking inside output_tokens only
        ServedBy(model="claude-sonnet-4-5-20250929"),
    ),
    (
        "gemini thought summaries",
        GeminiProvider(),
        always(gemini_thinking_script(PLAN)),
        lambda url: target("gemini", url, "gemini-2.5-flash", GeminiOptions(include_thoughts=True)),
        30,
        ServedBy(version="gemini-2.5-flash"),
    ),
    (
        "ollama think",
        OllamaProvider(),
        ollama_route,
        lambda url: target("ollama", url, "qwen3", OllamaOptions(think=True)),
        None,  # eval_count does not split thinking from the answer
        ServedBy(model="qwen3", digest=DIGEST),
    ),
    (
        "bedrock reasoningContent",
        bedrock(),
        always(bedrock_reasoning_script(PLAN, invoked_model="anthropic.claude-3-5-haiku")),
        lambda url: target("bedrock", url, "router-arn", BedrockOptions(region="us-east-1")),
        None,
        ServedBy(model="anthropic.claude-3-5-haiku"),
    ),
]


@pytest.mark.parametrize(
    ("provider", "route", "make", "reasoning_tokens", "served"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_thinking_stream_yields_both_timings(
    provider: Provider,
    route: Route,
    make: Callable[[str], TargetConfig],
    reasoning_tokens: int | None,
    served: ServedBy,
) -> None:
    result, _ = probe(provider, route, make)
    check_phases(result, PLAN)
    assert result.reasoning_tokens == reasoning_tokens
    assert result.output_tokens == PLAN.reasoning_tokens + PLAN.answer_tokens
    assert result.served == served
    if reasoning_tokens is None:
        # Output tokens cannot be split: no throughput rather than a wrong one.
        assert result.answer_tokens is None and result.output_tokens_per_second is None
    else:
        assert result.answer_tokens == PLAN.answer_tokens
        assert result.output_tokens_per_second is not None
        # Answer tokens over the time after the first answer chunk, not after the first chunk.
        assert result.time_to_first_answer is not None
        expected = PLAN.answer_tokens / (result.duration - result.time_to_first_answer)
        assert result.output_tokens_per_second == pytest.approx(expected)


def test_openai_silent_reasoning_has_no_reasoning_chunk_but_counts_reasoning_tokens() -> None:
    plan = Thinking(answer=("4", ".", " Done"), first_thought=0.1, answer_tokens=3)
    result, _ = probe(
        OpenAIProvider(),
        always(openai_silent_reasoning_script(plan)),
        lambda u: target("openai", u, "o4-mini"),
    )
    assert result.success, result.message
    assert result.time_to_first_reasoning is None
    assert result.time_to_first_answer == result.time_to_first_chunk
    assert result.time_to_first_answer is not None and result.time_to_first_answer >= 0.1 - SLACK
    assert (result.reasoning_tokens, result.answer_tokens) == (30, 3)
    assert result.served == ServedBy(model="o4-mini-2025-04-16", fingerprint="fp_think")


def test_requests_ask_for_thinking_where_the_api_needs_it() -> None:
    cases: list[tuple[int, Callable[[dict[str, Any]], bool]]] = [
        (2, lambda b: b["thinking"] == {"type": "enabled", "budget_tokens": 1024}),
        (3, lambda b: b["generationConfig"]["thinkingConfig"] == {"includeThoughts": True}),
        (4, lambda b: b["think"] is True),
    ]
    for index, wanted in cases:
        _, provider, route, make, _, _ = CASES[index]
        _, requests = probe(provider, route, make)
        assert wanted(json.loads(requests[0].body)), requests[0].body


def test_without_reasoning_both_answer_timings_equal_the_first_chunk() -> None:
    result, _ = probe(
        OpenAIProvider(),
        always(stream_script(["1", " 2", " 3"], ttft=0.02)),
        lambda u: target("openai", u, "gpt-4o-mini"),
    )
    assert result.success and result.time_to_first_reasoning is None
    assert result.time_to_first_answer == result.time_to_first_chunk
    assert result.answer_tokens == result.output_tokens == 5  # the fake's usage chunk
    assert result.answer_text == "1 2 3"


def test_answer_text_is_bounded_and_leaves_reasoning_out() -> None:
    long = ("x" * 1000,) * 20
    plan = Thinking(thoughts=("secret thoughts",), answer=long)
    result, _ = probe(
        OpenAIProvider(),
        always(openai_reasoning_script(plan)),
        lambda u: target("openai", u, "deepseek-reasoner"),
    )
    assert result.success, result.message
    assert len(result.answer_text) == ANSWER_LIMIT
    assert set(result.answer_text) == {"x"}
    assert "answer_text" not in repr(result)  # never printed with the result


def test_ollama_digest_lookup_failure_leaves_the_stream_identity() -> None:
    def route(request: FakeRequest) -> Script:
        if request.path == "/api/tags":
            return Script(status=500, headers={"Content-Type": "text/plain"})
        return ollama_thinking_script(PLAN)

    result, requests = probe(
        OllamaProvider(), route, lambda u: target("ollama", u, "qwen3"), api_key=None
    )
    assert result.success, result.message
    assert result.served == ServedBy(model="qwen3")
    assert [r.path for r in requests] == ["/api/chat", "/api/tags"]
