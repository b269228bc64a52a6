"""Shared helpers for provider tests: the recorded transcripts, decoding a body in pieces,
and one probe through ``run_probe`` against a fake server with the real probe client."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from exporter.accounting.pricing import cost_usd, price_for
from exporter.config.types import TargetConfig
from exporter.errors import ProbeError
from exporter.metrics.probes import ProbeMetrics
from exporter.probing.harness import ProbeResult, run_probe
from exporter.providers.protocol import (
    ProbeContext,
    Provider,
    ServedBy,
    ServerTiming,
    StreamDecoder,
    TextChunk,
    Usage,
)
from exporter.transport.client import ProbeClient
from testkit.fakeserver import FakeRequest, Route, Script, serving

# Real recorded response bodies with their sources and expected text (tests/transcripts/README.md)
TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"


def transcripts(prefix: str, suffix: str) -> list[Path]:
    found = sorted(TRANSCRIPTS.glob(f"{prefix}*{suffix}"))
    assert found, f"no {prefix}*{suffix} transcripts in {TRANSCRIPTS}"
    return found


def sidecar(path: Path) -> dict[str, Any]:
    value = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


@dataclass
class Decoded:
    text: str = ""  # the answer
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)
    chunks: int = 0
    reasoning_chunks: int = 0
    served: ServedBy = field(default_factory=ServedBy)
    error: ProbeError | None = None


def decode(decoder: StreamDecoder, pieces: Iterable[bytes]) -> Decoded:
    """Feed ``pieces`` then close, collecting events the way run_probe merges them."""
    out = Decoded()
    try:
        for piece in pieces:
            _collect(out, decoder.feed(piece))
        _collect(out, decoder.close())
    except ProbeError as err:
        out.error = err
    return out


def _collect(out: Decoded, events: list[Any]) -> None:
    for event in events:
        if isinstance(event, TextChunk) and event.reasoning:
            out.reasoning += event.text
            out.reasoning_chunks += 1
        elif isinstance(event, TextChunk):
            out.text += event.text
            out.chunks += 1
        elif isinstance(event, ServedBy):
            out.served = out.served.merged(event)
        elif isinstance(event, Usage):
            old = out.usage
            out.usage = Usage(
                *(
                    new if new is not None else was
                    for new, was in (
                        (event.input_tokens, old.input_tokens),
                        (event.output_tokens, old.output_tokens),
                        (event.cached_input_tokens, old.cached_input_tokens),
                        (event.reasoning_tokens, old.reasoning_tokens),
                    )
                )
            )
        elif isinstance(event, ServerTiming):
            out.timings[event.name] = event.seconds


def one_byte_pieces(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def split_at(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points)]


def cut_points(max_size: int = 24) -> st.SearchStrategy[list[int]]:
    """Random split positions; used as ``split_at(body, [c % (len(body) + 1) ...])``."""
    return st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=max_size)


def splits(body: bytes, cuts: list[int]) -> list[bytes]:
    return split_at(body, [c % (len(body) + 1) for c in cuts])


def target(
    provider: str, base_url: str, model: str, options: object = None, **kw: Any
) -> TargetConfig:
    fields: dict[str, Any] = {
        "name": f"{provider}-test",
        "provider": provider,
        "model": model,
        "base_url": base_url,
        "timeout": 5.0,
        "stall_timeout": 2.0,
        "options": options,
    }
    fields.update(kw)
    return TargetConfig(**fields)


async def probe_async(
    provider: Provider,
    route: Route,
    make_target: Callable[[str], TargetConfig],
    api_key: str | None = "test-key-0123",
) -> tuple[ProbeResult, list[FakeRequest]]:
    async with serving(route) as server:
        client = ProbeClient(environ={})
        ctx = ProbeContext(
            client=client,
            target=make_target(server.url),
            prompt="Count from 1 to 20.",
            api_key=api_key,
        )
        result = await run_probe(provider, ctx)
        client.close()
        return result, list(server.requests)


def probe(
    provider: Provider,
    route: Route,
    make_target: Callable[[str], TargetConfig],
    api_key: str | None = "test-key-0123",
) -> tuple[ProbeResult, list[FakeRequest]]:
    return asyncio.run(probe_async(provider, route, make_target, api_key))


def recorded_cost(
    target: TargetConfig, provider: Provider, result: ProbeResult
) -> dict[str, float]:
    """llmscope_cost_usd_total by token type after ProbeMetrics records ``result``."""
    price = price_for(target)
    spend = None
    if price is not None and result.success:  # as the exporter prices a probe
        tokens = (
            result.input_tokens or 0,
            result.output_tokens or 0,
            result.cached_input_tokens or 0,
        )
        spend = cost_usd(price, *tokens)
    registry = CollectorRegistry()
    metrics = ProbeMetrics()
    registry.register(metrics)
    metrics.declare([(target, provider.semconv_name, provider.endpoint(target))])
    metrics.record(target.name, result, spend)
    out: dict[str, float] = {}
    for family in registry.collect():
        if family.name == "llmscope_cost_usd":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    out[sample.labels["gen_ai_token_type"]] = sample.value
    return out


def assert_timing_follows(result: ProbeResult, ttft: float, gap: float, chunks: int) -> None:
    """Measured times respect the scripted delays. Only lower bounds hold: a chunk cannot
    arrive before the server sent it, but a late read shortens the gap after it, so the
    check is on the first arrival and on the last one (first + all gaps)."""
    slack = 0.005  # timer wake-up granularity
    assert result.chunks == chunks and len(result.gaps) == chunks - 1
    assert result.time_to_first_chunk is not None
    assert result.time_to_first_chunk >= ttft - slack
    last = result.time_to_first_chunk + sum(result.gaps)
    assert last >= ttft + gap * (chunks - 1) - slack
    assert all(g >= 0 for g in result.gaps)
    assert result.duration >= last - 1e-9


def check_transcript(decoder: StreamDecoder, path: Path, pieces: list[bytes]) -> Decoded:
    """Decode ``pieces``; text, tokens and any error event must match the sidecar."""
    expected = sidecar(path)["expected"]
    out = decode(decoder, pieces)
    assert out.text == (expected["output_text"] or "")
    assert out.usage.input_tokens == expected["input_tokens"]
    assert out.usage.output_tokens == expected["output_tokens"]
    assert out.usage.reasoning_tokens == expected.get("reasoning_tokens")
    assert out.reasoning_chunks == expected.get("reasoning_chunks", 0)
    assert out.served == ServedBy(**expected["served"])
    if "error" in expected:
        assert out.error is not None and out.error.reason == "provider_error"
        assert expected["error"]["type"] in str(out.error)
        assert expected["error"]["message"] in str(out.error)
    else:
        assert out.error is None, out.error
    return out


def truncation_reasons(
    provider: Provider,
    cut: Script,
    make_target: Callable[[str], TargetConfig],
    api_key: str | None = "test-key-0123",
) -> tuple[str | None, str | None]:
    """Reasons for a stream cut short: ending cleanly, and dropping the connection."""
    dropped = Script(status=cut.status, headers=cut.headers, steps=cut.steps, ending="close")
    clean, _ = probe(provider, lambda r: cut, make_target, api_key)
    broken, _ = probe(provider, lambda r: dropped, make_target, api_key)
    return clean.reason, broken.reason
