"""Google Gemini (Developer API) ``models/{model}:streamGenerateContent?alt=sse``.

Each SSE ``data:`` event is a GenerateContentResponse: text in
``candidates[].content.parts[].text`` (thought summaries, with ``includeThoughts``, in parts
marked ``thought: true``), token counts in ``usageMetadata`` (repeated on every chunk,
complete on the last; ``thoughtsTokenCount`` apart from ``candidatesTokenCount``), and the
serving model in ``modelVersion``. There is no end sentinel: the stream is complete once
a candidate carries a ``finishReason``. An error after the stream started comes as an
object with ``error`` (``code``, ``message``, ``status``), either in a ``data:`` event or,
as Google's SDK test data for Vertex shows, as bare JSON after the events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import yaml

from exporter.errors import ProbeError, Reason
from exporter.providers.http import HttpProvider
from exporter.providers.openai import SSE_TYPES
from exporter.providers.protocol import (
    HttpCall,
    ServedBy,
    StreamDecoder,
    StreamEvent,
    TextChunk,
    Usage,
)
from exporter.providers.wire.jsonbody import as_int, error_summary, loads_or_none, parse_object
from exporter.providers.wire.lines import LineSplitter
from exporter.providers.wire.sse import SseDecoder, SseEvent
from exporter.transport.netfail import finite_seconds
from exporter.transport.urls import append_path
from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

DEFAULT_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
_SSE_FIELDS = frozenset({"data", "event", "id", "retry"})
MAX_BARE = 64 << 10  # text outside the events: an error object, never more than this


@dataclass(frozen=True)
class GeminiOptions:
    api_version: str = API_VERSION
    # Thinking models count thoughts against maxOutputTokens; 0 turns thinking off
    # where the model allows it, so a small probe still gets an answer.
    thinking_budget: int | None = None
    # Stream thought summaries (parts with thought: true), so time to first reasoning shows.
    include_thoughts: bool = False


class GenerateContentDecoder:
    """Decodes streamGenerateContent chunks until one carries a finishReason."""

    def __init__(self) -> None:
        self._sse = SseDecoder()
        self._lines = LineSplitter()  # sees the same bytes, to catch bare JSON errors
        self._bare: list[str] = []
        self._bare_size = 0
        self._finished = False
        self._version = ""

    def feed(self, data: bytes) -> list[StreamEvent]:
        events = self._events(self._sse.feed(data))
        self._bare_lines(self._lines.feed(data), final=False)
        return events

    def close(self) -> list[StreamEvent]:
        events = self._events(self._sse.close())
        self._bare_lines(self._lines.close(), final=True)
        if not self._finished:
            raise ProbeError("truncated", "stream ended before a candidate had a finishReason")
        return events

    def _events(self, sse_events: list[SseEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for sse in sse_events:
            chunk = parse_object(sse.data, "stream chunk")
            out.extend(self._chunk(chunk))
        return out

    def _chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        if chunk.get("error") is not None:
            raise ProbeError("provider_error", error_text(chunk["error"]))
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            raise ProbeError("provider_error", f"prompt blocked: {feedback['blockReason']}")
        out: list[StreamEvent] = []
        for candidate in chunk.get("candidates") or []:
            if not isinstance(candidate, dict):
                raise ProbeError("protocol", "stream chunk has a malformed candidate")
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts or []:
                text = part.get("text") if isinstance(part, dict) else None
                if isinstance(text, str) and text:
                    # includeThoughts streams thought summaries as parts with thought: true.
                    out.append(TextChunk(text, part.get("thought") is True))
            if candidate.get("finishReason"):
                self._finished = True
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict):
            out.append(_usage(usage))
        version = chunk.get("modelVersion")
        if isinstance(version, str) and version and version != self._version:
            self._version = version
            out.append(ServedBy(version=version))
        return out

    def _bare_lines(self, lines: list[str], *, final: bool) -> None:
        added = False
        for line in lines:
            name = line.partition(":")[0]
            if line and not line.startswith(":") and name not in _SSE_FIELDS:
                self._bare.append(line)
                self._bare_size += len(line) + 1
                added = True
        if self._bare_size > MAX_BARE:  # an error object is a few hundred bytes
            raise ProbeError("protocol", f"text outside the SSE events past {MAX_BARE} bytes")
        # Parsed when an object or array may have just closed, not at every line: parsing
        # all the lines so far each time cost time quadratic in their length.
        closing = added and self._bare[-1].rstrip().endswith(("}", "]"))
        if not self._bare or not (final or closing):
            return
        text = "\n".join(self._bare)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            # Complete lines that already fail before their end fail whatever follows (a
            # string cannot go on across lines): only a failure at the end may be an object
            # still on its way.
            if final or err.pos < len(text.rstrip()):
                raise ProbeError("protocol", "text outside the SSE events is not JSON") from None
            return
        except RecursionError:  # nested past Python's limit
            raise ProbeError(
                "protocol", "text outside the SSE events is nested too deeply"
            ) from None
        if isinstance(value, dict) and value.get("error") is not None:
            raise ProbeError("provider_error", error_text(value["error"]))
        raise ProbeError("protocol", "unexpected JSON outside the SSE events")


def _usage(usage: Mapping[str, Any]) -> Usage:
    # Thoughts are billed as output; candidatesTokenCount excludes them.
    thoughts = as_int(usage.get("thoughtsTokenCount"))
    parts = [as_int(usage.get("candidatesTokenCount")), thoughts]
    counted = [p for p in parts if p is not None]
    return Usage(
        input_tokens=as_int(usage.get("promptTokenCount")),
        output_tokens=sum(counted) if counted else None,
        cached_input_tokens=as_int(usage.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


def error_text(error: object) -> str:
    """``STATUS (code): message`` of a google.rpc.Status-style error object."""
    if not isinstance(error, dict):
        return str(error)[:200]
    status, code, message = error.get("status"), error.get("code"), error.get("message")
    head = " ".join(str(p) for p in (status, f"({code})" if code is not None else None) if p)
    text = ": ".join(p for p in (head, str(message) if message else "") if p)
    return (text or "error object without details")[:200]


class GeminiProvider(HttpProvider):
    kind = "gemini"
    default_base_url = DEFAULT_URL
    semconv_name = "gcp.gemini"
    option_keys = frozenset({"api_version", "thinking_budget", "include_thoughts"})

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        return GeminiOptions(
            api_version=reader.optional(keys, "api_version", path, reader.string, API_VERSION),
            thinking_budget=reader.optional(
                keys, "thinking_budget", path, lambda n, p: reader.integer(n, p, minimum=-1), None
            ),
            include_thoughts=reader.optional(keys, "include_thoughts", path, reader.boolean, False),
        )

    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        options = target.options if isinstance(target.options, GeminiOptions) else GeminiOptions()
        config: dict[str, Any] = {"maxOutputTokens": target.max_tokens}
        thinking: dict[str, Any] = {}
        if options.thinking_budget is not None:
            thinking["thinkingBudget"] = options.thinking_budget
        if options.include_thoughts:
            thinking["includeThoughts"] = True
        if thinking:
            config["thinkingConfig"] = thinking
        if target.sampling is not None:
            if target.sampling.temperature is not None:
                config["temperature"] = target.sampling.temperature
            if target.sampling.seed is not None:
                config["seed"] = target.sampling.seed
        body = {
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": config,
        }
        model = quote(target.model.removeprefix("models/"), safe="")
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if api_key:
            headers["x-goog-api-key"] = api_key
        base = self.endpoint(target)
        return HttpCall(
            method="POST",
            url=append_path(
                base, f"/{options.api_version}/models/{model}:streamGenerateContent?alt=sse"
            ),
            headers=headers,
            body=json.dumps(body).encode(),
            content_types=SSE_TYPES,
            secrets=(api_key,) if api_key else (),
        )

    def decoder(self) -> StreamDecoder:
        return GenerateContentDecoder()

    def error_message(self, status: int, body: bytes) -> str:
        error = _status(body)
        return error_text(error) if error is not None else error_summary(body)

    def error_reason(self, status: int, body: bytes, reason: Reason) -> Reason:
        """Google answers a bad key with 400 INVALID_ARGUMENT and ErrorInfo API_KEY_INVALID."""
        if status == 400 and any(d.get("reason") == "API_KEY_INVALID" for d in _details(body)):
            return "auth"
        return reason

    def retry_after(self, body: bytes) -> float | None:
        """A 429 RESOURCE_EXHAUSTED carries google.rpc.RetryInfo, e.g. retryDelay "37s"."""
        for detail in _details(body):
            delay = detail.get("retryDelay")
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo") and isinstance(
                delay, str
            ):
                return finite_seconds(delay.removesuffix("s"))
        return None


def _status(body: bytes) -> dict[str, Any] | None:
    """The google.rpc.Status (``error``) object of an error body, or None."""
    value = loads_or_none(body)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # streaming endpoints may wrap the error in an array
    error = value.get("error") if isinstance(value, dict) else None
    return error if isinstance(error, dict) else None


def _details(body: bytes) -> list[dict[str, Any]]:
    """The ``error.details`` list of a google.rpc.Status error body, or nothing."""
    details = (_status(body) or {}).get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
