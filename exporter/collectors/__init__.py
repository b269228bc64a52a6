"""Host (psutil), GPU (NVML) and CPU energy (RAPL) telemetry, registered on the exporter's registry.

``register`` is the one entry point: it registers the enabled collectors behind a health
wrapper, starts the GPU peak sampler, and returns a handle whose ``stop()`` undoes all of it
and whose ``energy_meter`` reads GPU energy for per-target accounting (see ``energy``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import CollectorRegistry

from exporter.collectors.energy import EnergyMeter, EnergyRecorder
from exporter.collectors.gpu import GpuCollector, peak_reader
from exporter.collectors.health import DescribedCollector, MonitoredCollectors
from exporter.collectors.host import HostCollector
from exporter.collectors.nvml import Nvml
from exporter.collectors.rapl import POWERCAP, Rapl, RaplCollector
from exporter.collectors.sampler import PeakSampler
from exporter.config.types import CollectorsConfig

__all__ = ["Collectors", "EnergyMeter", "EnergyRecorder", "register"]

log = logging.getLogger("llmscope.collectors")


class Collectors:
    """What ``register`` set up; ``stop()`` is idempotent and lets ``register`` run again."""

    def __init__(
        self,
        registry: CollectorRegistry,
        collector: MonitoredCollectors | None,
        *,
        nvml: Nvml | None = None,
        sampler: PeakSampler | None = None,
        energy_meter: EnergyMeter | None = None,
    ) -> None:
        self._registry = registry
        self._collector = collector
        self._nvml = nvml
        self._sampler = sampler
        self._lock = threading.Lock()
        self.energy_meter = energy_meter

    def stop(self) -> None:
        with self._lock:
            collector, self._collector = self._collector, None
            sampler, self._sampler = self._sampler, None
            nvml, self._nvml = self._nvml, None
        if collector is not None:
            self._registry.unregister(collector)
        if sampler is not None:
            sampler.stop()
        if nvml is not None:
            nvml.close()
        self.energy_meter = None


def register(
    registry: CollectorRegistry,
    config: CollectorsConfig,
    *,
    psutil_module: Any = None,
    nvml_module: Any = None,
    powercap: Path = POWERCAP,
) -> Collectors:
    """Register the collectors ``config`` enables and start the GPU sampler.

    ``psutil_module`` and ``nvml_module`` replace the real psutil and pynvml (tests pass
    fakes), ``powercap`` the sysfs root of the RAPL zones. A host without a driver or a GPU
    gets a GPU collector that yields nothing and succeeds, and ``energy_meter`` is None.
    """
    named: dict[str, DescribedCollector] = {}
    if config.host:
        source = psutil if psutil_module is None else psutil_module
        named["host"] = HostCollector(source, per_cpu=config.per_cpu)

    if config.rapl:
        rapl = Rapl(powercap)
        if not rapl.open():
            log.info("no CPU energy: %s", rapl.problem)
        named["rapl"] = RaplCollector(rapl)

    nvml: Nvml | None = None
    sampler: PeakSampler | None = None
    meter: EnergyMeter | None = None
    if config.gpu:
        nvml = Nvml(nvml_module) if nvml_module is not None else Nvml.load()
        devices = nvml.open() if nvml is not None else ()
        if devices and nvml is not None:
            sampler = PeakSampler(
                peak_reader(nvml, devices), config.gpu_sample_interval, name="llmscope-gpu-sampler"
            )
            meter = EnergyMeter(nvml, devices)
            log.info("monitoring %d GPU(s): %s", len(devices), ", ".join(d.name for d in devices))
        elif nvml is not None:
            nvml.close()
            nvml = None
        named["gpu"] = GpuCollector(nvml, devices, sampler)

    collector = MonitoredCollectors(named) if named else None
    if collector is not None:
        try:
            registry.register(collector)
        except ValueError:  # already registered: leave the driver as we found it
            if nvml is not None:
                nvml.close()
            raise
    if sampler is not None:
        sampler.start()
    return Collectors(registry, collector, nvml=nvml, sampler=sampler, energy_meter=meter)
