"""Energy per probe for targets served from local GPUs (Ollama, vLLM, ...).

NVML's total energy counter of the target's GPU(s) is read just before and just after each
probe; the difference is charged to the target. Anything else running on those GPUs during
the probe (other targets, other users) is charged too: this is the draw of the hardware
while the probe ran, not an isolated measurement of the request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.collectors.nvml import Device, Nvml
from exporter.config.types import TargetConfig
from exporter.metrics.render import histogram_family
from exporter.metrics.series import Histo, histo

log = logging.getLogger("llmscope.collectors.energy")

# Joules per output token: from large batched servers (~0.05 J) to a single stream on a
# big card, where one probe also pays for prefill and idle draw (tens of J).
ENERGY_PER_TOKEN_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


class EnergyMeter:
    """Sums the energy counters of the GPUs a target selector names."""

    def __init__(self, nvml: Nvml, devices: Sequence[Device]) -> None:
        self._nvml = nvml
        self._devices = tuple(devices)
        self._warned: set[str] = set()

    @property
    def devices(self) -> tuple[Device, ...]:
        return self._devices

    def select(self, selector: str) -> tuple[Device, ...]:
        """``all``, a GPU index (``"0"``) or a UUID (``"GPU-..."``); () when none matches."""
        if selector == "all":
            return self._devices
        if selector.isascii() and selector.isdigit():
            return tuple(d for d in self._devices if d.index == int(selector))
        wanted = selector.lower()
        return tuple(d for d in self._devices if d.uuid.lower() == wanted)

    def read_joules(self, selector: str) -> float | None:
        """Sum of the selected GPUs' energy counters in joules; None when any is unknown."""
        devices = self.select(selector)
        if not devices:
            self._warn_once(selector, f"no GPU matches {selector!r}; energy is not measured")
            return None
        total = 0.0
        for device in devices:
            joules = self._nvml.energy_joules(device.handle)
            if joules is None:
                self._warn_once(
                    selector,
                    f"GPU {device.index} ({device.name}) has no energy counter (NVML needs a "
                    "Volta or newer GPU); energy is not measured",
                )
                return None
            total += joules
        return total

    def _warn_once(self, selector: str, message: str) -> None:
        if selector not in self._warned:
            self._warned.add(selector)
            log.warning("gpu %s: %s", selector, message)


class EnergyRecorder(Collector):
    """Charges each probe's GPU energy to its target; call ``before`` and ``after`` around it.

    ``meter`` may be None (GPU collector off, or no GPU): then nothing is recorded, and a
    target that names a GPU gets one warning. It may be replaced later (a reload that ran
    ``register`` again); the families stay registered once.
    """

    def __init__(self, registry: CollectorRegistry, meter: EnergyMeter | None) -> None:
        self.meter = meter
        self._warned: set[str] = set()
        self._lock = threading.Lock()  # scrapes run on the web server's threads
        self._joules: dict[str, float] = {}
        self._per_token: dict[str, Histo] = {}
        registry.register(self)

    def before(self, target: TargetConfig) -> float | None:
        """The GPU energy counter before the probe; None when the target has no GPU."""
        if target.gpu is None:
            return None
        if self.meter is None:
            if target.name not in self._warned:
                self._warned.add(target.name)
                log.warning(
                    "target %s names gpu %s, but no GPU is monitored", target.name, target.gpu
                )
            return None
        return self.meter.read_joules(target.gpu)

    def after(
        self, target: TargetConfig, start_joules: float | None, output_tokens: int | None
    ) -> float | None:
        """Record the energy since ``before``; returns the joules charged, if any."""
        if start_joules is None or target.gpu is None or self.meter is None:
            return None
        end = self.meter.read_joules(target.gpu)
        if end is None:
            return None
        joules = end - start_joules
        if joules < 0:  # the driver reloaded and its counter restarted during the probe
            return None
        with self._lock:
            self._joules[target.name] = self._joules.get(target.name, 0.0) + joules
            # Zero joules means the counter did not tick during a short probe, not a free token.
            if output_tokens is not None and output_tokens > 0 and joules > 0:
                per_token = histo(self._per_token, target.name, ENERGY_PER_TOKEN_BUCKETS)
                per_token.observe(joules / output_tokens)
        return joules

    def forget(self, target: str) -> None:
        """Drop a target's series when a reload removes it."""
        with self._lock:
            self._joules.pop(target, None)
            self._per_token.pop(target, None)
        self._warned.discard(target)

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            energy = CounterMetricFamily(
                "llmscope_target_energy_joules",
                "GPU energy used while the target's probes ran (everything on those GPUs counts).",
                labels=["target"],
            )
            for target, joules in self._joules.items():
                energy.add_metric([target], joules)
            yield energy
            yield histogram_family(
                "llmscope_target_energy_per_output_token_joules",
                "GPU energy of one probe divided by its output tokens.",
                ["target"],
                (((target,), h) for target, h in self._per_token.items()),
            )
