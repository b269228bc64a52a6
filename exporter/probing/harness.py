"""The probe harness: runs one provider stream, reads the clock, maps failures to reasons.

Providers never read the clock or catch transport errors; this module does both for all of
them (blackbox_exporter's prober harness plays the same part), so every wire format is
timed the same way on the same monotonic clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from exporter.errors import ProbeError
from exporter.providers.protocol import (
    ProbeContext,
    Provider,
    ServedBy,
    ServerTiming,
    StreamEvent,
    TextChunk,
    Usage,
)
from servicekit.redact import redact

log = logging.getLogger("llmscope.probe")

#: The answer text a result keeps (characters), for answer checks; never a label or log.
ANSWER_LIMIT = 8192


@dataclass(frozen=True)
class ProbeResult:
    """One probe's measurements. Durations in seconds, on the monotonic clock."""

    target: str
    timestamp: float  # wall clock at the start, for "last probe" metrics
    duration: float
    time_to_first_chunk: float | None = None  # the first content of either kind
    time_to_first_reasoning: float | None = None  # None: no reasoning was streamed
    time_to_first_answer: float | None = None
    gaps: tuple[float, ...] = ()
    chunks: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None  # part of output_tokens, where reported
    input_estimated: bool = False
    output_estimated: bool = False
    status: int | None = None
    reason: str | None = None
    message: str = ""
    retry_after: float | None = None
    phases: Mapping[str, float] = field(default_factory=dict)
    server_timings: Mapping[str, float] = field(default_factory=dict)
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    # What the provider says served the probe.
    served: ServedBy = field(default_factory=ServedBy)
    # The answer's first ANSWER_LIMIT characters (reasoning excluded), for answer checks.
    # Never put it into a label or a log line.
    answer_text: str = field(default="", repr=False)

    @property
    def success(self) -> bool:
        return self.reason is None

    @property
    def answer_tokens(self) -> int | None:
        """Output tokens minus reasoning tokens; None when the split is unknown (reasoning
        was streamed but not counted apart)."""
        if self.output_tokens is None or self.output_estimated:
            return None  # chunks per second is not tokens per second
        if self.reasoning_tokens is not None:
            return self.output_tokens - self.reasoning_tokens
        return None if self.time_to_first_reasoning is not None else self.output_tokens

    @property
    def output_tokens_per_second(self) -> float | None:
        """Answer tokens over the answer's generation time, from its first chunk to the end,
        so neither the wait nor the reasoning before the answer counts."""
        tokens, first = self.answer_tokens, self.time_to_first_answer
        if tokens is None or first is None:
            return None
        generation = self.duration - first
        if generation <= 0 or tokens < 2:
            return None
        return tokens / generation


def estimate_tokens(text_chars: int) -> int:
    """About four characters a token for English text, the providers' own rule of thumb."""
    return max(1, math.ceil(text_chars / 4))


@dataclass
class _Tally:
    """What the stream delivered so far, each event stamped with the monotonic clock."""

    start: float
    first: float | None = None
    last: float | None = None
    first_reasoning: float | None = None
    first_answer: float | None = None
    gaps: list[float] = field(default_factory=list)
    chunks: int = 0
    answer: list[str] = field(default_factory=list)
    answer_chars: int = 0
    usage: Usage = field(default_factory=Usage)
    served: ServedBy = field(default_factory=ServedBy)
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, event: StreamEvent, now: float) -> None:
        if isinstance(event, TextChunk):
            if event.text:
                self._chunk(event, now)
        elif isinstance(event, Usage):
            self.usage = _merge(self.usage, event)
        elif isinstance(event, ServedBy):
            self.served = self.served.merged(event)
        elif isinstance(event, ServerTiming):
            self.timings[event.name] = event.seconds

    def _chunk(self, chunk: TextChunk, now: float) -> None:
        if self.first is None:
            self.first = now
        elif self.last is not None:
            self.gaps.append(now - self.last)
        self.last = now
        self.chunks += 1
        if chunk.reasoning:
            if self.first_reasoning is None:
                self.first_reasoning = now
            return
        if self.first_answer is None:
            self.first_answer = now
        if self.answer_chars < ANSWER_LIMIT:
            self.answer.append(chunk.text)
            self.answer_chars += len(chunk.text)

    def since_start(self, moment: float | None) -> float | None:
        return None if moment is None else moment - self.start


async def run_probe(provider: Provider, ctx: ProbeContext) -> ProbeResult:
    """Run one probe to completion or failure; never raises."""
    target, clock = ctx.target, ctx.clock
    wall = time.time()
    tally = _Tally(start=clock())
    failure: ProbeError | None = None
    try:
        async with asyncio.timeout(target.timeout):
            async for event in provider.stream(ctx):
                tally.add(event, clock())
        if tally.chunks == 0:
            failure = ProbeError("empty", "the stream ended without any content")
    except ProbeError as err:
        failure = err
    except TimeoutError:
        failure = ProbeError("timeout", f"no complete answer within {target.timeout:g}s")
    except Exception as err:  # a bug of ours; keep probing the other targets
        log.exception("target %s: unexpected error in probe", target.name)
        failure = ProbeError("internal", f"internal error: {type(err).__name__}")
    end = clock()
    if failure is not None:
        ctx.recall.stale = True  # a server that failed may come back serving something else
    chunks, usage = tally.chunks, tally.usage
    served = await _identify(provider, ctx, tally.served) if chunks else tally.served
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
        duration=end - tally.start,
        time_to_first_chunk=tally.since_start(tally.first),
        time_to_first_reasoning=tally.since_start(tally.first_reasoning),
        time_to_first_answer=tally.since_start(tally.first_answer),
        gaps=tuple(tally.gaps),
        chunks=chunks,
        input_tokens=in_tokens,
        output_tokens=out_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        input_estimated=in_estimated,
        output_estimated=out_estimated,
        status=ctx.status if failure is None or failure.status is None else failure.status,
        reason=failure.reason if failure else None,
        message=message,
        retry_after=failure.retry_after if failure else None,
        phases=dict(ctx.phases),
        server_timings=tally.timings,
        rate_limits=provider.rate_limits(ctx.headers) if ctx.headers else {},
        served=served,
        answer_text="".join(tally.answer)[:ANSWER_LIMIT],
    )


async def _identify(provider: Provider, ctx: ProbeContext, served: ServedBy) -> ServedBy:
    """The provider's look-up after the stream (outside the timed span); a failure there
    never fails the probe, it only leaves the identity as the stream reported it."""
    try:
        async with asyncio.timeout(ctx.target.timeout):
            return await provider.identify(ctx, served)
    except Exception:  # identity is optional, and the probe has already ended
        log.debug("target %s: model identity look-up failed", ctx.target.name, exc_info=True)
        return served


def _merge(old: Usage, new: Usage) -> Usage:
    """Later usage reports win field by field (Anthropic sends input first, output last)."""
    return Usage(
        input_tokens=new.input_tokens if new.input_tokens is not None else old.input_tokens,
        output_tokens=new.output_tokens if new.output_tokens is not None else old.output_tokens,
        cached_input_tokens=new.cached_input_tokens
        if new.cached_input_tokens is not None
        else old.cached_input_tokens,
        reasoning_tokens=new.reasoning_tokens
        if new.reasoning_tokens is not None
        else old.reasoning_tokens,
    )
