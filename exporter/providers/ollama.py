"""Ollama ``/api/chat``, streamed as newline-delimited JSON (``application/x-ndjson``).

Per ollama's docs/api.md: one JSON object per line, ``message.content`` carrying text,
and a final object with ``done: true`` holding the token counts (``prompt_eval_count``,
``eval_count``) and the server's own timings in nanoseconds (``load_duration``,
``prompt_eval_duration``, ``eval_duration``, ``total_duration``). Thinking models stream
their reasoning in ``message.thinking`` first. An error after the stream started arrives as
``{"error": "..."}``. ``/api/generate`` objects (text in ``response``, reasoning in
``thinking``) decode the same way. Each object names the ``model``; its digest comes from
``/api/tags`` after the probe, asked only when it can have changed: at a target's first
probe, when the stream names another model, after a failed probe (a server restarted or a
model not found may come back with a new pull), and at least every ``TAGS_REFRESH`` seconds
(a pull under the same tag changes nothing in the stream). Every other probe reuses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from exporter.errors import ProbeError
from exporter.providers.http import HttpProvider
from exporter.providers.protocol import (
    HttpCall,
    ProbeContext,
    ServedBy,
    ServerTiming,
    StreamDecoder,
    StreamEvent,
    TextChunk,
    Usage,
)
from exporter.providers.wire.jsonbody import as_int, loads_or_none, parse_object
from exporter.providers.wire.lines import LineSplitter
from exporter.transport.client import keepalive_idle
from exporter.transport.netfail import TransportError
from exporter.transport.urls import append_path
from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

DEFAULT_URL = "http://localhost:11434"
TAGS_TIMEOUT = 2.0  # seconds for the digest look-up after a probe
TAGS_REFRESH = 300.0  # seconds a digest is reused: a re-pull shows within five minutes
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
        self._model = ""

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
            out.extend(_chunks(obj))
            model = obj.get("model")
            if isinstance(model, str) and model and model != self._model:
                self._model = model
                out.append(ServedBy(model=model))
            if obj.get("done") is True:
                self._done = True
                out.extend(_final(obj))
        return out


def _chunks(obj: Mapping[str, Any]) -> list[StreamEvent]:
    """Thinking models stream reasoning in ``message.thinking`` (``thinking`` on
    /api/generate) before the answer in ``message.content`` (``response``)."""
    message = obj.get("message")
    holder = message if isinstance(message, dict) else obj
    answer_field = "content" if holder is message else "response"
    out: list[StreamEvent] = []
    thinking, answer = holder.get("thinking"), holder.get(answer_field)
    if isinstance(thinking, str) and thinking:
        out.append(TextChunk(thinking, reasoning=True))
    if isinstance(answer, str) and answer:
        out.append(TextChunk(answer))
    return out


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


@dataclass(frozen=True)
class OllamaOptions:
    # The request's "think": True streams a thinking model's reasoning in message.thinking,
    # False turns thinking off; None leaves the model's default.
    think: bool | None = None


class OllamaProvider(HttpProvider):
    kind = "ollama"
    default_base_url = DEFAULT_URL
    # Not among the semconv's well-known values; the convention allows a custom one.
    semconv_name = "ollama"
    option_keys = frozenset({"think"})

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        return OllamaOptions(think=reader.optional(keys, "think", path, reader.boolean, None))

    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        options: dict[str, float | int] = {"num_predict": target.max_tokens}
        if target.sampling is not None:
            if target.sampling.temperature is not None:
                options["temperature"] = target.sampling.temperature
            if target.sampling.seed is not None:
                options["seed"] = target.sampling.seed
        body: dict[str, Any] = {
            "model": target.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            "options": options,
        }
        own = target.options
        if isinstance(own, OllamaOptions) and own.think is not None:
            body["think"] = own.think
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        if api_key:  # a reverse proxy in front of Ollama may want one
            headers["Authorization"] = f"Bearer {api_key}"
        return HttpCall(
            method="POST",
            url=append_path(self.endpoint(target), "/api/chat"),
            headers=headers,
            body=json.dumps(body).encode(),
            content_types=NDJSON_TYPES,
            secrets=(api_key,) if api_key else (),
        )

    def decoder(self) -> StreamDecoder:
        return OllamaChatDecoder()

    async def identify(self, ctx: ProbeContext, served: ServedBy) -> ServedBy:
        """The served model's digest from ``GET /api/tags`` (a new pull under the same tag
        changes it), or the one looked up before while it cannot have changed. A failed
        look-up leaves the identity as the stream gave it until the next is due."""
        name = served.model or ctx.target.model
        recall, now = ctx.recall, ctx.clock()
        known = recall.served
        if (
            known is not None
            and known.model == name
            and not recall.stale
            and now - recall.at < TAGS_REFRESH
        ):
            return served.merged(ServedBy(digest=known.digest))
        digest = await self._lookup(ctx, name)
        recall.served, recall.at, recall.stale = ServedBy(model=name, digest=digest), now, False
        return served.merged(ServedBy(digest=digest))

    async def _lookup(self, ctx: ProbeContext, name: str) -> str | None:
        headers = {"Authorization": f"Bearer {ctx.api_key}"} if ctx.api_key else {}
        try:
            status, raw = await ctx.client.get(
                append_path(self.endpoint(ctx.target), "/api/tags"),
                pool=ctx.target.name,
                headers=headers,
                timeout=min(ctx.target.stall_timeout, TAGS_TIMEOUT),
                keep_idle=keepalive_idle(ctx.target.interval),
            )
        except TransportError:
            return None
        return tag_digest(loads_or_none(raw) if status == 200 else None, name)


def tag_digest(body: object, name: str) -> str | None:
    """The digest ``/api/tags`` lists for model ``name`` (``llama3.2`` means ``:latest``)."""
    models = body.get("models") if isinstance(body, dict) else None
    wanted = {name, name if ":" in name else f"{name}:latest"}
    for entry in models if isinstance(models, list) else []:
        if isinstance(entry, dict) and {entry.get("name"), entry.get("model")} & wanted:
            digest = entry.get("digest")
            return digest if isinstance(digest, str) and digest else None
    return None


def first_model(body: object) -> str | None:
    """The first model an ``/api/tags`` body lists (the built-in configuration probes it)."""
    models = body.get("models") if isinstance(body, dict) else None
    if not isinstance(models, list) or not models or not isinstance(models[0], dict):
        return None
    name = models[0].get("model") or models[0].get("name")
    return name if isinstance(name, str) and name else None
