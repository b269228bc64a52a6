"""What every provider module gives the probe harness, and what it gets back.

A provider turns one prompt into a stream of small events. HTTP providers only build the
request and decode bytes (``HttpProvider``); the harness in ``exporter.probe`` does the I/O,
reads the clock and maps transport failures to reasons, so timing is measured the same way
for every wire format.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import yaml

from exporter._yaml import Reader
from exporter.errors import Reason
from exporter.providers._http import http_stream
from exporter.providers._json import error_summary

if TYPE_CHECKING:
    from exporter.config import TargetConfig
    from exporter.probe import ProbeContext


@dataclass(frozen=True, slots=True)
class TextChunk:
    """Generated content; its arrival time is what time to first chunk and gaps measure."""

    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts reported by the server (never estimated here)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ServerTiming:
    """A duration the server measured itself (Ollama's eval time, Bedrock's latencyMs)."""

    name: str
    seconds: float


StreamEvent = TextChunk | Usage | ServerTiming


class StreamDecoder(Protocol):
    """Incremental decoder of one response body, fed in arbitrary pieces."""

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Decode what ``data`` completes; raise ProbeError on malformed input."""

    def close(self) -> list[StreamEvent]:
        """The body ended: flush, and raise ProbeError('truncated') if no end marker came."""


@dataclass(frozen=True)
class HttpCall:
    """One streaming HTTP request, fully built (auth included) by a provider."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    # Media types a successful streaming answer may carry; anything else is "protocol".
    content_types: tuple[str, ...]
    # Header values that must never appear in logs or errors (keys, signatures).
    secrets: tuple[str, ...] = field(default=(), repr=False)


class Provider(abc.ABC):
    """One wire format. Subclasses are stateless; per-target state lives in the harness."""

    #: the ``provider`` kind in the config file
    kind: str
    #: the OpenTelemetry ``gen_ai.provider.name`` value
    semconv_name: str
    #: provider-specific config keys this module reads from a target
    option_keys: frozenset[str] = frozenset()
    #: the root URL used when a target gives no ``base_url``
    default_base_url: str = ""

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        """Validate this provider's own keys of a target; return a frozen options object."""
        return None

    def validate(  # noqa: B027 - an optional hook, not an abstract method
        self, reader: Reader, target: TargetConfig, node: yaml.Node, path: str
    ) -> None:
        """Cross-field checks that need the whole target (e.g. a required base_url form)."""

    @abc.abstractmethod
    def stream(self, ctx: ProbeContext) -> AsyncIterator[StreamEvent]:
        """Send the probe and yield its events as they arrive."""

    def endpoint(self, target: TargetConfig) -> str:
        """The root URL a target's probes go to (``base_url`` or the provider's default)."""
        return target.base_url or self.default_base_url

    def rate_limits(self, headers: Mapping[str, str]) -> dict[str, float]:
        """Remaining requests/tokens announced by the server, keyed ``requests``/``tokens``."""
        return {}


class HttpProvider(Provider):
    """A provider whose probe is one streaming HTTP request."""

    @abc.abstractmethod
    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        """The request for ``prompt``; ``max_tokens`` is always set (cost guard)."""

    @abc.abstractmethod
    def decoder(self) -> StreamDecoder:
        """A fresh decoder for one response body."""

    def error_message(self, status: int, body: bytes) -> str:
        """A one-line summary of an error body; providers refine this for their format."""
        return error_summary(body)

    def error_reason(self, status: int, body: bytes, reason: Reason) -> Reason:
        """The reason for an error status; providers that say "bad key" with a 400 refine it."""
        return reason

    def retry_after(self, body: bytes) -> float | None:
        """A wait the provider asks for in the error body rather than in a header."""
        return None

    def stream(self, ctx: ProbeContext) -> AsyncIterator[StreamEvent]:
        call = self.build_call(ctx.target, ctx.prompt, ctx.api_key)
        return http_stream(ctx, call, self)
