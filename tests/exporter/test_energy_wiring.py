"""Energy per token wired through the running exporter: a target on a GPU is charged."""

from __future__ import annotations

import asyncio
import functools

import pytest
from prometheus_client import CollectorRegistry

import exporter.app
from exporter.app import Exporter
from exporter.collectors import register
from exporter.configfile import load_text
from testkit.fake_nvml import FakeGpu, FakeNvml, two_gpus


class RisingEnergy(FakeNvml):
    """Each energy read finds 2 J (2000 mJ) more on every GPU, as if the probe drew power."""

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        gpu.energy_mj += 2000
        return super().nvmlDeviceGetTotalEnergyConsumption(gpu)


def test_probe_on_a_gpu_is_charged_its_energy(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = RisingEnergy(two_gpus()[:1])
    monkeypatch.setattr(exporter.app, "register", functools.partial(register, nvml_module=fake))
    config = load_text(
        """
global: {collectors: {host: {enabled: false}, gpu: {sample_interval: 50ms}}}
targets:
  - {name: local, provider: simulated, model: m, interval: 100ms, ttft: 1ms, gap: 1ms,
     max_tokens: 4, gpu: all}
  - {name: remote, provider: simulated, model: m, interval: 100ms, ttft: 1ms, max_tokens: 4}
""",
        "t.yml",
        {},
    )
    registry = CollectorRegistry()

    async def go() -> None:
        running = Exporter(lambda: config, registry)
        await running.start()
        await asyncio.sleep(0.6)
        await running.stop()

    asyncio.run(go())
    value = registry.get_sample_value
    joules = value("llmscope_target_energy_joules_total", {"target": "local"})
    per_token = value("llmscope_target_energy_per_output_token_joules_count", {"target": "local"})
    assert joules is not None and joules > 0
    assert per_token is not None and per_token >= 1
    assert value("llmscope_target_energy_joules_total", {"target": "remote"}) is None
