"""GPU collector: NVML readings per GPU at scrape time, plus power/temperature peaks.

Every series carries ``uuid`` (stable across reboots and slot changes), ``index`` (what
``CUDA_VISIBLE_DEVICES`` and nvidia-smi show) and ``name`` (the model). A reading NVML does
not support on a GPU is left out for that GPU only. A host without a driver or a GPU has no
devices, and the collector yields nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporter.collectors.nvml import (
    CLOCK_MEM,
    CLOCK_SM,
    MEMORY_ERROR_CORRECTED,
    MEMORY_ERROR_UNCORRECTED,
    Device,
    Nvml,
)
from exporter.collectors.sampler import PeakSampler, Window

GPU_LABELS = ("uuid", "index", "name")

# nvmlClocksEventReason* bits (nvml.h). A fixed table keeps the reason label bounded; bits
# a newer driver adds are ignored until they are named here.
CLOCK_EVENT_REASONS: tuple[tuple[str, int], ...] = (
    ("gpu_idle", 0x1),
    ("applications_clocks_setting", 0x2),
    ("sw_power_cap", 0x4),
    ("hw_slowdown", 0x8),
    ("sync_boost", 0x10),
    ("sw_thermal_slowdown", 0x20),
    ("hw_thermal_slowdown", 0x40),
    ("hw_power_brake_slowdown", 0x80),
    ("display_clock_setting", 0x100),
)
ECC_TYPES = (("corrected", MEMORY_ERROR_CORRECTED), ("uncorrected", MEMORY_ERROR_UNCORRECTED))

POWER = "power"
TEMPERATURE = "temperature"

_Family = GaugeMetricFamily | CounterMetricFamily

# name -> (help, type, extra labels)
_SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "temperature_celsius": ("GPU core temperature.", "gauge", ()),
    "power_watts": ("Power draw at scrape time, as NVML reports it.", "gauge", ()),
    "power_limit_watts": ("Enforced power limit.", "gauge", ()),
    "energy_joules": (
        "Energy used since the driver was loaded (NVML total energy counter).",
        "counter",
        (),
    ),
    "utilization_ratio": (
        "Share of the last sample period in which a kernel ran on the GPU.",
        "gauge",
        (),
    ),
    "memory_utilization_ratio": (
        "Share of the last sample period in which device memory was read or written.",
        "gauge",
        (),
    ),
    "memory_used_bytes": ("Device memory in use.", "gauge", ()),
    "memory_total_bytes": ("Device memory installed.", "gauge", ()),
    "sm_clock_hertz": ("Current SM clock.", "gauge", ()),
    "memory_clock_hertz": ("Current memory clock.", "gauge", ()),
    "fan_speed_ratio": ("Fan speed as a share of its maximum.", "gauge", ("fan",)),
    "clocks_event_reason": (
        "1 while this reason holds the clocks down (NVML clocks event reasons, formerly "
        "throttle reasons), else 0.",
        "gauge",
        ("reason",),
    ),
    "ecc_errors": (
        "ECC memory errors since the driver was loaded (GPUs with ECC enabled).",
        "counter",
        ("type",),
    ),
    "power_max_watts": ("Highest sampled power draw since the previous scrape.", "gauge", ()),
    "power_mean_watts": ("Mean sampled power draw since the previous scrape.", "gauge", ()),
    "temperature_max_celsius": (
        "Highest sampled temperature since the previous scrape.",
        "gauge",
        (),
    ),
    "temperature_mean_celsius": (
        "Mean sampled temperature since the previous scrape.",
        "gauge",
        (),
    ),
}


def _families() -> dict[str, _Family]:
    families: dict[str, _Family] = {}
    for short, (help_text, kind, extra) in _SPECS.items():
        name, labels = f"llmscope_gpu_{short}", [*GPU_LABELS, *extra]
        if kind == "counter":
            families[short] = CounterMetricFamily(name, help_text, labels=labels)
        else:
            families[short] = GaugeMetricFamily(name, help_text, labels=labels)
    return families


def peak_reader(nvml: Nvml, devices: Sequence[Device]) -> Callable[[], dict[Hashable, float]]:
    """The sampler's read function: power and temperature of every GPU, keyed (uuid, what)."""

    def read() -> dict[Hashable, float]:
        reading: dict[Hashable, float] = {}
        for device in devices:
            power = nvml.power_watts(device.handle)
            if power is not None:
                reading[(device.uuid, POWER)] = power
            temperature = nvml.temperature_celsius(device.handle)
            if temperature is not None:
                reading[(device.uuid, TEMPERATURE)] = temperature
        return reading

    return read


class GpuCollector:
    """Reads every GPU at scrape time; ``sampler`` (optional) adds max/mean series."""

    def __init__(
        self, nvml: Nvml | None, devices: Sequence[Device], sampler: PeakSampler | None = None
    ) -> None:
        self._nvml = nvml
        self._devices = tuple(devices)
        self._sampler = sampler

    def describe(self) -> Iterable[Metric]:
        # Names only: registering must not touch the hardware.
        return list(_families().values())

    def collect(self) -> Iterable[Metric]:
        if self._nvml is None or not self._devices:
            return []
        families = _families()
        windows = self._sampler.take() if self._sampler is not None else {}
        for device in self._devices:
            self._read(self._nvml, device, families)
            _add_windows(device, windows, families)
        return [family for family in families.values() if family.samples]

    def _read(self, nvml: Nvml, device: Device, f: Mapping[str, _Family]) -> None:
        handle, labels = device.handle, list(device.labels)

        def put(short: str, value: float | None, *extra: str) -> None:
            if value is not None:
                f[short].add_metric([*labels, *extra], value)

        put("temperature_celsius", nvml.temperature_celsius(handle))
        put("power_watts", nvml.power_watts(handle))
        put("power_limit_watts", nvml.power_limit_watts(handle))
        put("energy_joules", nvml.energy_joules(handle))
        utilization = nvml.utilization(handle)
        if utilization is not None:
            put("utilization_ratio", utilization.gpu_ratio)
            put("memory_utilization_ratio", utilization.memory_ratio)
        memory = nvml.memory(handle)
        if memory is not None:
            put("memory_used_bytes", memory.used_bytes)
            put("memory_total_bytes", memory.total_bytes)
        put("sm_clock_hertz", nvml.clock_hertz(handle, CLOCK_SM))
        put("memory_clock_hertz", nvml.clock_hertz(handle, CLOCK_MEM))
        for fan, ratio in nvml.fan_ratios(handle):
            put("fan_speed_ratio", ratio, str(fan))
        reasons = nvml.clock_event_reasons(handle)
        if reasons is not None:
            for reason, bit in CLOCK_EVENT_REASONS:
                put("clocks_event_reason", 1.0 if reasons & bit else 0.0, reason)
        for kind, error_type in ECC_TYPES:
            errors = nvml.ecc_errors(handle, error_type)
            put("ecc_errors", None if errors is None else float(errors), kind)


def _add_windows(
    device: Device, windows: Mapping[Hashable, Window], f: Mapping[str, _Family]
) -> None:
    labels = list(device.labels)
    for what, unit in ((POWER, "watts"), (TEMPERATURE, "celsius")):
        window = windows.get((device.uuid, what))
        if window is not None:
            f[f"{what}_max_{unit}"].add_metric(labels, window.max)
            f[f"{what}_mean_{unit}"].add_metric(labels, window.mean)
