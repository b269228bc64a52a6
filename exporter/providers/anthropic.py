"""Anthropic Messages API with ``stream: true``, as server-sent events.

Per the "Streaming Messages" docs: ``message_start`` (input usage), then per content
block ``content_block_start``, ``content_block_delta`` (``text_delta``) and
``content_block_stop``, ``ping`` at any time, ``message_delta`` (cumulative output usage),
and ``message_stop`` last. With extended thinking a ``thinking`` block (``thinking_delta``
events, then one ``signature_delta``) comes before the text block; its tokens are part of
``output_tokens``, which the API does not split. An ``error`` event (e.g.
``overloaded_error``) may arrive mid-stream. Unknown event types are skipped, as the docs
ask of clients.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from exporter.errors import ProbeError
from exporter.providers.http import HttpProvider
from exporter.providers.openai import SSE_TYPES, numeric_headers
from exporter.providers.protocol import (
    HttpCall,
    ServedBy,
    StreamDecoder,
    StreamEvent,
    TextChunk,
    Usage,
)
from exporter.providers.wire.jsonbody import as_int, error_summary, loads_or_none, parse_object
from exporter.providers.wire.sse import MarkedStreamDecoder, SseEvent
from exporter.transport.urls import append_path
from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

DEFAULT_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Delta types that carry generated text, the field holding it, and whether it is reasoning:
# the answer (text_delta) and extended thinking (thinking_delta, inside a "thinking" block;
# its closing signature_delta carries no text).
_DELTA_TEXT = {"text_delta": ("text", False), "thinking_delta": ("thinking", True)}
RATE_LIMIT_HEADERS = {
    "requests": "anthropic-ratelimit-requests-remaining",
    "tokens": "anthropic-ratelimit-tokens-remaining",
    "input_tokens": "anthropic-ratelimit-input-tokens-remaining",
    "output_tokens": "anthropic-ratelimit-output-tokens-remaining",
}


@dataclass(frozen=True)
class AnthropicOptions:
    anthropic_version: str = API_VERSION
    # Extended thinking's budget_tokens (the API's minimum is 1024, below max_tokens).
    thinking_budget: int | None = None


class MessagesDecoder(MarkedStreamDecoder):
    """Decodes Messages stream events until ``message_stop``."""

    end_marker = "message_stop"

    def event(self, sse: SseEvent) -> list[StreamEvent]:
        data = parse_object(sse.data, f"{sse.event} event")
        kind = data.get("type", sse.event)
        if kind == "error":
            raise ProbeError("provider_error", error_text(data))
        if kind == "message_start":
            return _message_start(data.get("message"))
        if kind == "content_block_delta":
            delta = data.get("delta")
            if isinstance(delta, dict):
                field, reasoning = _DELTA_TEXT.get(str(delta.get("type")), ("", False))
                text = delta.get(field)
                if isinstance(text, str) and text:
                    return [TextChunk(text, reasoning)]
        elif kind == "message_delta":
            usage = data.get("usage")
            return [_output_usage(usage)] if isinstance(usage, dict) else []
        elif kind == "message_stop":
            self.finish()
        return []


def _message_start(message: object) -> list[StreamEvent]:
    """Input usage, and the model that serves the message (``message.model``)."""
    if not isinstance(message, dict):
        return []
    out: list[StreamEvent] = []
    usage, model = message.get("usage"), message.get("model")
    if isinstance(usage, dict):
        out.append(_input_usage(usage))
    if isinstance(model, str) and model:
        out.append(ServedBy(model=model))
    return out


def _input_usage(usage: Mapping[str, Any]) -> Usage:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; add them up
    so input is the whole prompt and cached input a part of it, as the cost model wants."""
    base = as_int(usage.get("input_tokens"))
    read = as_int(usage.get("cache_read_input_tokens")) or 0
    written = as_int(usage.get("cache_creation_input_tokens")) or 0
    return Usage(
        input_tokens=None if base is None else base + read + written,
        cached_input_tokens=read if "cache_read_input_tokens" in usage else None,
    )


def _output_usage(usage: Mapping[str, Any]) -> Usage:
    inputs = _input_usage(usage)  # message_delta may repeat the input counts
    return Usage(
        input_tokens=inputs.input_tokens,
        output_tokens=as_int(usage.get("output_tokens")),
        cached_input_tokens=inputs.cached_input_tokens,
    )


def error_text(body: Mapping[str, Any]) -> str:
    """``type: message`` of an ``{"type": "error", "error": {...}}`` object."""
    error = body.get("error")
    if isinstance(error, dict):
        kind, message = error.get("type"), error.get("message")
        text = ": ".join(str(p) for p in (kind, message) if p) or "error event"
        return text[:200]
    return "error event without details"


class AnthropicProvider(HttpProvider):
    kind = "anthropic"
    default_base_url = DEFAULT_URL
    semconv_name = "anthropic"
    option_keys = frozenset({"anthropic_version", "thinking_budget"})

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        version = reader.optional(keys, "anthropic_version", path, reader.string, API_VERSION)
        budget = reader.optional(
            keys, "thinking_budget", path, lambda n, p: reader.integer(n, p, minimum=1024), None
        )
        return AnthropicOptions(anthropic_version=version, thinking_budget=budget)

    def validate(self, reader: Reader, target: TargetConfig, node: yaml.Node, path: str) -> None:
        options = target.options
        budget = options.thinking_budget if isinstance(options, AnthropicOptions) else None
        if budget is not None and budget >= target.max_tokens:
            reader.fail(
                node,
                f"{path}.thinking_budget",
                f"must be below max_tokens ({target.max_tokens}): thinking counts against it",
            )

    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        options = target.options
        if not isinstance(options, AnthropicOptions):
            options = AnthropicOptions()
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "anthropic-version": options.anthropic_version,
        }
        if api_key:
            headers["x-api-key"] = api_key
        body: dict[str, Any] = {
            "model": target.model,
            "max_tokens": target.max_tokens,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
        }
        if target.sampling is not None and target.sampling.temperature is not None:
            body["temperature"] = target.sampling.temperature  # the Messages API takes no seed
        if options.thinking_budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": options.thinking_budget}
        return HttpCall(
            method="POST",
            url=append_path(self.endpoint(target), "/v1/messages"),
            headers=headers,
            body=json.dumps(body).encode(),
            content_types=SSE_TYPES,
            secrets=(api_key,) if api_key else (),
        )

    def decoder(self) -> StreamDecoder:
        return MessagesDecoder()

    def error_message(self, status: int, body: bytes) -> str:
        value = loads_or_none(body)
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            return error_text(value)
        return error_summary(body)

    def rate_limits(self, headers: Mapping[str, str]) -> dict[str, float]:
        return numeric_headers(headers, RATE_LIMIT_HEADERS)
