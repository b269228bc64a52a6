"""AWS Bedrock ConverseStream: ``POST /model/{modelId}/converse-stream``.

The answer is an ``application/vnd.amazon.eventstream`` (see ``eventstream``): each frame
carries ``:message-type`` ``event`` with an ``:event-type`` naming a member of the
ConverseStreamOutput union and that member's JSON as payload (``messageStart``,
``contentBlockDelta`` with ``delta.text``, ``contentBlockStop``, ``messageStop``, then
``metadata`` with ``usage`` and ``metrics.latencyMs``), or ``exception`` with an
``:exception-type`` and ``{"message": ...}``.

Credentials: a Bedrock API key (bearer) when the target names one in ``api_key_env``
(e.g. ``AWS_BEARER_TOKEN_BEDROCK``), else SigV4 with the standard AWS variables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import yaml

from exporter.errors import ProbeError
from exporter.providers.http import HttpProvider
from exporter.providers.protocol import (
    HttpCall,
    ServedBy,
    ServerTiming,
    StreamDecoder,
    StreamEvent,
    TextChunk,
    Usage,
)
from exporter.providers.wire import sigv4
from exporter.providers.wire.eventstream import EventStreamDecoder, Message
from exporter.providers.wire.jsonbody import as_int, loads_or_none, parse_object
from exporter.transport.urls import append_path
from servicekit.logs import SECRETS
from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

EVENTSTREAM_TYPES = ("application/vnd.amazon.eventstream",)
SIGNING_NAME = "bedrock"  # the service model's signingName for bedrock-runtime
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


@dataclass(frozen=True)
class BedrockOptions:
    region: str | None = None


class ConverseStreamDecoder:
    """Decodes ConverseStream frames; the answer is complete at ``messageStop``."""

    def __init__(self) -> None:
        self._frames = EventStreamDecoder()
        self._stopped = False

    def feed(self, data: bytes) -> list[StreamEvent]:
        return [event for m in self._frames.feed(data) for event in self._message(m)]

    def close(self) -> list[StreamEvent]:
        if self._frames.pending:
            raise ProbeError("truncated", "stream ended inside an event stream frame")
        if not self._stopped:
            raise ProbeError("truncated", "stream ended before messageStop")
        return []

    def _message(self, message: Message) -> list[StreamEvent]:
        kind = message.text_header(":message-type")
        if kind == "exception":
            raise ProbeError("provider_error", _exception_text(message))
        if kind == "error":
            code = message.text_header(":error-code") or "error"
            raise ProbeError("provider_error", f"{code}: {message.text_header(':error-message')}")
        if kind != "event":
            raise ProbeError("protocol", f"event stream message of unknown type {kind!r}")
        event = message.text_header(":event-type")
        if event.endswith("Exception"):  # an exception member framed as an event
            raise ProbeError("provider_error", _exception_text(message))
        payload = parse_object(message.payload, f"{event} event") if message.payload else {}
        if event == "contentBlockDelta":
            return _delta_chunks(payload.get("delta"))
        if event == "messageStop":
            self._stopped = True
        elif event == "metadata":
            return _metadata(payload)
        return []


def _delta_chunks(delta: object) -> list[StreamEvent]:
    """``delta.text`` is answer; ``delta.reasoningContent.text`` (ReasoningContentBlockDelta,
    for models with reasoning turned on) is reasoning."""
    if not isinstance(delta, dict):
        return []
    out: list[StreamEvent] = []
    reasoning = delta.get("reasoningContent")
    thought = reasoning.get("text") if isinstance(reasoning, dict) else None
    if isinstance(thought, str) and thought:
        out.append(TextChunk(thought, reasoning=True))
    text = delta.get("text")
    if isinstance(text, str) and text:
        out.append(TextChunk(text))
    return out


def _metadata(payload: Mapping[str, Any]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    usage = payload.get("usage")
    if isinstance(usage, dict):
        # Like Anthropic's, inputTokens leaves out cache reads and writes.
        base = as_int(usage.get("inputTokens"))
        read = as_int(usage.get("cacheReadInputTokens"))
        written = as_int(usage.get("cacheWriteInputTokens")) or 0
        out.append(
            Usage(
                input_tokens=None if base is None else base + (read or 0) + written,
                output_tokens=as_int(usage.get("outputTokens")),
                cached_input_tokens=read,
            )
        )
    metrics = payload.get("metrics")
    latency = as_int(metrics.get("latencyMs")) if isinstance(metrics, dict) else None
    if latency is not None:
        out.append(ServerTiming("latency", latency / 1000.0))
    # The stream names no model, except a prompt router's choice (ConverseStreamTrace).
    trace = payload.get("trace")
    router = trace.get("promptRouter") if isinstance(trace, dict) else None
    invoked = router.get("invokedModelId") if isinstance(router, dict) else None
    if isinstance(invoked, str) and invoked:
        out.append(ServedBy(model=invoked))
    return out


def _exception_text(message: Message) -> str:
    kind = message.text_header(":exception-type") or message.text_header(":event-type")
    detail = ""
    body = loads_or_none(message.payload) if message.payload else {}
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        detail = body["message"]
    return ": ".join(p for p in (kind or "exception", detail) if p)[:200]


class BedrockProvider(HttpProvider):
    kind = "bedrock"
    semconv_name = "aws.bedrock"
    option_keys = frozenset({"region"})

    def __init__(
        self,
        environ: Mapping[str, str] = os.environ,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._environ = environ
        self._now = now

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        return BedrockOptions(region=reader.optional(keys, "region", path, reader.string, None))

    def _region(self, target: TargetConfig) -> str | None:
        options = target.options if isinstance(target.options, BedrockOptions) else None
        return (options and options.region) or next(
            (self._environ[v] for v in REGION_VARIABLES if self._environ.get(v)), None
        )

    def endpoint(self, target: TargetConfig) -> str:
        region = self._region(target)
        if target.base_url or not region:
            return target.base_url
        return f"https://bedrock-runtime.{region}.amazonaws.com"

    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        region = self._region(target)
        if not region:
            raise ProbeError(
                "client_error", "no AWS region: set region in the target or AWS_REGION"
            )
        base = self.endpoint(target)
        url = append_path(base, f"/model/{quote(target.model, safe='')}/converse-stream")
        inference: dict[str, float | int] = {"maxTokens": target.max_tokens}
        if target.sampling is not None and target.sampling.temperature is not None:
            inference["temperature"] = target.sampling.temperature  # Converse takes no seed
        body = json.dumps(
            {
                "messages": [{"role": "user", "content": [{"text": prompt}]}],
                "inferenceConfig": inference,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
            secrets: tuple[str, ...] = (api_key,)
        else:
            credentials = sigv4.Credentials.from_environ(self._environ)
            if credentials is None:
                raise ProbeError(
                    "auth",
                    "no AWS credentials: name a Bedrock API key variable in api_key_env "
                    "(e.g. AWS_BEARER_TOKEN_BEDROCK) or set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY",
                )
            secrets = credentials.secrets
            for secret in secrets:
                SECRETS.add(secret)
            try:
                headers = sigv4.sign(
                    "POST",
                    url,
                    headers,
                    body,
                    credentials,
                    region=region,
                    service=SIGNING_NAME,
                    now=self._now(),
                )
            except ValueError as err:  # as the probe client would refuse it, unsigned
                raise ProbeError("invalid_url", f"bad URL: {url.split('?')[0]} {err}") from None
        return HttpCall("POST", url, headers, body, EVENTSTREAM_TYPES, secrets)

    def decoder(self) -> StreamDecoder:
        return ConverseStreamDecoder()
