"""The whole telemetry exposition against a golden file, as node_exporter's end-to-end test.

Set LLMSCOPE_UPDATE_GOLDEN=1 to rewrite the file after an intended change, then review the
diff: every metric name, help text, type and label LLMscope publishes for telemetry is here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from prometheus_client import disable_created_metrics, generate_latest

from exporter.collectors.energy import EnergyMeter, EnergyRecorder
from exporter.collectors.gpu import GpuCollector, peak_reader
from exporter.collectors.health import MonitoredCollectors
from exporter.collectors.host import HostCollector
from exporter.collectors.nvml import Nvml
from exporter.collectors.rapl import Rapl, RaplCollector
from exporter.collectors.sampler import PeakSampler
from exporter.config.types import TargetConfig
from exporter.metrics.vantage import VantageRegistry
from testkit.fake_nvml import FakeNvml, two_gpus
from testkit.fake_powercap import two_packages, write_powercap
from testkit.fake_psutil import FakePsutil, fake_is_virtual
from tests.collectors.exposition import promtool_findings

GOLDEN = Path(__file__).parent / "golden" / "telemetry.prom"

# The exporter turns _created series off process-wide (exporter/metrics/probes.py); so does this
# test, or the golden file would hold creation timestamps.
disable_created_metrics()  # type: ignore[no-untyped-call]


def exposition() -> str:
    with tempfile.TemporaryDirectory() as folder:
        rapl = Rapl(write_powercap(Path(folder) / "powercap", two_packages()))
        rapl.open()
        return _exposition(rapl)


def _exposition(rapl: Rapl) -> str:
    gpus = two_gpus()
    nvml = Nvml(FakeNvml(gpus))
    devices = nvml.open()
    sampler = PeakSampler(peak_reader(nvml, devices), 0.5)
    for watts in (90_000, 450_000):
        gpus[0].power_mw = watts
        sampler.sample_once()
    registry = VantageRegistry("eu-west-1")  # as the exporter's /metrics renders it
    ticks = iter(float(i) / 1000 for i in range(100))
    monitored = MonitoredCollectors(
        {
            "host": HostCollector(FakePsutil(), per_cpu=True, is_virtual=fake_is_virtual),
            "gpu": GpuCollector(nvml, devices, sampler),
            "rapl": RaplCollector(rapl),
        },
        clock=lambda: next(ticks),
    )
    registry.register(monitored)
    recorder = EnergyRecorder(registry, EnergyMeter(nvml, devices))
    target = TargetConfig(name="ollama-local", provider="simulated", model="m", gpu="0")
    start = recorder.before(target)
    gpus[0].energy_mj += 96_000
    recorder.after(target, start, output_tokens=32)
    return generate_latest(registry).decode()


def test_telemetry_exposition_matches_the_golden_file() -> None:
    text = exposition()
    if os.environ.get("LLMSCOPE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_host_and_gpu_series_carry_the_vantage() -> None:
    samples = [line for line in exposition().splitlines() if line and not line.startswith("#")]
    assert any(line.startswith("llmscope_gpu_") for line in samples)
    assert [line for line in samples if 'vantage="eu-west-1"' not in line] == []


def test_telemetry_exposition_passes_promtool() -> None:
    assert promtool_findings(exposition()) == ""
