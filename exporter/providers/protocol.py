"""What every provider module gives the probe harness, and what it gets back.

A provider turns one prompt into a stream of small events. HTTP providers only build the
request and decode bytes (``exporter.providers.http``); the harness in
``exporter.probing.harness`` does the I/O, reads the clock and maps transport failures to
reasons, so timing is measured the same way for every wire format. ``ProbeContext`` (what a
provider is handed) is defined here, beside the protocol, so providers never import the
harness or the config loader.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import yaml

from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig
    from exporter.transport.client import ProbeClient


@dataclass(frozen=True, slots=True)
class TextChunk:
    """Generated content; its arrival time is what time to first chunk and gaps measure.

    ``reasoning`` marks thinking a model streams before its answer (Anthropic thinking
    blocks, Gemini thought parts, Ollama's ``thinking``, ``reasoning_content``), so the
    harness times the first reasoning and the first answer chunk apart.
    """

    text: str
    reasoning: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts reported by the server (never estimated here)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    # The part of output_tokens spent on reasoning, where the provider counts it apart
    # (OpenAI completion_tokens_details.reasoning_tokens, Gemini thoughtsTokenCount).
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ServedBy:
    """What served the probe, as the provider reports it (never what the config asked for).

    ``model``: the response's model name (OpenAI, Azure, Anthropic, Ollama; Bedrock's prompt
    router's invoked model); ``version``: Gemini's ``modelVersion``; ``fingerprint``:
    OpenAI's ``system_fingerprint``; ``digest``: the Ollama model's digest. Later reports
    win field by field; None means "not reported".
    """

    model: str | None = None
    version: str | None = None
    fingerprint: str | None = None
    digest: str | None = None

    def merged(self, new: ServedBy) -> ServedBy:
        return ServedBy(
            model=new.model or self.model,
            version=new.version or self.version,
            fingerprint=new.fingerprint or self.fingerprint,
            digest=new.digest or self.digest,
        )

    @property
    def known(self) -> bool:
        return any((self.model, self.version, self.fingerprint, self.digest))


@dataclass(frozen=True, slots=True)
class ServerTiming:
    """A duration the server measured itself (Ollama's eval time, Bedrock's latencyMs)."""

    name: str
    seconds: float


StreamEvent = TextChunk | Usage | ServerTiming | ServedBy


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


@dataclass
class Recall:
    """What a provider's look-up after the stream (``Provider.identify``) found for one
    target, kept by the caller between that target's probes, so that a look-up whose answer
    cannot have changed is skipped (Ollama's digest: docs/providers.md). The harness marks
    it ``stale`` when a probe fails; the exporter keeps one per target and starts afresh on
    a reload."""

    served: ServedBy | None = None  # what the last look-up completed
    at: float = -math.inf  # the probe clock's reading at that look-up
    stale: bool = False


@dataclass
class ProbeContext:
    """Everything one probe needs; the HTTP helper fills in what the server said."""

    client: ProbeClient
    target: TargetConfig
    prompt: str
    api_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 4 * 1024 * 1024
    clock: Callable[[], float] = time.perf_counter
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    body_started: bool = False
    recall: Recall = field(default_factory=Recall)  # the target's, shared between its probes


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

    async def identify(self, ctx: ProbeContext, served: ServedBy) -> ServedBy:
        """Complete what the stream said about the serving model (Ollama asks its API for
        the digest). Runs after the stream, outside the timed span; never raises."""
        return served
