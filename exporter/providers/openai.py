"""OpenAI Chat Completions, streamed as server-sent events.

Serves every OpenAI-compatible server too (vLLM, llama.cpp server, LM Studio, Groq,
Together, OpenRouter). Wire format, per the API reference: ``data: {chat.completion.chunk}``
events, the last data event ``choices: []`` with ``usage`` when
``stream_options.include_usage`` is set, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from exporter.errors import ProbeError
from exporter.providers.http import HttpProvider
from exporter.providers.protocol import (
    HttpCall,
    ServedBy,
    StreamDecoder,
    StreamEvent,
    TextChunk,
    Usage,
)
from exporter.providers.wire.jsonbody import as_int, parse_object
from exporter.providers.wire.sse import MarkedStreamDecoder, SseEvent
from exporter.transport.urls import append_path
from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

SSE_TYPES = ("text/event-stream",)
# Streamed fields that carry the answer: its content, or a refusal.
_ANSWER_FIELDS = ("content", "refusal")
# Reasoning some compatible servers stream before the answer: DeepSeek's API and vLLM's
# reasoning parsers send delta.reasoning_content; newer vLLM releases and OpenRouter
# name it delta.reasoning.
_REASONING_FIELDS = ("reasoning_content", "reasoning")


@dataclass(frozen=True)
class OpenAIOptions:
    include_usage: bool = True
    # Newer OpenAI models accept only max_completion_tokens; compatible servers max_tokens.
    max_tokens_field: str = "max_tokens"


class ChatCompletionsDecoder(MarkedStreamDecoder):
    """Decodes ``chat.completion.chunk`` events until ``[DONE]``."""

    end_marker = "data: [DONE]"

    def __init__(self) -> None:
        super().__init__()
        self._served: tuple[object, object] = (None, None)

    def event(self, sse: SseEvent) -> list[StreamEvent]:
        if sse.data.strip() == "[DONE]":
            self.finish()
            return []
        chunk = parse_object(sse.data, "stream chunk")
        if chunk.get("error") is not None:
            raise ProbeError("provider_error", _error_text(chunk["error"]))
        out = _chunk_events(chunk)
        # Every chunk repeats model and system_fingerprint: report them when they change.
        served = (chunk.get("model"), chunk.get("system_fingerprint"))
        if served != self._served:
            self._served = served
            out.append(ServedBy(model=_text(served[0]), fingerprint=_text(served[1])))
        return out


def _chunk_events(chunk: Mapping[str, Any]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise ProbeError("protocol", "stream chunk has a non-list choices field")
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        thought = "".join(v for f in _REASONING_FIELDS if isinstance(v := delta.get(f), str))
        if thought:
            out.append(TextChunk(thought, reasoning=True))
        text = "".join(v for f in _ANSWER_FIELDS if isinstance(v := delta.get(f), str))
        if text:
            out.append(TextChunk(text))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.append(_usage(usage))
    return out


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _usage(usage: Mapping[str, Any]) -> Usage:
    """``completion_tokens`` includes the reasoning tokens that
    ``completion_tokens_details.reasoning_tokens`` counts apart (o-series, gpt-5)."""
    prompt, completion = usage.get("prompt_tokens_details"), usage.get("completion_tokens_details")
    cached = as_int(prompt.get("cached_tokens")) if isinstance(prompt, dict) else None
    thought = as_int(completion.get("reasoning_tokens")) if isinstance(completion, dict) else None
    return Usage(
        input_tokens=as_int(usage.get("prompt_tokens")),
        output_tokens=as_int(usage.get("completion_tokens")),
        cached_input_tokens=cached,
        reasoning_tokens=thought,
    )


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "error in stream")[:200]
    return str(error)[:200]


def chat_body(target: TargetConfig, prompt: str, options: OpenAIOptions) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": target.model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        options.max_tokens_field: target.max_tokens,
    }
    if options.include_usage:
        body["stream_options"] = {"include_usage": True}
    if target.sampling is not None:
        if target.sampling.temperature is not None:
            body["temperature"] = target.sampling.temperature
        if target.sampling.seed is not None:
            body["seed"] = target.sampling.seed
    return body


class OpenAIProvider(HttpProvider):
    kind = "openai"
    semconv_name = "openai"
    option_keys = frozenset({"include_usage", "max_tokens_field"})

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        field_choice = reader.optional(
            keys,
            "max_tokens_field",
            path,
            lambda n, p: reader.choice(n, p, ("max_tokens", "max_completion_tokens")),
            "max_tokens",
        )
        return OpenAIOptions(
            include_usage=reader.optional(keys, "include_usage", path, reader.boolean, True),
            max_tokens_field=field_choice,
        )

    def validate(self, reader: Reader, target: TargetConfig, node: yaml.Node, path: str) -> None:
        if not target.base_url:
            reader.fail(node, f"{path}.base_url", "required (e.g. https://api.openai.com/v1)")

    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        options = target.options if isinstance(target.options, OpenAIOptions) else OpenAIOptions()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if api_key:
            headers.update(self.auth_headers(api_key))
        return HttpCall(
            method="POST",
            url=self.chat_url(target, options),
            headers=headers,
            body=json.dumps(chat_body(target, prompt, options)).encode(),
            content_types=SSE_TYPES,
            secrets=(api_key,) if api_key else (),
        )

    def chat_url(self, target: TargetConfig, options: OpenAIOptions) -> str:
        """The Chat Completions URL; flavours (Azure) change only this and the auth."""
        return append_path(target.base_url, "/chat/completions")

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def decoder(self) -> StreamDecoder:
        return ChatCompletionsDecoder()

    def rate_limits(self, headers: Mapping[str, str]) -> dict[str, float]:
        return numeric_headers(
            headers,
            {
                "requests": "x-ratelimit-remaining-requests",
                "tokens": "x-ratelimit-remaining-tokens",
            },
        )


def numeric_headers(headers: Mapping[str, str], names: Mapping[str, str]) -> dict[str, float]:
    """``{key: float(headers[name])}`` for each announced, numeric header."""
    out: dict[str, float] = {}
    for key, header in names.items():
        raw = headers.get(header)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        if math.isfinite(value):
            out[key] = value
    return out
