"""A thin typed wrapper over pynvml (the ``nvidia-ml-py`` package), in base units.

Every reading returns ``None`` when NVML refuses it (``NVMLError_NotSupported`` or any other
NVML error for that call), so the collectors simply leave that series out. Errors that are
not NVML's (a bug, a broken binding) propagate and show up as a failed collector.

The module is passed in, never imported here, so tests hand in a fake with the same function
names. NVML is thread-safe, and pynvml's ctypes calls release the GIL while the driver works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("llmscope.collectors.gpu")

# NVML's enum values from nvml.h: part of its stable ABI, so no need to read them from pynvml.
TEMPERATURE_GPU = 0
CLOCK_SM = 1
CLOCK_MEM = 2
MEMORY_ERROR_CORRECTED = 0
MEMORY_ERROR_UNCORRECTED = 1
VOLATILE_ECC = 0
ERROR_FUNCTION_NOT_FOUND = 13


@dataclass(frozen=True)
class Device:
    """One GPU as NVML enumerated it at start-up."""

    index: int
    uuid: str
    name: str
    handle: object = None

    @property
    def labels(self) -> tuple[str, str, str]:
        """Label values in the order of ``GPU_LABELS``: uuid, index, name."""
        return (self.uuid, str(self.index), self.name)


@dataclass(frozen=True)
class Memory:
    used_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class Utilization:
    gpu_ratio: float
    memory_ratio: float


class Nvml:
    """Typed, error-tolerant calls into a pynvml-like module."""

    def __init__(self, module: Any) -> None:
        self._m = module
        self._error: type[Exception] = module.NVMLError
        self._started = False
        # Functions this binding or driver lacks: skipped from then on, so a fallback costs
        # one failed call per process, not one per scrape.
        self._missing: set[str] = set()

    @classmethod
    def load(cls) -> Nvml | None:
        """The real pynvml, or None when the package is not installed."""
        try:
            import pynvml  # noqa: PLC0415 (optional at run time: only GPU hosts need it)
        except ImportError:
            log.debug("no GPU: the nvidia-ml-py package (pynvml) is not installed")
            return None
        return cls(pynvml)

    def open(self) -> tuple[Device, ...]:
        """Start NVML and list the GPUs; no driver or no GPU gives () and a debug line."""
        try:
            self._m.nvmlInit()
        except self._error as err:
            log.debug("no GPU: NVML did not start (%s)", _describe(err))
            return ()
        self._started = True
        try:
            count = int(self._m.nvmlDeviceGetCount())
        except self._error as err:
            log.debug("no GPU: NVML could not count devices (%s)", _describe(err))
            return ()
        devices = tuple(self._devices(count))
        if not devices:
            log.debug("no GPU: NVML found no usable device")
        return devices

    def _devices(self, count: int) -> Iterator[Device]:
        for index in range(count):
            try:
                handle = self._m.nvmlDeviceGetHandleByIndex(index)
                uuid = _text(self._m.nvmlDeviceGetUUID(handle))
                name = _text(self._m.nvmlDeviceGetName(handle))
            except self._error as err:
                # A GPU that is lost or not permitted to us: the others are still useful.
                log.warning("GPU %d left out: NVML refused it (%s)", index, _describe(err))
                continue
            yield Device(index=index, uuid=uuid, name=name, handle=handle)

    def close(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._m.nvmlShutdown()
        except self._error as err:
            log.debug("NVML shutdown failed: %s", _describe(err))

    def _call(self, names: tuple[str, ...], *args: object) -> Any:
        """The first of ``names`` this binding and driver have, called; None on NVML error."""
        for name in names:
            if name in self._missing:
                continue
            fn = getattr(self._m, name, None)
            if fn is None:
                self._missing.add(name)
                continue
            try:
                return fn(*args)
            except self._error as err:
                if getattr(err, "value", None) != ERROR_FUNCTION_NOT_FOUND:
                    return None
                self._missing.add(name)
        return None

    def temperature_celsius(self, handle: object) -> float | None:
        # The un-suffixed call is deprecated for CUDA 14 but works on every driver in use.
        value = self._call(
            ("nvmlDeviceGetTemperature", "nvmlDeviceGetTemperatureV"), handle, TEMPERATURE_GPU
        )
        return None if value is None else float(value)

    def power_watts(self, handle: object) -> float | None:
        return _scaled(self._call(("nvmlDeviceGetPowerUsage",), handle), 1e-3)

    def power_limit_watts(self, handle: object) -> float | None:
        return _scaled(self._call(("nvmlDeviceGetEnforcedPowerLimit",), handle), 1e-3)

    def energy_joules(self, handle: object) -> float | None:
        """Energy since the driver was loaded (Volta and later); NVML counts millijoules."""
        return _scaled(self._call(("nvmlDeviceGetTotalEnergyConsumption",), handle), 1e-3)

    def utilization(self, handle: object) -> Utilization | None:
        rates = self._call(("nvmlDeviceGetUtilizationRates",), handle)
        if rates is None:
            return None
        return Utilization(gpu_ratio=rates.gpu / 100.0, memory_ratio=rates.memory / 100.0)

    def memory(self, handle: object) -> Memory | None:
        info = self._call(("nvmlDeviceGetMemoryInfo",), handle)
        if info is None:
            return None
        return Memory(used_bytes=int(info.used), total_bytes=int(info.total))

    def clock_hertz(self, handle: object, clock: int) -> float | None:
        return _scaled(self._call(("nvmlDeviceGetClockInfo",), handle, clock), 1e6)

    def fan_ratios(self, handle: object) -> list[tuple[int, float]]:
        """(fan, speed) pairs; the speed is the share of the fan's maximum, as NVML reports."""
        count = self._call(("nvmlDeviceGetNumFans",), handle)
        fans: list[tuple[int, float]] = []
        for fan in range(int(count or 0)):
            speed = self._call(("nvmlDeviceGetFanSpeed_v2",), handle, fan)
            if speed is not None:
                fans.append((fan, speed / 100.0))
        return fans

    def clock_event_reasons(self, handle: object) -> int | None:
        """The clocks event (formerly throttle) reasons bitmask; older drivers lack the new name."""
        value = self._call(
            (
                "nvmlDeviceGetCurrentClocksEventReasons",
                "nvmlDeviceGetCurrentClocksThrottleReasons",
            ),
            handle,
        )
        return None if value is None else int(value)

    def ecc_errors(self, handle: object, error_type: int) -> int | None:
        """ECC errors since the driver was loaded (volatile counts); None when ECC is off."""
        value = self._call(("nvmlDeviceGetTotalEccErrors",), handle, error_type, VOLATILE_ECC)
        return None if value is None else int(value)


def _scaled(value: Any, factor: float) -> float | None:
    return None if value is None else float(value) * factor


def _text(value: object) -> str:
    # pynvml returns str since 11.x; older bindings and some fakes return bytes.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(err: Exception) -> str:
    # NVMLError.__str__ may call back into the library; a failed load has no library to ask.
    try:
        return str(err) or type(err).__name__
    except Exception:
        return type(err).__name__
