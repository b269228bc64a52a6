"""A fake pynvml module: the functions LLMscope calls, with scriptable GPUs and faults.

Values are in NVML's own units (milliwatts, millijoules, MHz, percent), so the tests check
the conversion to base units. Each GPU can refuse any function with NVMLError_NotSupported;
the module can fail nvmlInit, lack a function (an older binding) or raise
NVMLError_FunctionNotFound for one (an older driver).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

NOT_SUPPORTED = 3
LIBRARY_NOT_FOUND = 12
FUNCTION_NOT_FOUND = 13
GPU_IS_LOST = 15
DRIVER_NOT_LOADED = 9

_NAMES = {
    NOT_SUPPORTED: "Not Supported",
    DRIVER_NOT_LOADED: "Driver Not Loaded",
    LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    FUNCTION_NOT_FOUND: "Function Not Found",
    GPU_IS_LOST: "GPU is lost",
}


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _NAMES.get(self.value, f"NVML error {self.value}")


class NVMLError_NotSupported(NVMLError):  # noqa: N801, N818 (pynvml's own spelling)
    def __init__(self) -> None:
        super().__init__(NOT_SUPPORTED)


# Every per-device function the collectors may call: a GPU may refuse any of them.
DEVICE_FUNCTIONS = (
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetTemperatureV",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetTotalEnergyConsumption",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetNumFans",
    "nvmlDeviceGetFanSpeed_v2",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlDeviceGetCurrentClocksThrottleReasons",
    "nvmlDeviceGetTotalEccErrors",
)


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    temperature: int = 41
    power_mw: int = 72_500
    power_limit_mw: int = 700_000
    energy_mj: int = 9_000_000
    util_gpu: int = 35
    util_memory: int = 12
    memory_used: int = 1 << 30
    memory_total: int = 80 << 30
    sm_mhz: int = 1980
    memory_mhz: int = 2619
    fans: list[int] = field(default_factory=lambda: [40, 55])
    reasons: int = 0x1 | 0x4
    ecc_corrected: int = 3
    ecc_uncorrected: int = 0
    unsupported: set[str] = field(default_factory=set)
    lost: bool = False


def two_gpus() -> list[FakeGpu]:
    """A data-centre card without fans next to a workstation card without ECC or energy."""
    return [
        FakeGpu(uuid="GPU-aaaaaaaa-0000-0000-0000-000000000000", fans=[]),
        FakeGpu(
            uuid="GPU-bbbbbbbb-1111-1111-1111-111111111111",
            name="NVIDIA GeForce RTX 3090",
            temperature=63,
            power_mw=301_250,
            power_limit_mw=350_000,
            energy_mj=123_456,
            memory_total=24 << 30,
            reasons=0x20 | 0x200,  # sw thermal slowdown, and a bit no table names
            unsupported={"nvmlDeviceGetTotalEccErrors"},
        ),
    ]


def many_gpus(count: int) -> list[FakeGpu]:
    return [FakeGpu(uuid=f"GPU-{i:08x}-0000-0000-0000-000000000000") for i in range(count)]


class FakeNvml:
    """Stands in for the pynvml module; records every call as (function, gpu uuid or '')."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported

    def __init__(
        self,
        gpus: Iterable[FakeGpu] = (),
        *,
        init_error: int | None = None,
        missing: Iterable[str] = (),
        not_found: Iterable[str] = (),
    ) -> None:
        self.gpus = list(gpus)
        self.init_error = init_error
        self.missing = set(missing)
        self.not_found = set(not_found)
        self.calls: list[tuple[str, str]] = []
        self.shutdowns = 0
        self.fail_with: Exception | None = None  # a non-NVML error on every device call
        for name in self.missing:
            # An older binding lacks the function: getattr(module, name, None) finds nothing.
            setattr(self, name, None)

    def _device(self, function: str, gpu: FakeGpu) -> FakeGpu:
        self.calls.append((function, gpu.uuid))
        if self.fail_with is not None:
            raise self.fail_with
        if function in self.not_found:
            raise NVMLError(FUNCTION_NOT_FOUND)
        if function in gpu.unsupported:
            raise NVMLError_NotSupported()
        return gpu

    def device_calls(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[1]]

    def nvmlInit(self) -> None:
        self.calls.append(("nvmlInit", ""))
        if self.init_error is not None:
            raise NVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls.append(("nvmlShutdown", ""))
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        self.calls.append(("nvmlDeviceGetCount", ""))
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        self.calls.append(("nvmlDeviceGetHandleByIndex", ""))
        gpu = self.gpus[index]
        if gpu.lost:
            raise NVMLError(GPU_IS_LOST)
        return gpu

    def nvmlDeviceGetUUID(self, gpu: FakeGpu) -> str:
        return self._device("nvmlDeviceGetUUID", gpu).uuid

    def nvmlDeviceGetName(self, gpu: FakeGpu) -> bytes:
        # Old bindings return bytes; the wrapper must accept both.
        return self._device("nvmlDeviceGetName", gpu).name.encode()

    def nvmlDeviceGetTemperature(self, gpu: FakeGpu, sensor: int) -> int:
        assert sensor == 0, "NVML_TEMPERATURE_GPU"
        return self._device("nvmlDeviceGetTemperature", gpu).temperature

    def nvmlDeviceGetTemperatureV(self, gpu: FakeGpu, sensor: int) -> int:
        assert sensor == 0, "NVML_TEMPERATURE_GPU"
        return self._device("nvmlDeviceGetTemperatureV", gpu).temperature

    def nvmlDeviceGetPowerUsage(self, gpu: FakeGpu) -> int:
        return self._device("nvmlDeviceGetPowerUsage", gpu).power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, gpu: FakeGpu) -> int:
        return self._device("nvmlDeviceGetEnforcedPowerLimit", gpu).power_limit_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        return self._device("nvmlDeviceGetTotalEnergyConsumption", gpu).energy_mj

    def nvmlDeviceGetUtilizationRates(self, gpu: FakeGpu) -> SimpleNamespace:
        g = self._device("nvmlDeviceGetUtilizationRates", gpu)
        return SimpleNamespace(gpu=g.util_gpu, memory=g.util_memory)

    def nvmlDeviceGetMemoryInfo(self, gpu: FakeGpu) -> SimpleNamespace:
        g = self._device("nvmlDeviceGetMemoryInfo", gpu)
        return SimpleNamespace(
            total=g.memory_total, used=g.memory_used, free=g.memory_total - g.memory_used
        )

    def nvmlDeviceGetClockInfo(self, gpu: FakeGpu, clock: int) -> int:
        g = self._device("nvmlDeviceGetClockInfo", gpu)
        return {1: g.sm_mhz, 2: g.memory_mhz}[clock]

    def nvmlDeviceGetNumFans(self, gpu: FakeGpu) -> int:
        g = self._device("nvmlDeviceGetNumFans", gpu)
        if not g.fans:
            raise NVMLError_NotSupported()  # what data-centre cards answer
        return len(g.fans)

    def nvmlDeviceGetFanSpeed_v2(self, gpu: FakeGpu, fan: int) -> int:
        return self._device("nvmlDeviceGetFanSpeed_v2", gpu).fans[fan]

    def nvmlDeviceGetCurrentClocksEventReasons(self, gpu: FakeGpu) -> int:
        return self._device("nvmlDeviceGetCurrentClocksEventReasons", gpu).reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, gpu: FakeGpu) -> int:
        return self._device("nvmlDeviceGetCurrentClocksThrottleReasons", gpu).reasons

    def nvmlDeviceGetTotalEccErrors(self, gpu: FakeGpu, error_type: int, counter: int) -> int:
        assert counter == 0, "NVML_VOLATILE_ECC"
        g = self._device("nvmlDeviceGetTotalEccErrors", gpu)
        return (g.ecc_corrected, g.ecc_uncorrected)[error_type]


def counting(fake: FakeNvml, function: str) -> Callable[[], int]:
    """How many times ``function`` has been called so far."""
    return lambda: sum(1 for name, _ in fake.calls if name == function)
