"""Ollama ``/api/chat``, streamed as newline-delimited JSON (``application/x-ndjson``).

Per ollama's docs/api.md: one JSON object per line, ``message.content`` carrying text,
and a final object with ``done: true`` holding the token counts (``prompt_eval_count``,
``eval_count``) and the server's own timings in nanoseconds (``load_duration``,
``prompt_eval_duration``, ``eval_duration``, ``total_duration``). An error after the
stream started arrives as ``{"error": "..."}``. ``/api/generate`` objects (text in
``response``) decode the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from exporter.errors import ProbeError
from exporter.providers.http import HttpProvider
from exporter.providers.protocol import (
    HttpCall,
    ServerTiming,
    StreamDecoder,
    StreamEvent,
    TextChunk,
    Usage,
)
from exporter.providers.wire.jsonbody import as_int, parse_object
from exporter.providers.wire.lines import LineSplitter

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

DEFAULT_URL = "http://localhost:11434"
NDJSON_TYPES = ("application/x-ndjson",)
# Final-object duration fields (nanoseconds) and the phase names they are exported under.
TIMINGS = {
    "load_duration": "load",
    "prompt_eval_duration": "prompt_eval",
    "eval_duration": "eval",
    "total_duration": "total",
}


class OllamaChatDecoder:
    """Decodes NDJSON chat objects until the one with ``done: true``."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._done = False

    def feed(self, data: bytes) -> list[StreamEvent]:
        return self._events(self._lines.feed(data))

    def close(self) -> list[StreamEvent]:
        events = self._events(self._lines.close())
        if not self._done:
            raise ProbeError("truncated", 'stream ended before the object with "done": true')
        return events

    def _events(self, lines: list[str]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for line in lines:
            if self._done or not line.strip():
                continue
            obj = parse_object(line, "stream line")
            if obj.get("error") is not None:
                raise ProbeError("provider_error", str(obj["error"])[:200])
            text = _text(obj)
            if text:
                out.append(TextChunk(text))
            if obj.get("done") is True:
                self._done = True
                out.extend(_final(obj))
        return out


def _text(obj: Mapping[str, Any]) -> str:
    message = obj.get("message")
    parts = [obj.get("response")]
    if isinstance(message, dict):
        # Thinking models stream their reasoning in message.thinking before the answer.
        parts += [message.get("thinking"), message.get("content")]
    return "".join(p for p in parts if isinstance(p, str))


def _final(obj: Mapping[str, Any]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    prompt, generated = as_int(obj.get("prompt_eval_count")), as_int(obj.get("eval_count"))
    if prompt is not None or generated is not None:
        out.append(Usage(input_tokens=prompt, output_tokens=generated))
    for field, phase in TIMINGS.items():
        nanoseconds = as_int(obj.get(field))
        if nanoseconds is not None:
            out.append(ServerTiming(phase, nanoseconds / 1e9))
    return out


class OllamaProvider(HttpProvider):
    kind = "ollama"
    default_base_url = DEFAULT_URL
    # Not among the semconv's well-known values; the convention allows a custom one.
    semconv_name = "ollama"

    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        options: dict[str, float | int] = {"num_predict": target.max_tokens}
        if target.sampling is not None:
            if target.sampling.temperature is not None:
                options["temperature"] = target.sampling.temperature
            if target.sampling.seed is not None:
                options["seed"] = target.sampling.seed
        body = {
            "model": target.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            "options": options,
        }
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if api_key:  # a reverse proxy in front of Ollama may want one
            headers["Authorization"] = f"Bearer {api_key}"
        return HttpCall(
            method="POST",
            url=f"{self.endpoint(target)}/api/chat",
            headers=headers,
            body=json.dumps(body).encode(),
            content_types=NDJSON_TYPES,
            secrets=(api_key,) if api_key else (),
        )

    def decoder(self) -> StreamDecoder:
        return OllamaChatDecoder()
