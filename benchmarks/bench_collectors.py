"""Scrape cost of the host and GPU collectors, side by side in one run.

    .venv/bin/python benchmarks/bench_collectors.py

Each row is the best per-call time over several repeats, and its ratio to rendering an
empty registry (the fixed cost of any /metrics request). The GPU rows use a fake NVML with
8 GPUs: they measure LLMscope's own Python work; a real driver adds its per-call latency
times the NVML call count printed below.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.energy import EnergyMeter
from exporter.collectors.gpu import GpuCollector, peak_reader
from exporter.collectors.health import MonitoredCollectors
from exporter.collectors.host import HostCollector
from exporter.collectors.nvml import Nvml
from exporter.collectors.sampler import PeakSampler
from testkit.fake_nvml import FakeNvml, many_gpus

GPUS = 8


def per_call(fn: Callable[[], object], budget: float = 0.2, repeat: int = 9) -> float:
    """Best seconds per call; ``number`` is sized so one repeat takes about ``budget``."""
    number, elapsed = 1, 0.0
    while elapsed < budget / 10:
        number *= 2
        elapsed = timeit.timeit(fn, number=number)
    number = max(1, int(number * budget / 10 / elapsed * 10))
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def registry_with(*collectors: MonitoredCollectors) -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return registry


def main() -> None:
    fake = FakeNvml(many_gpus(GPUS))
    nvml = Nvml(fake)
    devices = nvml.open()
    sampler = PeakSampler(peak_reader(nvml, devices), 0.5)
    sampler.sample_once()
    gpu = GpuCollector(nvml, devices, sampler)
    host = HostCollector()
    host_per_cpu = HostCollector(per_cpu=True)
    meter = EnergyMeter(nvml, devices)

    empty = CollectorRegistry()
    host_registry = registry_with(MonitoredCollectors({"host": HostCollector()}))
    gpu_registry = registry_with(MonitoredCollectors({"gpu": gpu}))
    both_registry = registry_with(MonitoredCollectors({"host": HostCollector(), "gpu": gpu}))

    fake.calls.clear()
    list(gpu.collect())
    nvml_calls = len(fake.device_calls())
    fake.calls.clear()
    sampler.sample_once()
    sampler_calls = len(fake.device_calls())

    rows: list[tuple[str, Callable[[], object]]] = [
        ("render an empty registry (baseline)", lambda: generate_latest(empty)),
        ("host collect()", lambda: list(host.collect())),
        ("host collect(), per_cpu", lambda: list(host_per_cpu.collect())),
        (f"gpu collect(), {GPUS} fake GPUs", lambda: list(gpu.collect())),
        ("render host + health", lambda: generate_latest(host_registry)),
        (f"render gpu + health, {GPUS} fake GPUs", lambda: generate_latest(gpu_registry)),
        (f"render host + gpu + health, {GPUS} GPUs", lambda: generate_latest(both_registry)),
        (f"sampler tick, {GPUS} fake GPUs", sampler.sample_once),
        (f"EnergyMeter.read_joules('all'), {GPUS} GPUs", lambda: meter.read_joules("all")),
    ]
    results = [(label, per_call(fn)) for label, fn in rows]
    baseline = results[0][1]
    print(f"{'measurement':<44} {'per call':>12} {'x baseline':>11}")
    for label, seconds in results:
        print(f"{label:<44} {seconds * 1e6:>9.1f} us {seconds / baseline:>10.1f}x")
    size = len(generate_latest(both_registry))
    print(f"\nNVML calls per GPU scrape: {nvml_calls} ({nvml_calls // GPUS} per GPU)")
    print(f"NVML calls per sampler tick: {sampler_calls} ({sampler_calls // GPUS} per GPU)")
    print(f"exposition size, host + gpu + health, {GPUS} GPUs: {size} bytes")


if __name__ == "__main__":
    main()
