"""Accelerated soak: dozens of targets at sub-second intervals against faulty fake servers.

Run: .venv/bin/python -m benchmarks.soak [--minutes 3] [--targets 40]
It runs the real Exporter in this process and reports probes done, RSS growth, open file
descriptors, live asyncio tasks and unhandled exceptions (which must be zero).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from prometheus_client import CollectorRegistry, generate_latest

from exporter.app import Exporter
from exporter.configfile import load_text

ROOT = Path(__file__).resolve().parent.parent


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.tracebacks += 1


def start_fault_server(rate: float, seed: int) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._fault_server", str(port_file), str(rate), str(seed)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{port_file.read_text()}"


def config_text(url: str, targets: int) -> str:
    lines = ["global: {stall_timeout: 1s, timeout: 5s, max_concurrency: 64}", "targets:"]
    for i in range(targets):
        interval = 300 + (i % 5) * 100  # 300-700 ms
        if i % 4 == 3:
            lines.append(
                f"  - {{name: sim-{i}, provider: simulated, model: s, seed: {i}, "
                f"interval: {interval}ms, ttft: 20ms, gap: 5ms, max_tokens: 8, "
                "error_rate: 0.03}"
            )
        else:
            lines.append(
                f"  - {{name: oa-{i}, provider: openai, base_url: {url}/v1, "
                f"model: m, api_key_env: SOAK_KEY, interval: {interval}ms, "
                "max_tokens: 8}"
            )
    return "\n".join(lines) + "\n"


async def soak(url: str, targets: int, minutes: float) -> dict[str, float]:
    config = load_text(config_text(url, targets), "soak.yml", {"SOAK_KEY": "sk-soak"})
    registry = CollectorRegistry()
    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: loop_errors.append(ctx))
    counter = _Count()
    logging.getLogger().addHandler(counter)
    me = psutil.Process()
    exporter = Exporter(lambda: config, registry, environ={"SOAK_KEY": "sk-soak"})
    await exporter.start()
    await asyncio.sleep(10)  # warm-up: imports, connections, first allocations
    rss0, fds0, tasks0 = me.memory_info().rss, me.num_fds(), len(asyncio.all_tasks())
    end = time.monotonic() + minutes * 60
    samples = []
    while time.monotonic() < end:
        await asyncio.sleep(15)
        generate_latest(registry)  # a scrape
        samples.append((me.memory_info().rss, me.num_fds(), len(asyncio.all_tasks())))
    await exporter.stop()
    probes = sum(
        registry.get_sample_value("llmscope_probes_total", {"target": t.name}) or 0
        for t in config.targets
    )
    errors = sum(
        s.value
        for m in registry.collect()
        if m.name == "llmscope_probe_errors"
        for s in m.samples
        if s.name.endswith("_total")
    )
    rss1, fds1, tasks1 = samples[-1]
    return {
        "probes": probes,
        "failed": errors,
        "rss0_mib": rss0 / 2**20,
        "rss_growth_mib": (rss1 - rss0) / 2**20,
        "rss_max_mib": max(s[0] for s in samples) / 2**20,
        "fds0": fds0,
        "fds1": fds1,
        "tasks0": tasks0,
        "tasks1": tasks1,
        "unhandled": len(loop_errors) + counter.tracebacks,
        # RSS at the end of each quarter of the run: growth that stops is warm-up, growth
        # that goes on is a leak.
        **{f"rss_q{q}_mib": samples[len(samples) * q // 4 - 1][0] / 2**20 for q in (1, 2, 3, 4)},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--targets", type=int, default=40)
    parser.add_argument("--fault-rate", type=float, default=0.04)
    args = parser.parse_args()
    process, url = start_fault_server(args.fault_rate, seed=7)
    try:
        r = asyncio.run(soak(url, args.targets, args.minutes))
    finally:
        process.terminate()
        process.wait()
    print(
        f"soak: {args.targets} targets at 300-700 ms for {args.minutes:g} min, "
        f"{args.fault_rate:.0%} faults"
    )
    print(
        f"  probes {r['probes']:.0f} ({r['failed']:.0f} failed, "
        f"{r['failed'] / max(r['probes'], 1):.1%})"
    )
    print(
        f"  RSS {r['rss0_mib']:.1f} MiB after warm-up, growth {r['rss_growth_mib']:+.1f} MiB, "
        f"max {r['rss_max_mib']:.1f} MiB"
    )
    quarters = ", ".join(f"{r[f'rss_q{q}_mib']:.1f}" for q in (1, 2, 3, 4))
    print(f"  RSS at the end of each quarter of the run: {quarters} MiB")
    print(
        f"  open fds {r['fds0']:.0f} -> {r['fds1']:.0f}; asyncio tasks {r['tasks0']:.0f} -> "
        f"{r['tasks1']:.0f}; unhandled exceptions {r['unhandled']:.0f}"
    )


if __name__ == "__main__":
    main()
