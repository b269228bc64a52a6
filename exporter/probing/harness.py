"""The probe harness: runs one provider stream, reads the clock, maps failures to reasons.

Providers never read the clock or catch transport errors; this module does both for all of
them (blackbox_exporter's prober harness plays the same part), so every wire format is
timed the same way on the same monotonic clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from exporter.errors import ProbeError
from exporter.providers.protocol import (
    ProbeContext,
    Provider,
    ServerTiming,
    TextChunk,
    Usage,
)
from servicekit.redact import redact

log = logging.getLogger("llmscope.probe")


@dataclass(frozen=True)
class ProbeResult:
    """One probe's measurements. Durations in seconds, on the monotonic clock."""

    target: str
    timestamp: float  # wall clock at the start, for "last probe" metrics
    duration: float
    time_to_first_chunk: float | None = None
    gaps: tuple[float, ...] = ()
    chunks: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    input_estimated: bool = False
    output_estimated: bool = False
    status: int | None = None
    reason: str | None = None
    message: str = ""
    retry_after: float | None = None
    phases: Mapping[str, float] = field(default_factory=dict)
    server_timings: Mapping[str, float] = field(default_factory=dict)
    rate_limits: Mapping[str, float] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.reason is None

    @property
    def output_tokens_per_second(self) -> float | None:
        """Output tokens over the generation time, excluding the wait for the first chunk."""
        if self.output_tokens is None or self.output_estimated or self.time_to_first_chunk is None:
            return None  # chunks per second is not tokens per second
        generation = self.duration - self.time_to_first_chunk
        if generation <= 0 or self.output_tokens < 2:
            return None
        return self.output_tokens / generation


def probe_prompt(prompt: str) -> str:
    """The configured prompt with a nonce, so no provider answers from a cache."""
    return f"{prompt}\n(probe {secrets.token_hex(6)})"


def estimate_tokens(text_chars: int) -> int:
    """About four characters a token for English text, the providers' own rule of thumb."""
    return max(1, math.ceil(text_chars / 4))


async def run_probe(provider: Provider, ctx: ProbeContext) -> ProbeResult:
    """Run one probe to completion or failure; never raises."""
    target, clock = ctx.target, ctx.clock
    wall, start = time.time(), clock()
    first = last = None
    gaps: list[float] = []
    chunks = 0
    usage = Usage()
    timings: dict[str, float] = {}
    failure: ProbeError | None = None
    try:
        async with asyncio.timeout(target.timeout):
            async for event in provider.stream(ctx):
                now = clock()
                if isinstance(event, TextChunk):
                    if not event.text:
                        continue
                    if first is None:
                        first = now
                    else:
                        assert last is not None
                        gaps.append(now - last)
                    last = now
                    chunks += 1
                elif isinstance(event, Usage):
                    usage = _merge(usage, event)
                elif isinstance(event, ServerTiming):
                    timings[event.name] = event.seconds
        if chunks == 0:
            failure = ProbeError("empty", "the stream ended without any content")
    except ProbeError as err:
        failure = err
    except TimeoutError:
        failure = ProbeError("timeout", f"no complete answer within {target.timeout:g}s")
    except Exception as err:  # a bug of ours; keep probing the other targets
        log.exception("target %s: unexpected error in probe", target.name)
        failure = ProbeError("internal", f"internal error: {type(err).__name__}")
    end = clock()
    # A server that reports no usage gets an estimate, flagged so it is never mixed
    # silently with real counts: one token per streamed chunk, four characters an input token.
    out_tokens, in_tokens = usage.output_tokens, usage.input_tokens
    # A failed probe that streamed content was still billed, so it gets estimates too.
    out_estimated = chunks > 0 and out_tokens is None
    in_estimated = chunks > 0 and in_tokens is None
    if out_estimated:
        out_tokens = chunks
    if in_estimated:
        in_tokens = estimate_tokens(len(ctx.prompt))
    message = redact(str(failure), ctx.api_key) if failure else ""
    return ProbeResult(
        target=target.name,
        timestamp=wall,
        duration=end - start,
        time_to_first_chunk=None if first is None else first - start,
        gaps=tuple(gaps),
        chunks=chunks,
        input_tokens=in_tokens,
        output_tokens=out_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        input_estimated=in_estimated,
        output_estimated=out_estimated,
        status=ctx.status if failure is None or failure.status is None else failure.status,
        reason=failure.reason if failure else None,
        message=message,
        retry_after=failure.retry_after if failure else None,
        phases=dict(ctx.phases),
        server_timings=timings,
        rate_limits=provider.rate_limits(ctx.headers) if ctx.headers else {},
    )


def _merge(old: Usage, new: Usage) -> Usage:
    """Later usage reports win field by field (Anthropic sends input first, output last)."""
    return Usage(
        input_tokens=new.input_tokens if new.input_tokens is not None else old.input_tokens,
        output_tokens=new.output_tokens if new.output_tokens is not None else old.output_tokens,
        cached_input_tokens=new.cached_input_tokens
        if new.cached_input_tokens is not None
        else old.cached_input_tokens,
    )
