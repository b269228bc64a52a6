"""Exporter benchmarks: chunk timing error and CPU per chunk against a floor and a peer.

Run: .venv/bin/python -m benchmarks.bench_exporter [--repeats 3]
The fake server runs in its own process and reports when each chunk actually left; the
error of a client is its timestamp of a chunk minus that send time, on the one system-wide
monotonic clock. Side by side, in the same run and interleaved (each repeat runs every
client once, in a rotated order), on the same event loop:

- exporter: the real probe path (ProbeClient, the OpenAI provider and its decoders,
  run_probe), keeping each target's connection as the running exporter does;
- anchor: the peer's read loop as vLLM's benchmark_serving describes it, written here from
  that description: one aiohttp session, ``async for line in response.content``, strip,
  drop ``data: ``, skip ``[DONE]``, take the time, ``json.loads``, keep chunks with content;
- floor: raw asyncio streams, one timestamp per read: the least a Python client can do.

Medians over the repeats go to docs/benchmarks.md; the last line sums up 200 targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from prometheus_client import CollectorRegistry, generate_latest

from benchmarks._stream_server import CHUNKS, GAP, TTFT
from exporter.config.types import TargetConfig
from exporter.metrics.probes import ProbeMetrics
from exporter.probing.harness import ProbeResult, run_probe
from exporter.probing.workload import probe_prompt
from exporter.providers.openai import OpenAIOptions, OpenAIProvider
from exporter.providers.protocol import ProbeContext
from exporter.transport.client import ProbeClient
from exporter.transport.loop import loop_factory

ROOT = Path(__file__).resolve().parent.parent
PEER = TargetConfig(name="peer", provider="openai", model="m", prompt="Count")  # its prompts
Times = list[tuple[str, list[float]]]  # (prompt, arrival time of each content chunk)
Client = Callable[[str, int, int], Coroutine[Any, Any, tuple[Times, float]]]  # and CPU seconds


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._stream_server", str(port_file)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port_file.read_text()}"


def chat_body(prompt: str) -> dict[str, object]:
    messages = [{"role": "user", "content": prompt}]
    return {"model": "m", "messages": messages, "stream": True, "max_tokens": 32}


async def exporter_client(url: str, targets: int, rounds: int) -> tuple[Times, float]:
    provider = OpenAIProvider()
    client = ProbeClient(environ={})
    configs = [
        TargetConfig(
            name=f"t{i}",
            provider="openai",
            model="m",
            base_url=url,
            options=OpenAIOptions(),
            timeout=30,
            stall_timeout=10,
            prompt="Count",
        )
        for i in range(targets)
    ]

    async def one(target: TargetConfig) -> tuple[str, list[float]]:
        prompt = probe_prompt(target)
        ctx = ProbeContext(
            client=client, target=target, prompt=prompt, api_key="k", clock=time.monotonic
        )
        start = time.monotonic()
        result: ProbeResult = await run_probe(provider, ctx)
        assert result.success and result.time_to_first_chunk is not None, result.message
        times = [start + result.time_to_first_chunk]
        for gap in result.gaps:
            times.append(times[-1] + gap)
        return prompt, times

    await asyncio.gather(*(one(c) for c in configs[:20]))  # warm the connections
    return await _timed_rounds(lambda: asyncio.gather(*(one(c) for c in configs)), rounds)


async def anchor_client(url: str, targets: int, rounds: int) -> tuple[Times, float]:
    connector = aiohttp.TCPConnector(limit=0)  # unlimited, as the anchor was run
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> tuple[str, list[float]]:
            prompt = probe_prompt(PEER)
            times: list[float] = []
            async with session.post(
                f"{url}/v1/chat/completions",
                json=chat_body(prompt),
                headers={"Authorization": "Bearer k"},
            ) as response:
                assert response.status == 200
                async for raw in response.content:
                    line = raw.strip()
                    if not line:
                        continue
                    text = line.decode("utf-8").removeprefix("data: ")
                    if text == "[DONE]":
                        continue
                    now = time.monotonic()
                    data = json.loads(text)
                    choices = data.get("choices")
                    if choices and choices[0]["delta"].get("content"):
                        times.append(now)
            return prompt, times

        await asyncio.gather(*(one() for _ in range(min(targets, 20))))
        return await _timed_rounds(lambda: asyncio.gather(*(one() for _ in range(targets))), rounds)


async def floor_client(url: str, targets: int, rounds: int) -> tuple[Times, float]:
    host, port = url.removeprefix("http://").split(":")

    async def one() -> tuple[str, list[float]]:
        prompt = probe_prompt(PEER)
        reader, writer = await asyncio.open_connection(host, int(port))
        body = json.dumps(chat_body(prompt)).encode()
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        times: list[float] = []
        while data := await reader.read(65536):
            now = time.monotonic()
            times += [now] * data.count(b'"content": " ')
        writer.close()
        return prompt, times

    return await _timed_rounds(lambda: asyncio.gather(*(one() for _ in range(targets))), rounds)


async def _timed_rounds(
    run_round: Callable[[], Awaitable[list[tuple[str, list[float]]]]], rounds: int
) -> tuple[Times, float]:
    """``rounds`` rounds of concurrent probes, and the CPU time this process spent on them."""
    cpu0 = time.process_time()
    out: Times = []
    for _ in range(rounds):
        out += await run_round()
    return out, time.process_time() - cpu0


@dataclass(frozen=True)
class Figures:
    median_ms: float
    p99_ms: float
    max_ms: float
    cpu_us: float
    chunks: int


def figures(times: Times, cpu: float, sent: dict[str, list[float]]) -> Figures:
    errors = sorted(m - s for prompt, ts in times for m, s in zip(ts, sent[prompt], strict=True))
    assert len(errors) == CHUNKS * len(times), "a client missed chunks"
    return Figures(
        statistics.median(errors) * 1e3,
        errors[int(0.99 * (len(errors) - 1))] * 1e3,
        errors[-1] * 1e3,
        cpu / len(errors) * 1e6,
        len(errors),
    )


def median_of(runs: list[Figures]) -> Figures:
    med, p99, top, cpu = (
        statistics.median(values)
        for values in zip(*((f.median_ms, f.p99_ms, f.max_ms, f.cpu_us) for f in runs), strict=True)
    )
    return Figures(med, p99, top, cpu, runs[0].chunks)


def render_cost(targets: int = 100) -> dict[str, float]:
    registry = CollectorRegistry()
    metrics = ProbeMetrics()
    registry.register(metrics)
    configs = [
        TargetConfig(
            name=f"target-{i}",
            provider="openai",
            model="gpt-4o-mini",
            base_url="https://api.openai.com/v1",
        )
        for i in range(targets)
    ]
    metrics.declare((c, "openai", c.base_url) for c in configs)
    for config in configs:
        for _ in range(5):
            metrics.record(
                config.name,
                ProbeResult(
                    target=config.name,
                    timestamp=time.time(),
                    duration=1.2,
                    time_to_first_chunk=0.4,
                    gaps=(0.02,) * 31,
                    chunks=32,
                    input_tokens=20,
                    output_tokens=32,
                    status=200,
                    phases={"connect": 0.01, "first_byte": 0.3},
                ),
            )
    empty = CollectorRegistry()
    n = 20
    full = min(timeit.repeat(lambda: generate_latest(registry), number=n, repeat=5)) / n
    base = min(timeit.repeat(lambda: generate_latest(empty), number=n, repeat=5)) / n
    return {
        "render_ms": full * 1e3,
        "bytes": len(generate_latest(registry)),
        "per_target_us": full / targets * 1e6,
        "ratio_to_empty": full / max(base, 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag, default in (("--repeats", 3), ("--probes-one", 15), ("--rounds", 3)):
        parser.add_argument(flag, type=int, default=default)  # rounds: at 200 targets
    args = parser.parse_args()
    loop_name, factory = loop_factory()
    clients: dict[str, tuple[Client, Callable[[], asyncio.AbstractEventLoop]]] = {
        "exporter": (exporter_client, factory),
        "anchor": (anchor_client, factory),
        "floor": (floor_client, factory),
    }
    if loop_name != "asyncio":
        clients["exporter, asyncio loop"] = (exporter_client, asyncio.new_event_loop)
    r = render_cost()
    print(
        f"/metrics with 100 targets: {r['render_ms']:.2f} ms per render, "
        f"{r['bytes'] / 1024:.0f} KiB, {r['per_target_us']:.0f} us per target, "
        f"{r['ratio_to_empty']:.0f}x an empty registry"
    )
    print(
        f"scripted: ttft {TTFT * 1e3:.0f} ms, gap {GAP * 1e3:.0f} ms, {CHUNKS} chunks; "
        f"event loop {loop_name}; {args.repeats} interleaved repeats, medians shown"
    )
    process, url = start_server()
    summary: dict[int, dict[str, Figures]] = {}
    try:
        for targets, rounds in ((1, args.probes_one), (200, args.rounds)):
            runs: dict[str, list[tuple[Times, float]]] = {name: [] for name in clients}
            names = list(clients)
            for repeat in range(args.repeats):
                for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                    client, make_loop = clients[name]
                    with asyncio.Runner(loop_factory=make_loop) as runner:
                        runs[name].append(runner.run(client(url, targets, rounds)))
            sent = json.loads(httpx.get(f"{url}/sent").text)  # a one-off call: httpx
            summary[targets] = {
                name: median_of([figures(t, cpu, sent) for t, cpu in results])
                for name, results in runs.items()
            }
            chunks = summary[targets]["exporter"].chunks
            print(f"{targets:>3} concurrent targets, {chunks} chunks per client and repeat")
            for name, f in summary[targets].items():
                print(
                    f"    {name:<22} error median {f.median_ms:6.3f} ms, p99 {f.p99_ms:7.3f} ms,"
                    f" max {f.max_ms:7.3f} ms; CPU {f.cpu_us:6.1f} us/chunk"
                )
    finally:
        process.terminate()
        process.wait()
    many = summary[200]
    ex, anchor = many["exporter"], many["anchor"]
    print(
        f"200 targets: p99 exporter {ex.p99_ms:.1f} ms, anchor {anchor.p99_ms:.1f} ms, "
        f"ratio {ex.p99_ms / anchor.p99_ms:.2f}; CPU per chunk exporter {ex.cpu_us:.0f} us, "
        f"anchor {anchor.cpu_us:.0f} us"
    )


if __name__ == "__main__":
    main()
