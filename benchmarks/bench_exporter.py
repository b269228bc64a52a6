"""Exporter benchmarks: timing accuracy, CPU per streamed chunk, /metrics render time.

Run: .venv/bin/python -m benchmarks.bench_exporter
The fake server runs in its own process and reports when each chunk actually left; the
measurement error is the exporter's timestamp of a chunk minus that send time, on the one
system-wide monotonic clock. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from benchmarks._stream_server import CHUNKS, GAP, TTFT
from exporter.config.types import TargetConfig
from exporter.metrics.probes import ProbeMetrics
from exporter.probing.harness import ProbeResult, run_probe
from exporter.probing.workload import probe_prompt
from exporter.providers.openai import OpenAIOptions, OpenAIProvider
from exporter.providers.protocol import ProbeContext
from exporter.transport.pools import PerTargetTransport

ROOT = Path(__file__).resolve().parent.parent


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


async def probe_round(
    client: httpx.AsyncClient, url: str, targets: int
) -> list[tuple[str, float, ProbeResult]]:
    provider = OpenAIProvider()

    async def one(i: int) -> tuple[str, float, ProbeResult]:
        target = TargetConfig(
            name=f"t{i}",
            provider="openai",
            model="m",
            base_url=url,
            options=OpenAIOptions(),
            timeout=30,
            stall_timeout=10,
            prompt="Count",
        )
        prompt = probe_prompt(target)
        ctx = ProbeContext(
            client=client, target=target, prompt=prompt, api_key="k", clock=time.monotonic
        )
        start = time.monotonic()
        return prompt, start, await run_probe(provider, ctx)

    return list(await asyncio.gather(*(one(i) for i in range(targets))))


async def floor_probe(url: str, prompt: str) -> list[float]:
    """The least a client can do: raw asyncio streams, a timestamp per content chunk read.

    It is the floor the exporter's figures are compared with, measured in the same run.
    """
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": prompt}], "stream": True}
    ).encode()
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
    return times


def floor(url: str, targets: int, rounds: int) -> tuple[list[tuple[str, list[float]]], float]:
    async def go() -> tuple[list[tuple[str, list[float]]], float]:
        cpu0 = time.process_time()
        out: list[tuple[str, list[float]]] = []
        for _ in range(rounds):
            floor_target = TargetConfig(name="floor", provider="openai", model="m", prompt="Floor")
            prompts = [probe_prompt(floor_target) for _ in range(targets)]
            times = await asyncio.gather(*(floor_probe(url, p) for p in prompts))
            out += list(zip(prompts, times, strict=True))
        return out, time.process_time() - cpu0

    return asyncio.run(go())


def summarize(errors: list[float], chunks: int, cpu: float) -> dict[str, float]:
    errors.sort()
    return {
        "median_ms": statistics.median(errors) * 1e3,
        "p99_ms": errors[int(0.99 * (len(errors) - 1))] * 1e3,
        "max_ms": errors[-1] * 1e3,
        "chunks": chunks,
        "cpu_us_per_chunk": cpu / chunks * 1e6,
    }


def accuracy(url: str, targets: int, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    async def go() -> tuple[list[tuple[str, float, ProbeResult]], float]:
        async with httpx.AsyncClient(transport=PerTargetTransport()) as client:
            await probe_round(client, url, min(targets, 20))  # warm the connections
            cpu0 = time.process_time()
            results = []
            for _ in range(rounds):
                results += await probe_round(client, url, targets)
            return results, time.process_time() - cpu0

    results, cpu = asyncio.run(go())
    floor_results, floor_cpu = floor(url, targets, rounds)
    sent = json.loads(httpx.get(f"{url}/sent").text)
    errors: list[float] = []
    for prompt, start, result in results:
        assert result.success and result.time_to_first_chunk is not None, result.message
        measured = [start + result.time_to_first_chunk]
        for gap in result.gaps:
            measured.append(measured[-1] + gap)
        errors += [m - s for m, s in zip(measured, sent[prompt], strict=True)]
    floor_errors = [
        m - s for prompt, times in floor_results for m, s in zip(times, sent[prompt], strict=True)
    ]
    chunks = len(results) * CHUNKS
    return summarize(errors, chunks, cpu), summarize(floor_errors, len(floor_errors), floor_cpu)


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
    process, url = start_server()
    try:
        print(f"scripted: ttft {TTFT * 1e3:.0f} ms, gap {GAP * 1e3:.0f} ms, {CHUNKS} chunks")
        for targets, rounds, aim in ((1, 30, "median <= 0.5 ms"), (200, 3, "p99 <= 5 ms")):
            r, f = accuracy(url, targets, rounds)
            print(f"{targets:>3} concurrent targets (aim: {aim}), {r['chunks']:.0f} chunks")
            for name, x in (("exporter", r), ("raw asyncio floor", f)):
                print(
                    f"    {name:<18} error median {x['median_ms']:7.3f} ms, p99 "
                    f"{x['p99_ms']:8.3f} ms, max {x['max_ms']:8.3f} ms; CPU "
                    f"{x['cpu_us_per_chunk']:6.1f} us/chunk"
                )
            print(
                f"    exporter / floor: median error {r['median_ms'] / f['median_ms']:.1f}x, "
                f"CPU per chunk {r['cpu_us_per_chunk'] / f['cpu_us_per_chunk']:.1f}x"
            )
    finally:
        process.terminate()
        process.wait()
    r = render_cost()
    print(
        f"/metrics with 100 targets: {r['render_ms']:.2f} ms per render, "
        f"{r['bytes'] / 1024:.0f} KiB, {r['per_target_us']:.0f} us per target, "
        f"{r['ratio_to_empty']:.0f}x an empty registry"
    )


if __name__ == "__main__":
    main()
